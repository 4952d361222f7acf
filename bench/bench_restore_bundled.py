"""One record restored on a fresh install: ``seisclip restore RECORD`` with no ``--model`` (the
recommended method with the bundled reference model), TensorFlow's start-up included, for an
ASCII record, a miniSEED file and a SAC file of 100,000 samples at 40 Hz with 2 % of them clipped.

    .venv/bin/python bench/bench_restore_bundled.py [--repeats 3] [--samples 100000] [--clipped-share 0.02]

Each command runs as a new process from a scratch folder, as a user runs it; the table gives
the median wall time of each record and, for scale, that of the same command with
``--method spline`` (no network, no TensorFlow), and their ratio. The records are seeded
generated seismograms (seisclip's generator), clipped at the level that leaves the share asked
for beyond it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from seisclip.bank.synthetic import synthetic_seismogram

SEED = 20261207
FORMATS = (("ASCII", "record.txt"), ("miniSEED", "record.mseed"), ("SAC", "record.sac"))


def clipped_signal(samples: int, clipped_share: float) -> tuple[np.ndarray, int]:
    """A seeded seismogram clipped symmetrically where ``clipped_share`` of its samples lie beyond."""
    truth = synthetic_seismogram(np.random.default_rng(SEED), samples).astype(np.float64)
    level = int(np.quantile(np.abs(truth), 1.0 - clipped_share))
    return np.clip(truth, -level, level), level


def write_records(folder: Path, values: np.ndarray) -> list[tuple[str, Path]]:
    import obspy

    written = []
    for label, name in FORMATS:
        path = folder / name
        if label == "ASCII":
            path.write_text("".join(f"{int(value)}\n" for value in values))
        else:
            stats = {"network": "XX", "station": "BENCH", "channel": "SHZ", "sampling_rate": 40.0,
                     "starttime": obspy.UTCDateTime(2026, 12, 7)}
            data = values.astype(np.int32) if label == "miniSEED" else values.astype(np.float32)
            obspy.Trace(data, stats).write(str(path), format="MSEED" if label == "miniSEED" else "SAC")
        written.append((label, path))
    return written


def timed(command: list[str], folder: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--clipped-share", type=float, default=0.02)
    args = parser.parse_args(argv)
    seisclip = [sys.executable, "-m", "seisclip"]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        values, level = clipped_signal(args.samples, args.clipped_share)
        records = write_records(folder, values)
        clipped = int(np.count_nonzero(np.abs(values) >= level))
        print(f"{args.samples} samples at 40 Hz, {clipped} ({clipped / args.samples:.1%}) clipped at ±{level} counts; "
              f"median of {args.repeats} runs\n")
        print("| record | restore, bundled reference, hybrid (s) | restore --method spline (s) | ratio |")
        print("|---|---|---|---|")
        for label, path in records:
            times = {}
            for method in ("hybrid", "spline"):
                runs = []
                for repeat in range(args.repeats):
                    out = folder / f"{label}_{method}{repeat}"
                    out.mkdir()
                    extra = [] if method == "hybrid" else ["--method", "spline"]
                    runs.append(timed([*seisclip, "restore", str(path), *extra, "--out",
                                       str(out / f"restored{path.suffix}")], folder))
                times[method] = statistics.median(runs)
            print(f"| {label} | {times['hybrid']:.2f} | {times['spline']:.2f} | "
                  f"{times['hybrid'] / times['spline']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
