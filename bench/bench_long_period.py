"""Long-period wave trains: the case where a sparse spectrum favours POCS over the network.

    .venv/bin/python bench/bench_long_period.py [--model models/set00002_1024_20000_def004]

Each record is 20,000 samples (500 s at 40 Hz): a wave train of period T (5, 10, 20 and 30 s)
with a second one at 0.6 T, under a Gaussian envelope 120 s wide centred at 250 s, 5,000 counts
at most, plus white noise of 20 counts (seeded by T), rounded to counts. Each is clipped at 70 %
and 40 % of its peak and restored whole by the model (with ``--model``), spline, POCS and
A-SPADE. Prints the RMS error on the clipped samples divided by the true peak, with the longest
clipped run; the clipped input left as it is is the bar.
"""

from __future__ import annotations

import argparse

import numpy as np

from seisclip.bank.clipping import runs_of
from seisclip.restore.records import ClippedRecord
from seisclip.restore.registry import build_method, method_names

SAMPLING_RATE = 40.0
PERIODS = (5, 10, 20, 30)
LEVELS = (0.7, 0.4)


def wave_train(period: float, samples: int = 20_000) -> np.ndarray:
    t = np.arange(samples) / SAMPLING_RATE
    envelope = np.exp(-(((t - 250.0) / 120.0) ** 2))
    waves = np.sin(2 * np.pi * t / period + 0.3) + 0.3 * np.sin(2 * np.pi * t / (0.6 * period) + 1.0)
    noise = np.random.default_rng(period).standard_normal(samples) * 20.0
    return np.round(5000.0 * envelope * waves + noise)


def restoration_methods(model_dir: str | None) -> dict:
    """``restore(values, status, clip_high, clip_low)`` by name: the model's whole-record restoration
    first (when ``model_dir`` is given; TensorFlow is loaded only then), then the classic methods."""
    methods = {name: lambda values, status, high, low, method=build_method(name): method.restore(
        ClippedRecord("generated record", values, status, high, low)).restored for name in method_names(model=False)}
    if model_dir:
        from seisclip.learn.model_dir import load_model
        from seisclip.restore.inference import ModelRestorer

        restorer = ModelRestorer.of(load_model(model_dir))
        methods = {restorer.name: lambda values, status, high, low: restorer.restore(
            ClippedRecord("generated record", values, status, high, low)).restored, **methods}
    return methods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a trained model directory (default: the classic methods only)")
    args = parser.parse_args()
    methods = restoration_methods(args.model)

    print("| period | clipped at | longest run | clipped input | " + " | ".join(methods) + " |")
    print("|---|---|---:|---:|" + "---:|" * len(methods))
    for period in PERIODS:
        truth = wave_train(period)
        peak = np.abs(truth).max()
        for fraction in LEVELS:
            level = fraction * peak
            status = (truth > level).astype(np.int8) - (truth < -level).astype(np.int8)
            values = np.clip(truth, -level, level)
            clipped = status != 0
            longest = max(stop - start for start, stop in runs_of(clipped))

            def error(estimate: np.ndarray) -> float:
                return float(np.sqrt(np.mean((estimate - truth)[clipped] ** 2)) / peak)

            cells = [f"{error(restore(values, status, level, -level)):.3f}" for restore in methods.values()]
            print(f"| {period} s | {fraction:.0%} | {longest} | {error(values):.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
