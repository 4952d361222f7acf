"""The development-set page: models and the classic methods per record family, as ``compare`` measures them.

    python bench/results_development_set.py [--models reference]
        [--records 'dev_records/*/*'] [--cache evaluations/compare_cache] [--page docs/results/development_set.md]

Runs ``seisclip compare MODEL… --records dev_records/*/*`` (seisclip's own comparison, its
cache included, so a rerun on the same models and records reuses the evaluations and prints the
same digits) and prints, first, short tables of every method per family, each averaged over the
clip levels: the median over the family's records of the RMS error on the clipped samples ÷ the
true peak, divided by the spline's, with the records made worse than the clipped input over the
levels in brackets; the median peak error in magnitude units, with the signed one in brackets;
and the median PSA error (compare's own amplitude tables). Then compare's own tables, per family
and clip level. With ``--page`` it
writes them as a page of docs/results/ (bench/results_page.py).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import sys
import tempfile
from pathlib import Path

from results_page import write_page
from seisclip.evaluate.compare import amplitude_tables, run_compare

DEFAULT_MODEL = "reference"


def summary_table(rows, families: list[str]) -> str:
    """Per method, each family's mean ratio to the spline (records made worse, over the levels)."""
    lines = ["| method | " + " | ".join(families) + " |", "|---|" + "---:|" * len(families)]
    for row in rows:
        cells = [f"{row.mean_ratio(family):.2f} ({sum(score['worse'] for score in row.scores[family])})"
                 for family in families]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=[DEFAULT_MODEL])
    parser.add_argument("--records", nargs="+", default=["dev_records/*/*"],
                        help="record files or quoted globs (default: the development set)")
    parser.add_argument("--cache", default=None, help="compare's cache folder (default: its own)")
    parser.add_argument("--page", default=None, help="write the page here, e.g. docs/results/development_set.md")
    args = parser.parse_args()
    records = sorted({path for pattern in args.records for path in (glob.glob(pattern) or [pattern])
                      if not path.endswith("manifest.json")})
    cache = {} if args.cache is None else {"cache_dir": args.cache}
    with tempfile.TemporaryDirectory() as folder:
        out_dir = Path(folder) / "compare"
        with contextlib.redirect_stdout(sys.stderr):   # compare's own print: the page's tables follow
            rows = run_compare(args.models, records, out_dir=str(out_dir), progress=False, **cache)
        tables = (out_dir / "compare.md").read_text()
    families = list(dict.fromkeys(family for row in rows for family in row.scores))
    body = ("Median RMS error on the clipped samples ÷ the true peak, divided by the spline's, averaged over the "
            "clip levels 15 % to 95 % of the peak; in brackets the records made worse than the clipped input over "
            "the levels:\n\n" + summary_table(rows, families) + "\n"
            + "\n".join(amplitude_tables(rows, families)) + "\n"
            + "\n" + tables.replace("\n#", "\n##").replace("# ", "## ", 1))
    print(body)
    if args.page:
        write_page(args.page, "The development set, per family", body, args.models)


if __name__ == "__main__":
    main()
