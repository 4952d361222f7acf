"""The classic restorations on generated seismograms: error on the clipped samples and time.

    .venv/bin/python bench/bench_baselines.py [--records 12] [--samples 6000] [--first-seed 100]

Generates ``--records`` seismograms with ``synthetic_seismogram`` (seeds from ``--first-seed``,
apart from the demo bank's 19830924, the benchmark bank's 20261129 and the tests'), clips each
at 70 % and 40 % of its peak and restores it with every classic method (spline, POCS, A-SPADE,
CWRΔt). Prints, per clip level, the median over the records of the RMS error on the clipped
samples divided by the true peak, the records each method made worse than the clipped input,
and the median time per record; the clipped input left as it is is the naive bar, measured in
the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.restore.records import ClippedRecord
from seisclip.restore.registry import build_method, method_names

#: The registry's classic methods.
BASELINES = {name: build_method(name) for name in method_names(model=False)}

LEVELS = (0.7, 0.4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=12)
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--first-seed", type=int, default=100)
    args = parser.parse_args()

    print(f"{args.records} generated records of {args.samples} samples (seeds {args.first_seed}…"
          f"{args.first_seed + args.records - 1}); median RMS error on clipped samples / true peak\n")
    print("| clip level | method | median error | × better than input | records made worse | median time (s) |")
    print("|---|---|---:|---:|---:|---:|")
    for fraction in LEVELS:
        errors: dict[str, list[float]] = {name: [] for name in ("clipped input", *BASELINES)}
        worse = dict.fromkeys(BASELINES, 0)
        seconds: dict[str, list[float]] = {name: [] for name in BASELINES}
        for seed in range(args.first_seed, args.first_seed + args.records):
            truth = synthetic_seismogram(np.random.default_rng(seed), args.samples).astype(np.float64)
            peak = np.abs(truth).max()
            level = fraction * peak
            status = (truth > level).astype(np.int8) - (truth < -level).astype(np.int8)
            values = np.clip(truth, -level, level)
            clipped = status != 0

            def error(estimate: np.ndarray) -> float:
                return float(np.sqrt(np.mean(((estimate - truth)[clipped] / peak) ** 2)))

            errors["clipped input"].append(error(values))
            for name, method in BASELINES.items():
                started = time.perf_counter()
                restored = method.restore(ClippedRecord(name, values, status, level, -level)).restored
                seconds[name].append(time.perf_counter() - started)
                errors[name].append(error(restored))
                worse[name] += int(np.linalg.norm(restored - truth) > np.linalg.norm(values - truth))
        naive = statistics.median(errors["clipped input"])
        print(f"| {fraction:.0%} | clipped input | {naive:.4f} | 1.0× | — | — |")
        for name in BASELINES:
            median = statistics.median(errors[name])
            print(f"| {fraction:.0%} | {name} | {median:.4f} | {naive / median:.1f}× | {worse[name]} | "
                  f"{statistics.median(seconds[name]):.3f} |")


if __name__ == "__main__":
    main()
