"""Time segment selection on a synthetic bank's metadata list, against the user's naive loop.

    .venv/bin/python bench/bench_select.py [--files 5000] [--segments 1000000] [--segment-length 256]

Writes a wc-format metadata list of ``--files`` files (lengths log-uniform from 200 to 100,000
samples; no waveform files are needed) in a temporary folder, then times, on the same inputs:

* seisclip: ``select_segments`` end to end (parse the metadata, draw, format, atomic write of
  the index file and its manifest);
* naive: the user's original approach, a Python loop of ``random.choice``, ``random.randint``
  and ``round(random.uniform(0.1, 1.0), 3)`` with one ``write`` per line.

Prints a Markdown table. Target for seisclip: under 3 s for 1,000,000 segments of 256 samples.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from seisclip.bank.wc_list import format_wc_line
from seisclip.sets.selection import SelectionRequest, select_segments

ASCII_DIR = "outfiles"


def write_metadata(path: Path, n_files: int) -> None:
    rng = np.random.default_rng(5000)
    counts = np.exp(rng.uniform(np.log(200), np.log(100_000), size=n_files)).astype(int)
    path.write_text("".join(
        format_wc_line(int(count), int(count), 7 * int(count), f"19830924.0500.BRV.SKM.s09E0.024.txtseg{number:08d}")
        for number, count in enumerate(counts)
    ))


def seisclip_select(metadata: Path, segment_length: int, n_segments: int, output: Path) -> None:
    select_segments(SelectionRequest(segment_length, n_segments, ASCII_DIR, str(metadata), str(output), seed=1))


def naive_select(metadata: Path, segment_length: int, n_segments: int, output: Path) -> None:
    files = []
    with open(metadata) as handle:
        for line in handle:
            columns = line.split()
            if len(columns) == 4 and int(columns[0]) >= segment_length:
                files.append((columns[3], int(columns[0])))
    with open(output, "w") as out:
        for _ in range(n_segments):
            name, count = random.choice(files)
            istart = random.randint(0, count - segment_length)
            rscale = round(random.uniform(0.1, 1.0), 3)
            out.write(f"{istart} {rscale} {ASCII_DIR}/{name}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5_000, help="files in the metadata list (default 5000)")
    parser.add_argument("--segments", type=int, default=1_000_000, help="segments to select (default 1000000)")
    parser.add_argument("--segment-length", type=int, default=256, help="samples per segment (default 256)")
    args = parser.parse_args()

    print(f"{args.segments:,} segments of {args.segment_length} samples from {args.files:,} files", flush=True)
    home = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="bench_select.") as folder:
        os.chdir(folder)  # index lines name ASCII_DIR relative to here, as in the user's workflow
        try:
            os.mkdir(ASCII_DIR)
            metadata = Path("metadata.txt")
            write_metadata(metadata, args.files)
            timings = {}
            for method, select in (("seisclip select_segments", seisclip_select), ("naive Python loop", naive_select)):
                start = time.perf_counter()
                select(metadata, args.segment_length, args.segments, Path(f"{select.__name__}.txt"))
                timings[method] = time.perf_counter() - start
        finally:
            os.chdir(home)

    naive = timings["naive Python loop"]
    print("\n| method | segments | seconds | segments/s | ratio vs naive |")
    print("|---|---:|---:|---:|---:|")
    for method, seconds in timings.items():
        print(f"| {method} | {args.segments:,} | {seconds:.2f} | {args.segments / seconds:,.0f} | {naive / seconds:.1f}x |")
    print("\nratio vs naive: naive seconds / method seconds (higher is faster)")


if __name__ == "__main__":
    main()
