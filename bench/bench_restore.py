"""Time restoring the clipped samples of a long record: batched windows vs one model call per window.

    .venv/bin/python bench/bench_restore.py [--samples 100000] [--clipped-fraction 0.02]
        [--segment-length 256] [--stride 64] [--single-windows 100]

Makes a record of ``--samples`` samples from seeded ``synthetic_seismogram`` traces of
``TRACE_SAMPLES`` samples, each scaled to the same peak so that every trace's event clips, and
clips it at the quantile of |values| that clips ``--clipped-fraction`` of the samples. With
untrained models (weights do not change the timings), times on the windows of
``window_starts``, the windows ``ModelRestorer.restore`` predicts:

* (a) ``ModelRestorer.restore`` with def002 (clip-normalised), end to end: windows, batched
  predictions, combination of the windows covering each sample;
* (b) one ``model.predict`` call per window, the user's original approach, on the first
  ``--single-windows`` windows, reported per window and extrapolated to all of them;
* (c) ``ModelRestorer.restore`` with def001 (peak-normalised): the same, plus each window's peak
  estimated from 25 candidate scales, 25 batched predictions of every window.

Every timing follows a warm-up call on the same inputs, so graph tracing is not counted. Checks
that (b) predicts what the batched predictions of (a) give for the same windows. Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path

import numpy as np

from seisclip.bank.clipping import runs_of
from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.learn.manifest import ModelManifest
from seisclip.learn.model_dir import ModelDirectory
from seisclip.learn.quiet_tensorflow import keras
from seisclip.restore.inference import PEAK_CANDIDATES, ModelRestorer
from seisclip.restore.records import ClippedRecord, window_starts

REPO = Path(__file__).resolve().parent.parent
TRACE_SAMPLES = 10_000
TRACE_PEAK = 10_000.0
SEED = 1
#: Batched and single-window predictions may differ in the last float32 bits (other kernels).
RTOL, ATOL = 1e-4, 1e-5


def make_record(n_samples: int, clipped_fraction: float, rng: np.random.Generator) -> ClippedRecord:
    """Synthetic traces end to end, each scaled to ``TRACE_PEAK``, clipped symmetrically at the
    level that clips ``clipped_fraction`` of the samples."""
    n_traces = -(-n_samples // TRACE_SAMPLES)
    traces = [synthetic_seismogram(rng, TRACE_SAMPLES).astype(np.float64) for _ in range(n_traces)]
    true = np.concatenate([np.rint(trace * (TRACE_PEAK / np.abs(trace).max())) for trace in traces])[:n_samples]
    level = float(np.quantile(np.abs(true), 1.0 - clipped_fraction, method="higher"))
    status = (true >= level).astype(np.int8) - (true <= -level).astype(np.int8)
    return ClippedRecord(path="synthetic", values=np.clip(true, -level, level), status=status,
                         clip_high=level, clip_low=-level)


def untrained_restorer(definition: str, length: int, normalisation: str) -> ModelRestorer:
    """A seeded, untrained model of ``create_and_train_model_<definition>.py`` with a minimal manifest."""
    spec = importlib.util.spec_from_file_location(definition, REPO / f"create_and_train_model_{definition}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    keras.utils.set_random_seed(SEED)
    manifest = ModelManifest.untrained(f"{definition} (untrained)",
                                       {"segment_length": length, "sbrl": False, "normalisation": normalisation})
    return ModelRestorer(module.build_model(length), ModelDirectory(REPO, manifest))


def time_restore(restorer: ModelRestorer, record: ClippedRecord, stride: int) -> float:
    """Seconds for ``restorer.restore`` of ``record``, after a warm-up call."""
    restorer.restore(record, stride=stride)
    start = time.perf_counter()
    restorer.restore(record, stride=stride)
    return time.perf_counter() - start


def predict_one_by_one(model, record: ClippedRecord, starts: np.ndarray, length: int) -> np.ndarray:
    """The original approach: cut and clip-normalise each window and predict it alone; counts."""
    predictions = []
    for start in starts.tolist():
        span = slice(start, start + length)
        window = np.stack([record.values[span] / record.clip_counts, record.status[span]], axis=-1).astype(np.float32)
        predictions.append(model.predict(window[None], verbose=0)[0] * record.clip_counts)
    return np.stack(predictions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=100_000, help="samples in the record (default 100000)")
    parser.add_argument("--clipped-fraction", type=float, default=0.02,
                        help="fraction of the samples clipped (default 0.02)")
    parser.add_argument("--segment-length", type=int, default=256, help="model window length L (default 256)")
    parser.add_argument("--stride", type=int, default=64, help="samples between window starts (default 64)")
    parser.add_argument("--single-windows", type=int, default=100,
                        help="windows timed with one model call each (default 100)")
    args = parser.parse_args()
    length = args.segment_length
    if args.samples < length:
        parser.error("--samples must be at least --segment-length")
    if not 0 < args.clipped_fraction < 1:
        parser.error("--clipped-fraction must be between 0 and 1")
    if not 0 < args.stride <= length:
        parser.error("--stride must be between 1 and --segment-length")

    record = make_record(args.samples, args.clipped_fraction, np.random.default_rng(SEED))
    clipped = record.clipped
    starts = window_starts(record.values.size, length, args.stride, clipped)
    n_windows = len(starts)
    n_single = min(args.single_windows, n_windows)
    print(f"record of {record.values.size:,} samples, {int(clipped.sum()):,} clipped in {len(runs_of(clipped)):,} "
          f"runs at +-{record.clip_counts:g}; {n_windows:,} windows of {length} (stride {args.stride})", flush=True)

    clip_restorer = untrained_restorer("def002", length, "clip")
    batched_seconds = time_restore(clip_restorer, record, args.stride)
    print(f"(a) batched restore, def002: {batched_seconds:.2f} s", flush=True)

    predict_one_by_one(clip_restorer.model, record, starts[:1], length)  # warm-up: traces batch size 1
    start = time.perf_counter()
    single = predict_one_by_one(clip_restorer.model, record, starts[:n_single], length)
    single_seconds = time.perf_counter() - start
    print(f"(b) one call per window: {n_single:,} windows in {single_seconds:.2f} s", flush=True)
    batched = clip_restorer.predict_record_windows(record, starts, clip_restorer.length)[:n_single]
    scale = record.clip_counts
    difference = np.abs(single - batched).max() / scale
    assert np.allclose(single / scale, batched / scale, rtol=RTOL, atol=ATOL), \
        f"(b) and (a) predict different windows: largest difference {difference:.3g} clip levels"

    peak_restorer = untrained_restorer("def001", length, "peak")
    peak_seconds = time_restore(peak_restorer, record, args.stride)
    print(f"(c) batched restore, def001 with peak estimate: {peak_seconds:.2f} s", flush=True)

    per_single = single_seconds / n_single
    print("\n| method | windows | seconds | ms/window | speed-up vs (b) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| (a) `ModelRestorer.restore`, def002 (clip-normalised), batched | {n_windows:,} "
          f"| {batched_seconds:.2f} (measured) | {1e3 * batched_seconds / n_windows:.3f} "
          f"| {per_single * n_windows / batched_seconds:.0f}x |")
    print(f"| (b) one `model.predict` per window, def002 | {n_windows:,} ({n_single:,} timed) "
          f"| {per_single * n_windows:.2f} (extrapolated) | {1e3 * per_single:.3f} | 1x |")
    print(f"| (c) `ModelRestorer.restore`, def001 (peak-normalised, {PEAK_CANDIDATES} candidate scales), batched "
          f"| {n_windows:,} | {peak_seconds:.2f} (measured) | {1e3 * peak_seconds / n_windows:.3f} "
          f"| {per_single * n_windows / peak_seconds:.0f}x |")
    print(f"\nrecord: {record.values.size:,} samples, {int(clipped.sum()):,} clipped "
          f"({clipped.mean():.2%}) in {len(runs_of(clipped)):,} runs; windows of {length} samples, "
          f"stride {args.stride}; os.cpu_count() = {os.cpu_count()}")
    print(f"targets: (a) under 5 s: {'yes' if batched_seconds < 5 else 'NO'}; (a) at least 50x faster than (b): "
          f"{'yes' if per_single * n_windows >= 50 * batched_seconds else 'NO'}")
    print("(a) and (c) are whole restorations (windows cut and scaled, predicted in batches of 256, combined by "
          "median); (b) is the model calls alone. Each timing follows a warm-up call on the same inputs, so "
          "graph tracing is not counted. Models are untrained (seeded): weights do not change the timings.")
    print(f"(b) matches the batched predictions of the same windows: largest difference {difference:.2g} "
          f"clip levels (np.allclose rtol {RTOL:g}, atol {ATOL:g} clip levels).")


if __name__ == "__main__":
    main()
