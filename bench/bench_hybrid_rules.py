"""Rules for combining the network and the classic methods run by run, measured on real records.

    python bench/bench_hybrid_rules.py [--model models/set00002_1024_20000_def004]
        [--records dev_records/*/*] [--clip-fractions 0.15 0.25 … 0.95 0.4 0.7] [--page docs/results/hybrid_rules.md]

The recommended method, ``hybrid`` (seisclip/restore/hybrid.py), gives each clipped run to the
spline where the record is smooth around it (mostly, where the spline rises far above the others,
to the blend) and to a blend of the network and POCS elsewhere.
This bench restores every record once by the network, the spline and POCS at every clip level,
then scores each rule below on those estimates, so that a new rule costs seconds, not a
restoration of the development set. Per family and clip level it prints the median over the
records of the RMS error on the clipped samples ÷ the true peak, divided by the spline's median,
with the records made worse than the clipped input in brackets; then the same ratio pooled over
the real families (all but ``generated``) at 40 % and 70 %, the levels the hybrid's rules were chosen at.

The rules besides ``hybrid``:

* ``smooth runs: the spline alone``: the hybrid as it was before its spline could be doubted;
* ``rough runs: network alone``: that hybrid as it was before the blend with POCS;
* ``rough runs: 0.65 network + 0.35 POCS``: a smaller share of the network in the blend;
* ``rough runs: 0.7 network + 0.3 spline``: the spline in POCS's place;
* ``long smooth runs: mean``: against the spline's overshoot on long runs, a smooth run longer
  than LONG_RUN samples gets the mean of the network and the spline;
* ``short rough runs: nearer the clip``: against the network's overshoot on short runs, a rough
  run of at most SHORT_RUN samples gets whichever of the hybrid and the spline lies nearer its
  clip level;
* ``smooth runs: spline doubted against the higher of network and POCS``: against the spline's
  overshoot on long smooth runs, a smooth run's spline is doubted (DOUBTED_SPLINE_SHARE) where it
  rises DOUBT_AGAINST_HIGHER times as far beyond the clip level as the higher of the network and
  POCS, instead of SPLINE_DOUBT_RATIO times as far as their blend;
* ``few clipped samples: single samples left``: against the network's overshoot of a sample
  barely past the clip level, in a record with at most FEW_CLIPPED clipped samples a rough run
  of one sample is left at its clip level;
* ``hybrid, self-checked``: the choice made on the record itself: the hybrid's departure from
  the clipped input, shrunk by :func:`~seisclip.restore.baselines.self_check_factor`, which
  clips the record again about as deep and keeps the share of the hybrid that restores those
  samples best. It restores every record a second time, which doubles the bench's time.
"""

from __future__ import annotations

import argparse
import glob
from typing import Callable

import numpy as np

from results_page import write_page
from seisclip.bank.clipping import runs_of
from seisclip.learn.models import load_any_model
from seisclip.restore.baselines import enforce_clip_consistency, self_check_factor
from seisclip.bank.records import ground_motion_of, read_records
from seisclip.evaluate.metrics import DEFAULT_CLIP_FRACTIONS, ClippedSet, SignalScore, signal_psa, signal_rows
from seisclip.evaluate.scores import family_of, score_table
from seisclip.restore.hybrid import (DOUBTED_SPLINE_SHARE, blend_by_shares, blend_for_rough_runs, combine_by_smoothness,
                                     smooth_runs, spline_shares)
from seisclip.restore.records import ClippedRecord
from seisclip.restore.inference import ModelRestorer
from seisclip.restore.registry import build_method

LONG_RUN = 150
SHORT_RUN = 2
DOUBT_AGAINST_HIGHER = 2.0
FEW_CLIPPED = 3
POOLED_LEVELS = (0.4, 0.7)


class Case:
    """One record clipped at one level, restored by the network, the spline and POCS."""

    def __init__(self, family: str, name: str, level: float, truth: np.ndarray, restorer: ModelRestorer):
        clipped = ClippedSet.clip(truth[None, :], np.array([level]))
        self.record = ClippedRecord(name, clipped.values[0], clipped.status[0], clipped.clip_counts[0],
                                    -clipped.clip_counts[0])
        self.family, self.level, self.truth = family, level, truth
        self.network = build_method("model", restorer).restore(self.record).restored
        self.spline = build_method("spline").restore(self.record).restored
        self.pocs = build_method("pocs").restore(self.record).restored
        self.self_check_factor = self_check_factor(_hybrid_restoration(name, restorer), self.record.values,
                                                   self.record.status, self.record.clip_high, self.record.clip_low)
        self.smooth = smooth_runs(self.record.values, self.record.status)
        self.run_length = np.zeros(truth.size, dtype=np.int64)
        for start, stop in runs_of(self.record.status != 0):
            self.run_length[start:stop] = stop - start

    def consistent(self, estimate: np.ndarray) -> np.ndarray:
        record = self.record
        return enforce_clip_consistency(estimate, record.values, record.status, record.clip_high, record.clip_low)


