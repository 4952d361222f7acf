"""The few lines ``make demo`` ends with: how the recommended method does against the spline at
three clip levels, read from an evaluation's evaluation.json, and where the full outputs are."""

from __future__ import annotations

import json
import os

from ..errors import SeisclipError
from ..fsio import read_input
from ..restore.registry import RECOMMENDED
from .scores import REFERENCE_METHOD

#: The clip levels (fractions of the peak) the summary shows, or the nearest the evaluation has.
SHOWN_FRACTIONS = (0.25, 0.55, 0.85)


def _bin_centre(score: dict) -> float:
    low, high = (float(edge) for edge in score["bin"].split("-"))
    return (low + high) / 2


def shown_scores(scores: list[dict], fractions: tuple[float, ...] = SHOWN_FRACTIONS) -> list[dict]:
    """Per fraction, the score of the nearest bin not shown yet (fewer if the bins run out)."""
    left, shown = list(scores), []
    for fraction in fractions:
        if not left:
            break
        nearest = min(left, key=lambda score: abs(_bin_centre(score) - fraction))
        left.remove(nearest)
        shown.append(nearest)
    return sorted(shown, key=_bin_centre)


def evaluation_summary(out_dir: str, method: str = RECOMMENDED) -> str:
    """The summary of the evaluation in ``out_dir``, a line per level shown."""
    path = os.path.join(out_dir, "evaluation.json")
    try:
        report = json.loads(read_input(path, "evaluation"))
        metrics = report["metrics"]
    except (ValueError, KeyError, TypeError):
        raise SeisclipError("not a seisclip evaluation (evaluation.json without metrics)", path) from None
    if method not in metrics or REFERENCE_METHOD not in metrics:
        raise SeisclipError(f"evaluation has no {method!r} or {REFERENCE_METHOD!r} scores "
                            f"(it holds: {', '.join(metrics)})", path)
    reference = {score["bin"]: score for score in metrics[REFERENCE_METHOD]}
    source = report.get("source", "")
    name = os.path.basename(report["model_dir"].rstrip("/")) if report.get("model_dir") else "baselines"
    lines = [f"{name}, {source}: {method}'s median error on clipped samples ÷ the {REFERENCE_METHOD}'s "
             "(below 1 is better)"]
    for score in shown_scores(metrics[method]):
        spline = reference.get(score["bin"])
        # evaluate scores every method on the same signals: the ratio of the medians is the table's
        # ratio_to_spline, and it reads evaluations written before that column too.
        median, worse = score["median_rms_clipped"], f"{score['worse']} of {score['signals']} made worse"
        if spline is None or not spline["median_rms_clipped"] > 0:
            lines.append(f"  clipped at {score['bin']} of the peak: {median:.4f} of the true peak "
                         f"(no spline score to compare with; {worse})")
        else:
            lines.append(f"  clipped at {score['bin']} of the peak: {median / spline['median_rms_clipped']:.2f}  "
                         f"({median:.4f} vs {spline['median_rms_clipped']:.4f} of the true peak; {worse})")
    written = ["evaluation.md (full table)", "evaluation.csv", "evaluation.png"]
    if os.path.isfile(os.path.join(out_dir, "records.csv")):
        written.append("records.csv (per record)")
    lines.append(f"Full results in {out_dir}/: {', '.join(written)}")
    return "\n".join(lines) + "\n"
