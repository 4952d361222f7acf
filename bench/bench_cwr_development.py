"""CWRΔt on the development set beside the spline and POCS: error on the clipped samples, records
made worse, the band's coverage, and time.

    .venv/bin/python bench/bench_cwr_development.py [--records 'dev_records/*/*'] [--clip-fractions 0.4 0.7]

Each record is clipped at each fraction of its peak and restored by every classic method through
``seisclip.evaluate.runs.evaluate_records``, as ``seisclip compare`` restores them. Prints, per
family and clip fraction: each method's median RMS error on the clipped samples ÷ the true peak,
that median ÷ the spline's, and the records it made worse than the clipped input; for CWRΔt, the
share of the family's clipped samples its band holds (pooled, and the median over records), the
band's median width ÷ the true peak and its median time per record.
"""

from __future__ import annotations

import argparse
import glob
import statistics

import numpy as np

from seisclip.bank.records import read_records
from seisclip.evaluate.metrics import ClippedSet
from seisclip.evaluate.runs import evaluate_records
from seisclip.evaluate.scores import family_tables, records_by_family
from seisclip.restore.registry import build_method
from seisclip.restore.records import ClippedRecord

SHOWN = ("spline", "pocs", "cwr", "clipped input")


def band_figures(paths: list[str], fraction: float) -> dict[str, float]:
    """CWRΔt's band on the records clipped at ``fraction``: pooled and median coverage of the
    clipped samples, median width ÷ peak, median seconds."""
    method = build_method("cwr")
    held = total = 0
    shares, widths, seconds = [], [], []
    for name, truth in (record for path in paths for record in read_records(path)):
        clipped = ClippedSet.clip(truth[None, :], np.array([fraction]))
        record = ClippedRecord(name, clipped.values[0], clipped.status[0], clipped.clip_counts[0],
                               -clipped.clip_counts[0])
        restoration = method.restore(record)
        mask = record.clipped
        if not mask.any():
            continue
        inside = (restoration.lower[mask] <= truth[mask]) & (truth[mask] <= restoration.upper[mask])
        held, total = held + int(inside.sum()), total + int(mask.sum())
        shares.append(float(inside.mean()))
        width = (restoration.upper - restoration.lower)[mask]
        widths.append(float(np.median(width[np.isfinite(width)])) / float(clipped.peak[0]) if np.isfinite(width).any()
                      else np.inf)
        seconds.append(restoration.seconds)
    return {"pooled": held / total, "median": statistics.median(shares), "width": statistics.median(widths),
            "seconds": statistics.median(seconds), "clipped": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="dev_records/*/*", help="a glob of the records (default %(default)s)")
    parser.add_argument("--clip-fractions", type=float, nargs="+", default=[0.4, 0.7])
    args = parser.parse_args()
    paths = sorted(path for path in glob.glob(args.records) if not path.endswith(".json"))
    families = records_by_family(paths)
    rows = {family: evaluate_records(members, args.clip_fractions, None) for family, members in families.items()}
    tables = family_tables(rows)

    print("| family | clip fraction | method | median RMS ÷ peak | ÷ spline's | records made worse |")
    print("|---|---:|---|---:|---:|---:|")
    for family, table in tables.items():
        for fraction in args.clip_fractions:
            for method in SHOWN:
                score = next(score for score in table[method] if score["clip_fraction"] == fraction)
                print(f"| {family} | {fraction:.2f} | {method} | {score['median_rms_clipped']:.4f} | "
                      f"{score['ratio_to_spline']:.3f} | {score['worse']} of {score['signals']} |")
    print("\n| family | clip fraction | clipped samples | band holds the truth (pooled) | (median record) | "
          "median band width ÷ peak | median seconds a record |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for family, members in families.items():
        for fraction in args.clip_fractions:
            band = band_figures(members, fraction)
            print(f"| {family} | {fraction:.2f} | {band['clipped']} | {band['pooled']:.1%} | {band['median']:.1%} | "
                  f"{band['width']:.4f} | {band['seconds']:.3f} |")


if __name__ == "__main__":
    main()