def _hybrid_restoration(name: str, restorer: ModelRestorer) -> Callable[..., np.ndarray]:
    """``restore``'s hybrid as a function of (values, status, clip_high, clip_low), as the self-check calls it."""
    hybrid = build_method("hybrid", restorer)
    return lambda *clipped: hybrid.restore(ClippedRecord(name, *clipped)).restored


def hybrid(case: Case) -> np.ndarray:
    """What ``restore`` ships."""
    record = case.record
    return combine_by_smoothness(record.values, record.status, record.clip_high, record.clip_low,
                                 case.network, case.spline, case.pocs).restored


def long_smooth_mean(case: Case) -> np.ndarray:
    long_smooth = case.smooth & (case.run_length > LONG_RUN)
    return np.where(long_smooth, 0.5 * (case.network + case.spline), hybrid(case))


def short_rough_nearer_clip(case: Case) -> np.ndarray:
    short_rough = ~case.smooth & (case.run_length > 0) & (case.run_length <= SHORT_RUN)
    shipped = hybrid(case)
    nearer = np.where(np.abs(shipped) < np.abs(case.spline), shipped, case.spline)
    return np.where(short_rough, nearer, shipped)


def doubted_against_higher(case: Case) -> np.ndarray:
    record = case.record
    blend = blend_for_rough_runs(case.network, case.pocs)
    shares = spline_shares(record.values, record.status, record.clip_high, record.clip_low, case.spline, blend)
    for start, stop in runs_of(record.status != 0):
        if shares[start] != 1.0:
            continue
        side, level = (1.0, record.clip_high) if record.status[start] > 0 else (-1.0, record.clip_low)
        spline_excess = float(np.max(side * (case.spline[start:stop] - level)))
        higher_excess = max(float(np.max(side * (other[start:stop] - level))) for other in (case.network, case.pocs))
        if spline_excess > 0 and spline_excess >= DOUBT_AGAINST_HIGHER * max(higher_excess, 0.0):
            shares[start:stop] = DOUBTED_SPLINE_SHARE
    return blend_by_shares(record.values, record.status, record.clip_high, record.clip_low, shares, case.spline, blend)


def few_clipped_single_samples_left(case: Case) -> np.ndarray:
    estimate = hybrid(case)
    if np.count_nonzero(case.record.status) <= FEW_CLIPPED:
        single_rough = ~case.smooth & (case.run_length == 1)
        estimate = np.where(single_rough, case.record.values, estimate)
    return estimate


def self_checked_hybrid(case: Case) -> np.ndarray:
    values = case.record.values
    return values + case.self_check_factor * (hybrid(case) - values)


def on_rough_runs(estimate: Callable[[Case], np.ndarray]) -> Callable[[Case], np.ndarray]:
    """The spline on the smooth runs, ``estimate`` on the rough ones."""
    return lambda case: np.where(case.smooth, case.spline, estimate(case))


RULES: dict[str, Callable[[Case], np.ndarray]] = {
    "spline": lambda case: case.spline,
    "network": lambda case: case.network,
    "hybrid": hybrid,
    "smooth runs: the spline alone": on_rough_runs(lambda case: blend_for_rough_runs(case.network, case.pocs)),
    "rough runs: network alone": on_rough_runs(lambda case: case.network),
    "rough runs: 0.65 network + 0.35 POCS": on_rough_runs(lambda case: 0.65 * case.network + 0.35 * case.pocs),
    "rough runs: 0.7 network + 0.3 spline": on_rough_runs(lambda case: 0.7 * case.network + 0.3 * case.spline),
    "long smooth runs: mean": long_smooth_mean,
    "short rough runs: nearer the clip": short_rough_nearer_clip,
    "smooth runs: spline doubted against the higher of network and POCS": doubted_against_higher,
    "few clipped samples: single samples left": few_clipped_single_samples_left,
    "hybrid, self-checked": self_checked_hybrid,
}


