"""Time loading an index file's segments (each file read once vs re-read per segment) and one def001 epoch.

    .venv/bin/python bench/bench_load_train.py [--files 1000] [--samples 50000] [--segments 40000]
        [--segment-length 256] [--naive-segments 2000] [--train-segments 4096]

Writes, in a temporary folder, a bank of ``--files`` ASCII waveform files of about ``--samples``
samples each (lengths vary by up to 20%) and an index file of ``--segments`` random segments,
then times, on the same inputs:

* (a) re-read per segment, the user's original approach: for each index line, read and parse the
  whole waveform file, then slice the segment. Too slow for every line, so it runs on the first
  ``--naive-segments`` lines and is reported per segment and extrapolated to all of them;
* (b) seisclip ``load_segments``, which reads each waveform file once, on every line;
* one training epoch of def001 (``create_and_train_model_def001.py``) on ``--train-segments``
  segments, compiled and seeded as ``seisclip.learn.training.train`` does, at batch sizes 64 (the
  definition's default) and 256, each after a short warm-up fit so graph tracing is not counted.

Checks that (a) and (b) give identical segments where both ran. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from seisclip.learn.quiet_tensorflow import keras, tf
from seisclip.learn.training import restored_mae, restored_mse
from seisclip.sets.index_file import format_index, read_index
from seisclip.sets.pairs import labelled_batch
from seisclip.sets.segments import load_segments

REPO = Path(__file__).resolve().parent.parent
DEFINITION_SCRIPT = REPO / "create_and_train_model_def001.py"
BATCH_SIZES = (64, 256)
WARM_UP_BATCHES = 2
SEED = 1


def write_bank(folder: Path, n_files: int, n_samples: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """ASCII waveform files of integer counts, one per line; their paths and lengths."""
    lengths = rng.integers(int(0.8 * n_samples), int(1.2 * n_samples) + 1, size=n_files)
    paths = []
    for number, length in enumerate(lengths):
        path = folder / f"19830924.0500.BRV.SKM.s09E0.024.txtseg{number:08d}"
        counts = np.rint(rng.normal(0.0, 2000.0, size=length)).astype(np.int64)  # peaks far above min_peak
        path.write_text("\n".join(map(str, counts.tolist())) + "\n")
        paths.append(str(path))
    return paths, lengths


def write_index(path: Path, file_paths: list[str], lengths: np.ndarray, n_segments: int, segment_length: int,
                rng: np.random.Generator) -> None:
    file_index = rng.integers(0, len(file_paths), size=n_segments)
    istart = rng.integers(0, lengths[file_index] - segment_length + 1)
    rscale_thousandths = rng.integers(100, 1001, size=n_segments)
    path.write_bytes(format_index(istart, rscale_thousandths, file_index, file_paths))


def reread_per_segment(istart: np.ndarray, paths: list[str], segment_length: int) -> np.ndarray:
    """The original approach: parse the whole file for every segment, then slice it.

    np.loadtxt is the usual way a script reads a one-column ASCII file; with numpy 2's C parser
    it is also faster than np.array(open(path).read().split(), dtype=float), so (a) is not
    handicapped by a slow parser.
    """
    return np.stack([np.loadtxt(path)[start:start + segment_length] for start, path in zip(istart.tolist(), paths)])


def load_definition():
    spec = importlib.util.spec_from_file_location("create_and_train_model_def001", DEFINITION_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_epoch(definition, inputs: np.ndarray, packed: np.ndarray, batch_size: int) -> float:
    """Seconds for one epoch of a freshly built and compiled model, after a warm-up fit."""
    keras.utils.set_random_seed(SEED)
    model = definition.build_model(inputs.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(definition.HYPERPARAMETERS["learning_rate"]),
                  loss=definition.loss, metrics=[restored_mse, restored_mae])
    # Full batches and, if the epoch ends with one, a partial batch: both shapes get traced here.
    warm_up = WARM_UP_BATCHES * batch_size + len(inputs) % batch_size
    model.fit(inputs[:warm_up], packed[:warm_up], epochs=1, batch_size=batch_size, verbose=0)
    start = time.perf_counter()
    model.fit(inputs, packed, epochs=1, batch_size=batch_size, shuffle=True, verbose=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1_000, help="waveform files in the bank (default 1000)")
    parser.add_argument("--samples", type=int, default=50_000, help="mean samples per file, +-20%% (default 50000)")
    parser.add_argument("--segments", type=int, default=40_000, help="segments in the index file (default 40000)")
    parser.add_argument("--segment-length", type=int, default=256, help="samples per segment (default 256)")
    parser.add_argument("--naive-segments", type=int, default=2_000,
                        help="index lines timed with the re-read-per-segment approach (default 2000)")
    parser.add_argument("--train-segments", type=int, default=4_096, help="segments in the timed epoch (default 4096)")
    args = parser.parse_args()
    length = args.segment_length
    if int(0.8 * args.samples) < length:
        parser.error("--samples must be at least 1.25 x --segment-length")
    n_naive = min(args.naive_segments, args.segments)

    print(f"{args.segments:,} segments of {length} samples from {args.files:,} files of ~{args.samples:,} samples",
          flush=True)
    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory(prefix="bench_load_train.") as folder:
        start = time.perf_counter()
        file_paths, lengths = write_bank(Path(folder), args.files, args.samples, rng)
        index_path = Path(folder) / "index.txt"
        write_index(index_path, file_paths, lengths, args.segments, length, rng)
        bank_bytes = sum(os.path.getsize(path) for path in file_paths)
        print(f"bank written to {folder} ({bank_bytes / 1e6:,.0f} MB) in {time.perf_counter() - start:.1f} s", flush=True)
        index = read_index(index_path)

        start = time.perf_counter()
        naive = reread_per_segment(index.istart[:n_naive], index.paths[:n_naive], length)
        naive_seconds = time.perf_counter() - start
        print(f"(a) re-read per segment: {n_naive:,} segments in {naive_seconds:.1f} s", flush=True)

        start = time.perf_counter()
        loaded = load_segments(index, length, progress=False)
        seisclip_seconds = time.perf_counter() - start
        print(f"(b) seisclip load_segments: {loaded.summary()} in {seisclip_seconds:.1f} s", flush=True)

    assert len(loaded.used) == len(index), f"segments skipped: {loaded.summary()}"
    assert np.array_equal(naive, loaded.segments[:n_naive]), "(a) and (b) read different segments"

    n_train = min(args.train_segments, len(loaded.used))
    batch = labelled_batch(loaded.segments[:n_train], index.clip_fraction[loaded.used[:n_train]])
    inputs, packed = batch.inputs, batch.packed_targets
    tf.config.experimental.enable_op_determinism()  # as seisclip.learn.training.train sets it
    definition = load_definition()
    epochs = {}
    for batch_size in BATCH_SIZES:
        epochs[batch_size] = time_epoch(definition, inputs, packed, batch_size)
        print(f"def001 epoch, batch size {batch_size}: {n_train:,} samples in {epochs[batch_size]:.1f} s", flush=True)

    per_naive = naive_seconds / n_naive
    per_seisclip = seisclip_seconds / args.segments
    print("\n| step | items timed | seconds | items/s | ms/item | seconds for all segments | speed-up vs (a) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| (a) re-read per segment (np.loadtxt of the whole file) | {n_naive:,} segments | {naive_seconds:.2f} "
          f"| {1 / per_naive:,.0f} | {1e3 * per_naive:.3f} | {per_naive * args.segments:,.0f} (extrapolated) | 1.0x |")
    print(f"| (b) seisclip load_segments (each file once) | {args.segments:,} segments | {seisclip_seconds:.2f} "
          f"| {1 / per_seisclip:,.0f} | {1e3 * per_seisclip:.3f} | {seisclip_seconds:,.1f} "
          f"| {per_naive / per_seisclip:.1f}x |")
    for batch_size, seconds in epochs.items():
        print(f"| def001 training, 1 epoch, batch size {batch_size} | {n_train:,} samples | {seconds:.2f} "
              f"| {n_train / seconds:,.0f} | {1e3 * seconds / n_train:.3f} | | |")
    print(f"\nparameters: --files {args.files} --samples {args.samples} --segments {args.segments} "
          f"--segment-length {length} --naive-segments {n_naive} --train-segments {n_train}; "
          f"os.cpu_count() = {os.cpu_count()}")
    print(f"data: {args.files:,} ASCII files ({bank_bytes / 1e6:,.0f} MB) in a temporary folder on local disk, "
          "read right after being written, so from a warm page cache; that helps (a) and (b) alike.")
    print("speed-up vs (a): (a) seconds per segment / method seconds per segment (higher is faster); "
          "(a) and (b) give identical segments where both ran.")
    print("training: def001's build_model and loss, Adam, restored_mse/restored_mae metrics, op determinism on; "
          f"a {WARM_UP_BATCHES}-batch warm-up fit (plus the epoch's last partial batch, if any) is not counted.")


if __name__ == "__main__":
    main()
