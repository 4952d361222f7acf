"""Start-up of light commands, before and after they stopped loading SciPy's signal module,
h5py and TensorFlow on the way: two git revisions timed in one run.

    .venv/bin/python bench/bench_startup.py [--before 6cd88b5] [--after WORKTREE] [--repeats 7]

Checks the ``--before`` revision out into a temporary git worktree and runs each command with
that tree, then with the working tree (``--after``, default this checkout), alternating, with
this Python: ``python -m seisclip.cli ARGS`` from a scratch folder with ``PYTHONPATH`` set to
the tree (so neither the editable install nor the folder picks the code). The commands:

* ``seisclip verify --help``;
* ``seisclip restore RECORD --method spline``: a seeded 4,000-sample synthetic record clipped at
  40 % of its peak, restored to a new output each time (the command writes a text file and a
  PNG plot).

Prints a Markdown table of the median wall time of each and the ratio before / after. The
default ``--before`` is the last commit before this change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from seisclip.bank.synthetic import synthetic_seismogram

REPO = Path(__file__).resolve().parent.parent


def write_clipped_record(folder: Path) -> Path:
    truth = synthetic_seismogram(np.random.default_rng(20261129), 4000)
    level = round(0.4 * float(np.abs(truth).max()))
    clipped = np.clip(truth, -level, level)
    path = folder / "record.txt"
    path.write_text("".join(f"{int(value)}\n" for value in clipped))
    return path


def check_imports_from(tree: Path, scratch: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", "import seisclip; print(seisclip.__file__)"], cwd=scratch, env=env,
                          capture_output=True, text=True, check=True)
    if not Path(done.stdout.strip()).is_relative_to(tree):
        raise SystemExit(f"PYTHONPATH={tree} imports seisclip from {done.stdout.strip()}")


def wall_time(tree: Path, scratch: Path, argv: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "seisclip.cli", *argv], cwd=scratch, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{tree}: seisclip {' '.join(argv)} failed: {done.stderr.strip()}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="6cd88b5", help="git revision to compare with (default 6cd88b5)")
    parser.add_argument("--after", type=Path, default=REPO, help="tree of the new code (default this checkout)")
    parser.add_argument("--repeats", type=int, default=7, help="runs of each command and tree (default 7)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temporary:
        before = Path(temporary) / "before"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(before), args.before],
                       check=True)
        try:
            scratch = Path(temporary) / "scratch"
            scratch.mkdir()
            record = write_clipped_record(scratch)
            for tree in (before, args.after):
                check_imports_from(tree.resolve(), scratch)
            commands = {
                "seisclip verify --help": lambda run: ["verify", "--help"],
                "seisclip restore --method spline": lambda run: ["restore", record.name, "--method", "spline",
                                                                 "--out", f"restored{run}.txt"],
            }
            times: dict[tuple[str, str], list[float]] = {}
            for repeat in range(args.repeats):
                for name, argv in commands.items():
                    for label, tree in (("before", before), ("after", args.after)):
                        run = f"{label}{repeat}"
                        times.setdefault((name, label), []).append(wall_time(tree, scratch, argv(run)))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(before)], check=True)

    print(f"before: {args.before}; after: {args.after}; median of {args.repeats} runs, Python {sys.version.split()[0]}\n")
    print("| command | before (s) | after (s) | before / after |")
    print("|---|---:|---:|---:|")
    for name in commands:
        old, new = (statistics.median(times[name, label]) for label in ("before", "after"))
        print(f"| `{name}` | {old:.3f} | {new:.3f} | {old / new:.1f}× |")


if __name__ == "__main__":
    main()