def score_cases(cases: list[Case]) -> dict[str, list[SignalScore]]:
    """Every rule's score on every case, in the cases' order (each truth's PSA computed once)."""
    motions = [ground_motion_of(case.record.path) for case in cases]
    true_psa = [signal_psa(case.truth, motion) for case, motion in zip(cases, motions)]
    return {rule: [SignalScore.of(case.truth, case.consistent(combine(case)), case.record.status, case.record.values,
                                  ground_motion=motion, true_psa=psa)
                   for case, motion, psa in zip(cases, motions, true_psa)]
            for rule, combine in RULES.items()}


def scores_by_family(cases: list[Case], scores: dict[str, list[SignalScore]]) -> dict[str, dict[str, list[dict]]]:
    """Per family, the score table (:func:`~seisclip.evaluate.scores.score_table`) of every rule per clip fraction."""
    by_family: dict[str, dict[str, list[dict]]] = {}
    for family in dict.fromkeys(case.family for case in cases):
        members = [i for i, case in enumerate(cases) if case.family == family]
        rows = signal_rows([cases[i].record.path for i in members], [cases[i].level for i in members],
                           {rule: [rule_scores[i] for i in members] for rule, rule_scores in scores.items()})
        by_family[family] = score_table(rows, "clip_fraction")
    return by_family


def pooled_ratio(cases: list[Case], scores: dict[str, list[SignalScore]], rule: str, level: float) -> float:
    """The rule's median error over the real records at ``level``, divided by the spline's."""
    members = [i for i, case in enumerate(cases) if case.family != "generated" and case.level == level]
    median = {name: np.median([scores[name][i].rms_clipped for i in members]) for name in ("spline", rule)}
    return float(median[rule] / median["spline"])


def tables(model: str, cases: list[Case], clip_fractions: list[float]) -> str:
    """Per family and level each rule's ratio to the spline, then the ratios pooled over the real records."""
    rules = [rule for rule in RULES if rule != "spline"]
    lines = [f"{model}: median error ÷ the spline's (records made worse than the clipped input)", ""]
    scores_of_cases = score_cases(cases)
    for family, scores in scores_by_family(cases, scores_of_cases).items():
        spline = {row["clip_fraction"]: row["median_rms_clipped"] for row in scores["spline"]}
        records = scores["spline"][0]["signals"]
        lines += [f"**{family}** ({records} records)", "",
                  "| clipped at | spline | " + " | ".join(rules) + " |", "|---|---:|" + "---:|" * len(rules)]
        for level in spline:
            cells = [f"{row['median_rms_clipped'] / spline[level]:.2f} ({row['worse']})"
                     for rule in rules for row in scores[rule] if row["clip_fraction"] == level]
            worse = next(row["worse"] for row in scores["spline"] if row["clip_fraction"] == level)
            lines.append(f"| {level * 100:.0f} % | {spline[level]:.4f} ({worse}) | " + " | ".join(cells) + " |")
        lines.append("")
    levels = [level for level in POOLED_LEVELS if level in clip_fractions]
    if any(case.family != "generated" for case in cases) and levels:
        lines += ["Pooled over the real records: median error ÷ the spline's", "",
                  "| rule | " + " | ".join(f"{level * 100:.0f} %" for level in levels) + " |",
                  "|---|" + "---:|" * len(levels)]
        for rule in rules:
            lines.append(f"| {rule} | " + " | ".join(f"{pooled_ratio(cases, scores_of_cases, rule, level):.3f}"
                                                    for level in levels) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/set00002_1024_20000_def004")
    parser.add_argument("--records", nargs="+", default=sorted(glob.glob("dev_records/*/*.txt*")))
    parser.add_argument("--clip-fractions", "--clip-levels", dest="clip_fractions", nargs="+", type=float,
                        default=sorted({*DEFAULT_CLIP_FRACTIONS, *POOLED_LEVELS}))
    parser.add_argument("--page", default=None, help="write the tables as a page, e.g. docs/results/hybrid_rules.md")
    args = parser.parse_args()
    restorer = ModelRestorer.of(load_any_model(args.model))
    cases = [Case(family_of(path), name, level, truth, restorer)
             for path in args.records for name, truth in read_records(path) for level in args.clip_fractions]
    body = tables(args.model, cases, args.clip_fractions)
    print(body, end="")
    if args.page:
        write_page(args.page, "Rules for the hybrid, on the development set", body, [args.model])


if __name__ == "__main__":
    main()
