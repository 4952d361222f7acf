"""Restore an archive: one `seisclip restore … --out-dir` call against a loop of single calls.

    .venv/bin/python bench/bench_restore_archive.py [--model models/set00002_1024_20000_def004]
        [--bank demo_bank] [--level 0.4] [--sample 20] [--work /tmp/bench_restore_archive]

Clips every waveform file of the demo bank (600 records, `make demo` makes it) at ``--level``
of its peak (`seisclip clip`, the labelled format), then restores them with the model two ways,
each as a subprocess timed from the outside (wall time; peak RSS from the kernel's rusage):

* **one call**: `seisclip restore RECORD… --out-dir DIR`: one model load, the windows of 16
  records at a time predicted together;
* **loop**: `seisclip restore RECORD --model M --out …` once per record, as a shell loop over
  the archive would; run on ``--sample`` records drawn with a fixed seed and extrapolated to all.

Checks that the one call's restored samples equal the single calls' on the sampled records to
1e-6 (relative to each record's peak), and prints a Markdown table with the ratio per record.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from seisclip.bank.wc_list import read_metadata
from seisclip.restore.naming import ASCII, restored_name
from seisclip.restore.records import clip_artificially

REPO = Path(__file__).resolve().parent.parent
SEISCLIP = [sys.executable, "-m", "seisclip"]
SAMPLE_SEED = 20261204
TOLERANCE = 1e-6
TARGET_RATIO = 20.0


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a subprocess; a failure stops the benchmark."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    error = process.stderr.read().decode()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench_restore_archive: {' '.join(command[:4])} … failed:\n{error[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def restored_samples(path: Path) -> np.ndarray:
    return np.loadtxt(path, skiprows=1, usecols=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "models/set00002_1024_20000_def004"))
    parser.add_argument("--bank", default=str(REPO / "demo_bank"))
    parser.add_argument("--level", type=float, default=0.4)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--work", default="/tmp/bench_restore_archive")
    args = parser.parse_args()

    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    clipped = work / "clipped"
    clipped.mkdir(parents=True)
    names = [entry.name for entry in read_metadata(Path(args.bank) / "outfiles_contents_reordered.txt").entries]
    for name in names:
        clip_artificially(Path(args.bank) / name, args.level, clipped / f"{name}.txt")
    records = sorted(clipped.glob("*.txt"))
    samples = sum(sum(1 for _ in open(path)) - 1 for path in records)

    one_s, one_rss = timed([*SEISCLIP, "restore", *map(str, records), "--model", args.model,
                            "--out-dir", str(work / "archive"), "--quiet"])
    sample = sorted(np.random.default_rng(SAMPLE_SEED).choice(len(records), size=args.sample, replace=False))
    (work / "single").mkdir()
    loop_s, loop_rss, worst = 0.0, 0.0, 0.0
    sample_samples = 0
    for position in sample:
        record = records[position]
        output = work / "single" / restored_name(record.name, ASCII)   # the archive's name for it
        seconds, rss = timed([*SEISCLIP, "restore", str(record), "--model", args.model, "--out", str(output)])
        loop_s, loop_rss = loop_s + seconds, max(loop_rss, rss)
        single, archived = restored_samples(output), restored_samples(work / "archive" / output.name)
        worst = max(worst, float(np.abs(single - archived).max() / np.abs(single).max()))
        sample_samples += single.size

    per_record_one, per_record_loop = one_s / len(records), loop_s / len(sample)
    print(f"{len(records)} records of the demo bank ({samples} samples), clipped at {args.level:g}, restored with "
          f"{Path(args.model).name} (hybrid)\n")
    print("| approach | records run | wall s | s per record | samples/s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| one `restore --out-dir` call | {len(records)} | {one_s:.1f} | {per_record_one:.3f} | "
          f"{samples / one_s:,.0f} | {one_rss:.0f} |")
    print(f"| loop of single calls | {len(sample)} (×{len(records) / len(sample):.0f} = "
          f"{per_record_loop * len(records):.0f} s for all) | {loop_s:.1f} | {per_record_loop:.3f} | "
          f"{sample_samples / loop_s:,.0f} | {loop_rss:.0f} |")
    ratio = per_record_loop / per_record_one
    print(f"\none call is {ratio:.1f}× faster per record than the loop (target ≥ {TARGET_RATIO:g}×): "
          f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}")
    print(f"largest difference of the restored samples, one call vs single calls, ÷ the record's peak: {worst:.2e} "
          f"(target ≤ {TOLERANCE:g}): {'met' if worst <= TOLERANCE else 'NOT met'}")


if __name__ == "__main__":
    main()
