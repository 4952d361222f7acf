"""The cubic spline across clipped runs: all runs solved together against one ``CubicSpline`` a run.

    .venv/bin/python bench/bench_spline.py [--windows 32] [--length 1024] [--samples 100000]

Two workloads, on generated traces (seed 11):
* a training batch: ``--windows`` windows of ``--length`` samples, each clipped at a level drawn
  uniformly in [0.1, 1] of its peak, as a set's index file draws them: what the ``spline`` input
  channel computes for every batch;
* one record of ``--samples`` samples with about 2 % clipped (made as ``bench_restore.py`` makes
  it): what ``seisclip restore --method spline`` computes.
Each is timed (best of 3) through ``spline_across_runs`` and through the naive way it replaces,
scipy's ``CubicSpline`` fitted to each run's neighbours in a loop; the largest difference between
the two estimates, in clip levels, says they compute the same spline. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.interpolate import CubicSpline

from bench_restore import make_record
from seisclip.bank.clipping import runs_of
from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.sets.channels import SPLINE_NEIGHBOURS, spline_across_runs

SEED = 11


def one_spline_per_run(values: np.ndarray, status: np.ndarray, neighbours: int = SPLINE_NEIGHBOURS) -> np.ndarray:
    estimate = values.astype(np.float64, copy=True)
    unclipped = np.flatnonzero(status == 0)
    for start, stop in runs_of(status != 0):
        left, right = unclipped[unclipped < start][-neighbours:], unclipped[unclipped >= stop][:neighbours]
        if left.size and right.size:
            known = np.concatenate([left, right])
            estimate[start:stop] = CubicSpline(known, values[known])(np.arange(start, stop))
    return estimate


def training_batch(rng: np.random.Generator, windows: int, length: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    batch = []
    for _ in range(windows):
        truth = synthetic_seismogram(rng, length).astype(np.float64)
        level = rng.uniform(0.1, 1.0) * np.abs(truth).max()
        status = (truth > level).astype(np.int8) - (truth < -level).astype(np.int8)
        batch.append((np.clip(truth, -level, level), status, level))
    return batch


def best_of_three(function, rows) -> tuple[float, list[np.ndarray]]:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        estimates = [function(values, status) for values, status, _ in rows]
        times.append(time.perf_counter() - start)
    return min(times), estimates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=32)
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--samples", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    record = make_record(args.samples, 0.02, rng)
    workloads = {f"batch of {args.windows} windows of {args.length}": training_batch(rng, args.windows, args.length),
                 f"record of {args.samples:,} samples, 2 % clipped": [(record.values, record.status, record.clip_counts)]}
    print("| workload | clipped runs | one CubicSpline a run (s) | spline_across_runs (s) | speed-up | largest difference (clip levels) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, rows in workloads.items():
        naive_time, naive = best_of_three(one_spline_per_run, rows)
        fast_time, fast = best_of_three(spline_across_runs, rows)
        runs = sum(len(runs_of(status != 0)) for _, status, _ in rows)
        difference = max(float(np.abs(a - b).max()) / level for a, b, (_, _, level) in zip(naive, fast, rows))
        print(f"| {name} | {runs:,} | {naive_time:.4f} | {fast_time:.4f} | {naive_time / fast_time:.0f}x | {difference:.1e} |")


if __name__ == "__main__":
    main()
