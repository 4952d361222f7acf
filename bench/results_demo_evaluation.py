"""The demo's evaluation page: a model and the classic methods on the generated benchmark records.

    python bench/results_demo_evaluation.py [--model models/set00002_1024_20000_def004]
        [--records 'benchmark_bank/*.txtseg*'] [--page docs/results/demo_evaluation.md]

Runs what ``make demo``'s last step runs, ``seisclip evaluate --model MODEL --records
benchmark_bank/*.txtseg* --clip-fractions 0.15 … 0.95`` (each record clipped at every fraction of
its peak, restored whole), and prints its table: per clip-level bin and method, the median and
pooled RMS error on the clipped samples ÷ the true peak, the mean ΔSDR and the records made worse
than the clipped input. With ``--page`` it writes it as a page of docs/results/
(bench/results_page.py), naming the records by the sha256 of their files.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import sys
import tempfile
from pathlib import Path

from results_page import files_sha256, write_page
from seisclip.evaluate.evaluation import run_evaluate

DEFAULT_MODEL = "models/set00002_1024_20000_def004"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--records", nargs="+", default=["benchmark_bank/*.txtseg*"],
                        help="record files or quoted globs (default: the demo's benchmark records)")
    parser.add_argument("--page", default=None, help="write the page here, e.g. docs/results/demo_evaluation.md")
    args = parser.parse_args()
    records = sorted({path for pattern in args.records for path in (glob.glob(pattern) or [pattern])})
    with tempfile.TemporaryDirectory() as folder:
        out_dir = Path(folder) / "evaluation"
        with contextlib.redirect_stdout(sys.stderr):   # evaluate's own print: the page's table follows
            run_evaluate(args.model, records, out_dir=str(out_dir), progress=False)
        table = (out_dir / "evaluation.md").read_text().split("\n\n", 1)[1]
    body = (f"{len(records)} records, each clipped at 15 %, 25 %, …, 95 % of its peak; per clip-level bin the "
            "median over the records of the RMS error on the clipped samples ÷ the true peak, the same pooled over "
            "all clipped samples, the mean ΔSDR and the records made worse than the clipped input (the lowest "
            "errors in bold):\n\n" + table)
    print(body)
    if args.page:
        write_page(args.page, "The demo's evaluation on generated records", body, [args.model],
                   records={f"{len(records)} records ({' '.join(args.records)})": files_sha256(records)})


if __name__ == "__main__":
    main()
