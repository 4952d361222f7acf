"""Time materialising an index file's segments from ASCII files and from the HDF5 bank, and the
peak memory of a streamed epoch.

    .venv/bin/python bench/bench_bank.py [--files 1000] [--samples 50000] [--segments 40000]
        [--segment-length 256] [--naive-segments 1000] [--stream-segments 1000000] [--stream-batch-size 256]

Writes, in a temporary folder, a bank of ``--files`` ASCII waveform files of about ``--samples``
samples (``bench_load_train.write_bank``), its wc-format metadata, the HDF5 bank made from them
by ``seisclip bank ingest`` and an index file of ``--segments`` random segments, then times on
the same inputs:

* (a) re-read per segment, the user's original approach (``bench_load_train.reread_per_segment``),
  on the first ``--naive-segments`` lines, reported per segment and extrapolated;
* (b) ``load_segments`` from the ASCII files, each file read once;
* (c) ``load_segments`` from the HDF5 bank (same checks and arrays as (b); one read per trace);
* (c') one ``Bank.read_segments`` call for all segments, the vectorised read streaming and
  export use (sorted by position, nearby segments sharing a read).

Checks that (a), (b) and (c) give identical segments. Then, in a fresh subprocess, streams one
epoch of ``--stream-segments`` segments through the training ``tf.data`` pipeline (index read,
usable segments worked out, every batch read from the bank and turned into network inputs and
targets) and reports its peak resident memory (VmHWM). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_load_train import reread_per_segment, write_bank, write_index

from seisclip.bank.hdf5 import BankSource
from seisclip.bank.ingest import ingest_bank
from seisclip.bank.wc_list import format_wc_line
from seisclip.sets.index_file import read_index
from seisclip.sets.segments import load_segments

SEED = 1
ASCII_DIR = "outfiles"


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM, which (unlike ru_maxrss) starts afresh at exec
    rather than at the parent's size when the child was forked."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024   # kB
    raise RuntimeError("no VmHWM in /proc/self/status (not Linux?)")


def stream_epoch(index_path: str, bank_path: str, segment_length: int, batch_size: int) -> None:
    """Child process: one streamed epoch over every usable segment; prints a JSON line."""
    from seisclip.learn.pipeline import training_dataset
    from seisclip.sets.pairs import Representation, SegmentPairs

    imported_mb = peak_rss_mb()
    start = time.perf_counter()
    source = BankSource(bank_path)
    segments = load_segments(read_index(index_path), segment_length, source=source, progress=False,
                             keep_segments=False)
    pairs = SegmentPairs.from_bank(segments, source, Representation())
    scanned = time.perf_counter()
    positions = np.arange(len(segments.used))
    seen = 0
    for inputs, packed in training_dataset(pairs, positions, batch_size, seed=SEED, epochs=1):
        seen += int(inputs.shape[0])
    print(json.dumps({"segments": seen, "scan_seconds": scanned - start, "epoch_seconds": time.perf_counter() - scanned,
                      "imported_mb": imported_mb, "peak_rss_mb": peak_rss_mb()}))


def write_metadata(path: Path, file_paths: list[str], lengths: np.ndarray) -> None:
    lines = [format_wc_line(int(count), int(count), os.path.getsize(file_path), os.path.basename(file_path))
             for file_path, count in zip(file_paths, lengths)]
    path.write_text("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1_000, help="waveform files in the bank (default 1000)")
    parser.add_argument("--samples", type=int, default=50_000, help="mean samples per file, +-20%% (default 50000)")
    parser.add_argument("--segments", type=int, default=40_000, help="segments in the index file (default 40000)")
    parser.add_argument("--segment-length", type=int, default=256, help="samples per segment (default 256)")
    parser.add_argument("--naive-segments", type=int, default=1_000,
                        help="index lines timed with the re-read-per-segment approach (default 1000)")
    parser.add_argument("--stream-segments", type=int, default=1_000_000,
                        help="segments in the streamed epoch (default 1000000)")
    parser.add_argument("--stream-batch-size", type=int, default=256, help="batch size of the streamed epoch (default 256)")
    parser.add_argument("--stream-child", nargs=2, metavar=("INDEX", "BANK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    length = args.segment_length
    if args.stream_child:
        stream_epoch(*args.stream_child, length, args.stream_batch_size)
        return
    if int(0.8 * args.samples) < length:
        parser.error("--samples must be at least 1.25 x --segment-length")
    n_naive = min(args.naive_segments, args.segments)

    print(f"{args.segments:,} segments of {length} samples from {args.files:,} files of ~{args.samples:,} samples",
          flush=True)
    rng = np.random.default_rng(SEED)
    with tempfile.TemporaryDirectory(prefix="bench_bank.") as folder:
        os.chdir(folder)   # index lines name outfiles/<file>, as the user's do
        Path(ASCII_DIR).mkdir()
        start = time.perf_counter()
        absolute_paths, lengths = write_bank(Path(folder) / ASCII_DIR, args.files, args.samples, rng)
        file_paths = [os.path.relpath(path, folder) for path in absolute_paths]
        write_metadata(Path("metadata.txt"), file_paths, lengths)
        write_index(Path("index.txt"), file_paths, lengths, args.segments, length, rng)
        ascii_bytes = sum(os.path.getsize(path) for path in file_paths)
        print(f"ASCII bank written to {folder} ({ascii_bytes / 1e6:,.0f} MB) in {time.perf_counter() - start:.1f} s",
              flush=True)

        start = time.perf_counter()
        print(ingest_bank("metadata.txt", ASCII_DIR, "bank.h5", progress=False), flush=True)
        ingest_seconds = time.perf_counter() - start
        bank_bytes = os.path.getsize("bank.h5")
        index = read_index("index.txt")

        start = time.perf_counter()
        naive = reread_per_segment(index.istart[:n_naive], index.paths[:n_naive], length)
        naive_seconds = time.perf_counter() - start
        print(f"(a) re-read per segment: {n_naive:,} segments in {naive_seconds:.1f} s", flush=True)

        start = time.perf_counter()
        from_ascii = load_segments(index, length, progress=False)
        ascii_seconds = time.perf_counter() - start
        print(f"(b) load_segments, ASCII: {from_ascii.summary()} in {ascii_seconds:.2f} s", flush=True)

        start = time.perf_counter()
        source = BankSource("bank.h5")
        from_bank = load_segments(index, length, progress=False, source=source)
        bank_seconds = time.perf_counter() - start
        print(f"(c) load_segments, HDF5 bank: {from_bank.summary()} in {bank_seconds:.3f} s", flush=True)

        start = time.perf_counter()
        starts = np.array([source.bank.offsets[source.trace_number(path)] for path in index.paths]) + index.istart
        vectorised = source.bank.read_segments(starts, length)
        vectorised_seconds = time.perf_counter() - start
        print(f"(c') Bank.read_segments: {len(vectorised):,} segments in {vectorised_seconds:.3f} s", flush=True)

        assert len(from_ascii.used) == len(index), f"segments skipped: {from_ascii.summary()}"
        assert np.array_equal(naive, from_ascii.segments[:n_naive]), "(a) and (b) read different segments"
        assert np.array_equal(from_ascii.segments, from_bank.segments), "(b) and (c) read different segments"
        assert np.array_equal(from_bank.segments, vectorised), "(c) and (c') read different segments"

        write_index(Path("stream_index.txt"), file_paths, lengths, args.stream_segments, length, rng)
        child = subprocess.run(
            [sys.executable, __file__, "--stream-child", "stream_index.txt", "bank.h5",
             "--segment-length", str(length), "--stream-batch-size", str(args.stream_batch_size)],
            capture_output=True, text=True, env={**os.environ})
        if child.returncode:
            raise SystemExit(f"streaming child failed:\n{child.stderr}")
        stream = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"streamed epoch: {stream}", flush=True)
        os.chdir(Path(folder).parent)

    per_naive = naive_seconds / n_naive
    n = args.segments
    rows = [
        ("(a) re-read the ASCII file per segment (np.loadtxt)", n_naive, naive_seconds,
         f"{per_naive * n:,.0f} (extrapolated)"),
        ("(b) ASCII files, each read once (load_segments)", n, ascii_seconds, f"{ascii_seconds:,.2f}"),
        ("(c) HDF5 bank (load_segments, one read per trace)", n, bank_seconds, f"{bank_seconds:,.3f}"),
        ("(c') HDF5 bank, one vectorised Bank.read_segments", n, vectorised_seconds, f"{vectorised_seconds:,.3f}"),
    ]
    print(f"\n| method | segments timed | seconds | ms/segment | seconds for all {n:,} | speed-up vs (a) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, count, seconds, total in rows:
        print(f"| {label} | {count:,} | {seconds:.3f} | {1e3 * seconds / count:.4f} | {total} "
              f"| {per_naive / (seconds / count):,.0f}x |")
    held_gb = stream["segments"] * length * 8 / 1e9
    print(f"\n| streamed epoch ({args.stream_batch_size} segments per batch) | segments | seconds | segments/s "
          "| peak RSS | RSS after imports |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| index read + usable segments worked out, then every batch read from the bank and made into "
          f"network inputs and targets | {stream['segments']:,} | {stream['scan_seconds']:.1f} + "
          f"{stream['epoch_seconds']:.1f} | {stream['segments'] / stream['epoch_seconds']:,.0f} "
          f"| {stream['peak_rss_mb']:,.0f} MB | {stream['imported_mb']:,.0f} MB |")
    print(f"\nparameters: --files {args.files} --samples {args.samples} --segments {n} --segment-length {length} "
          f"--naive-segments {n_naive} --stream-segments {args.stream_segments} "
          f"--stream-batch-size {args.stream_batch_size}; os.cpu_count() = {os.cpu_count()}")
    print(f"data: {args.files:,} ASCII files ({ascii_bytes / 1e6:,.0f} MB); the bank made from them "
          f"({bank_bytes / 1e6:,.0f} MB) by seisclip bank ingest in {ingest_seconds:.1f} s (one-off, not in the table). "
          "Both on local disk, read right after being written, so from a warm page cache.")
    print("speed-up vs (a): (a) seconds per segment / method seconds per segment; (a), (b), (c) and (c') give "
          "identical segments where they ran.")
    print(f"memory: holding the {stream['segments']:,} segments in memory as the in-memory path does would take "
          f"{held_gb:.1f} GB (float64) before any network array; peak RSS is the child process's VmHWM, "
          "TensorFlow included.")


if __name__ == "__main__":
    main()
