"""The one score table: signals' rows (:func:`~.metrics.signal_rows`) summed up per group.

``evaluate`` groups by clip-level bin (0.0–0.1, …, 0.9–1.0, by the clip level as a fraction of
the signal's peak), ``compare`` and the benches by clip fraction within a record family. Per
method and group that has clipped samples:

* ``signals``: how many signals (records clipped at a level) the group holds;
* ``clipped_samples`` and ``rms_clipped``: the RMS error ÷ the true peak pooled over every
  clipped sample of the group;
* ``median_rms_clipped``: each signal's ``rms_clipped``, then the median over the group's
  signals that have clipped samples, so that no single signal with many clipped samples decides;
* ``ratio_to_spline``: that median ÷ the spline's median on the same signals;
* ``relative_l2`` and ``delta_sdr_db``: averaged over the group's signals;
* ``worse``: how many of the group's signals the method made worse than the clipped input;
* ``median_peak_error_magnitude``, ``median_peak_bias_magnitude`` and ``median_psa_error_log10``:
  the median, over the group's signals that have clipped samples, of each signal's peak error,
  signed peak error (both in magnitude units) and PSA error (log10);
* ``band_coverage``: the share of the group's clipped samples whose truth the method's band holds,
  pooled over its signals (hits ÷ samples); NaN for a method without a band.
"""

from __future__ import annotations

import math
import os

import numpy as np

#: Clip-level bins of 0.1; a bin without clipped samples gets no row.
BIN_EDGES = np.round(np.linspace(0.0, 1.0, 11), 1)
REFERENCE_METHOD = "spline"
#: The signals' amplitude metrics (:mod:`.metrics`) whose median over a group the table gives.
AMPLITUDE_METRICS = ("peak_error_magnitude", "peak_bias_magnitude", "psa_error_log10")


def clip_bin(clip_fraction: float) -> str:
    """The clip-level bin holding ``clip_fraction``, as ``"0.2-0.3"`` (the last bin holds 1.0)."""
    position = min(int(np.searchsorted(BIN_EDGES, clip_fraction, side="right")) - 1, len(BIN_EDGES) - 2)
    return f"{BIN_EDGES[position]:.1f}-{BIN_EDGES[position + 1]:.1f}"


def score_table(rows: list[dict], per: str = "bin", reference: list[dict] | None = None) -> dict[str, list[dict]]:
    """Per method (in the rows' order), one score per group that holds clipped samples, the groups
    ascending: ``per="bin"`` groups by clip-level bin (the score's ``bin``), ``per="clip_fraction"``
    by clip fraction (its ``clip_fraction``). ``reference`` holds the spline's rows (default: those
    of ``rows``) that ``ratio_to_spline`` divides by."""
    group_of = clip_bin if per == "bin" else float
    reference = [row for row in (rows if reference is None else reference)
                 if row["method"] == REFERENCE_METHOD and row["clipped_samples"]]
    reference_rms = {(row["record"], row["clip_fraction"]): row["rms_clipped"] for row in reference}
    table: dict[str, list[dict]] = {}
    for method in dict.fromkeys(row["method"] for row in rows):
        groups: dict = {}
        for row in rows:
            if row["method"] == method:
                groups.setdefault(group_of(row["clip_fraction"]), []).append(row)
        table[method] = [score for group, members in sorted(groups.items())
                         if (score := _score(per, group, members, reference_rms)) is not None]
    return table


def _score(per: str, group, members: list[dict], reference_rms: dict) -> dict | None:
    clipped = [row for row in members if row["clipped_samples"]]
    if not clipped:
        return None
    samples = sum(row["clipped_samples"] for row in clipped)
    median = float(np.median([row["rms_clipped"] for row in clipped]))
    # On the same signals: a fixed-length model leaves out the records shorter than its window.
    spline = [reference_rms[key] for row in members if (key := (row["record"], row["clip_fraction"])) in reference_rms]
    spline_median = float(np.median(spline)) if spline else math.nan
    return {
        per: group,
        "signals": len(members),
        "clipped_samples": samples,
        "rms_clipped": math.sqrt(sum(row["rms_clipped"] ** 2 * row["clipped_samples"] for row in clipped) / samples),
        "median_rms_clipped": median,
        "ratio_to_spline": median / spline_median if spline_median > 0 else math.nan,
        "relative_l2": float(np.mean([row["relative_l2"] for row in members])),
        "delta_sdr_db": float(np.mean([row["delta_sdr_db"] for row in members])),
        "worse": sum(bool(row["worse"]) for row in members),
        **{f"median_{metric}": float(np.median([row[metric] for row in clipped])) for metric in AMPLITUDE_METRICS},
        "band_coverage": band_coverage(members),
    }


def band_coverage(rows: list[dict]) -> float:
    """Pooled over the rows, the share of clipped samples inside the band; NaN where the rows
    have no band or it has no clipped sample."""
    banded = [row for row in rows if row["band_samples"] is not None]
    samples = sum(row["band_samples"] for row in banded)
    return sum(row["band_hits"] for row in banded) / samples if samples else math.nan


def family_of(path: str) -> str:
    """A record's family: the name of the folder holding its file (the working folder's for a bare
    name); every trace of a miniSEED or HDF5 file belongs to its file's family."""
    return os.path.basename(os.path.dirname(os.path.abspath(path)))


def records_by_family(paths: list[str]) -> dict[str, list[str]]:
    """The record files grouped by family, families and files in the order given."""
    families: dict[str, list[str]] = {}
    for path in dict.fromkeys(paths):
        families.setdefault(family_of(path), []).append(path)
    return families


def family_tables(rows: dict[str, list[dict]], reference: dict[str, list[dict]] | None = None
                  ) -> dict[str, dict[str, list[dict]]]:
    """Per family, :func:`score_table` per clip fraction of its rows, ``reference`` (per family)
    holding the spline's rows where ``rows`` do not."""
    return {family: score_table(family_rows, "clip_fraction", None if reference is None else reference.get(family, []))
            for family, family_rows in rows.items()}
