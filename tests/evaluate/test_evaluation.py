"""The evaluation stage: metrics, the one score table, the one writer, ``evaluate`` on records,
the demo's summary, and the flags named by their units with their older spellings."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.cli import build_parser
from seisclip.errors import SeisclipError
from seisclip.evaluate import compare, evaluation
from seisclip.evaluate.metrics import ClippedSet, SignalScore, signal_rows
from seisclip.evaluate.scores import clip_bin, score_table
from seisclip.evaluate.summary import evaluation_summary, shown_scores
from seisclip.evaluate.writer import csv_bytes, markdown_table

ENV = {**os.environ, "PYTHON": sys.executable}


def seisclip(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seisclip.cli", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=300)


def loud_part(seed: int, n: int = 300) -> np.ndarray:
    """The ``n`` samples around the peak of a generated seismogram."""
    truth = synthetic_seismogram(np.random.default_rng(seed), 6000).astype(np.float64)
    start = int(np.clip(np.argmax(np.abs(truth)) - n // 2, 0, truth.size - n))
    return truth[start:start + n]


def write_plain(path: Path, values) -> Path:
    path.write_text("".join(f"{int(v)}\n" for v in values))
    return path


def table_of(truth, restored, status, clip_fraction, clipped, per: str = "bin") -> list[dict]:
    """The score table of one method's restorations (with the spline's rows the same, so that the
    ratios are 1)."""
    scores = [SignalScore.of(*signal) for signal in zip(truth, restored, status, clipped)]
    rows = signal_rows([f"s{i}" for i in range(len(scores))], list(clip_fraction), {"spline": scores})
    return score_table(rows, per)["spline"]


def test_the_score_table_matches_a_hand_calculation():
    truth = np.array([[0.0, 10.0, -10.0, 5.0], [0.0, 4.0, 2.0, -1.5]])
    clipped = ClippedSet.clip(truth, np.array([0.5, 0.25]))
    np.testing.assert_array_equal(clipped.status, [[0, 1, -1, 0], [0, 1, 1, -1]])
    restored = clipped.values.copy()
    restored[0, 1], restored[1, 1] = 8.0, 3.0
    rows = table_of(clipped.truth, restored, clipped.status, clipped.clip_fraction, clipped.values)
    assert [row["bin"] for row in rows] == ["0.2-0.3", "0.5-0.6"]
    # 0.25: errors on clipped samples (3-4, 1-2, -1+1.5)/4; 0.5: (8-10, -5+10)/10
    assert rows[0]["rms_clipped"] == pytest.approx(np.sqrt((0.25**2 + 0.25**2 + 0.125**2) / 3))
    assert rows[1]["rms_clipped"] == pytest.approx(np.sqrt((0.2**2 + 0.5**2) / 2))
    assert rows[1]["relative_l2"] == pytest.approx(np.sqrt(2**2 + 5**2) / np.sqrt(225))
    # One signal per bin: the median of per-signal RMS is that signal's, here the pooled value.
    assert rows[0]["median_rms_clipped"] == pytest.approx(rows[0]["rms_clipped"])
    assert rows[0]["ratio_to_spline"] == rows[1]["ratio_to_spline"] == 1.0
    two = table_of([truth[0], truth[0] * 2], [restored[0], restored[0] * 2 + [0, 1, 0, 0]],
                   [clipped.status[0]] * 2, np.array([0.5, 0.5]), [clipped.values[0], clipped.values[0] * 2])
    # 0.5: (2, 5)/10 -> rms sqrt(14.5)/10; doubled with +1: (3, 10)/20 -> sqrt(54.5)/20 = sqrt(13.625)/10
    assert two[0]["median_rms_clipped"] == pytest.approx((np.sqrt(14.5) + np.sqrt(13.625)) / 20)
    # Pooled over the four clipped samples: (0.2, 0.5, 0.15, 0.5).
    assert two[0]["rms_clipped"] == pytest.approx(np.sqrt((0.2**2 + 0.5**2 + 0.15**2 + 0.5**2) / 4))
    # ΔSDR: ||true - clipped|| over ||true - restored||, in dB: (5, 5) -> (2, 5); (3, 1, 0.5) -> (1, 1, 0.5)
    assert rows[1]["delta_sdr_db"] == pytest.approx(20 * np.log10(np.sqrt(50) / np.sqrt(29)))
    assert rows[0]["delta_sdr_db"] == pytest.approx(20 * np.log10(np.sqrt(3**2 + 1 + 0.25) / np.sqrt(2.25)))
    assert rows[0]["worse"] == rows[1]["worse"] == 0
    worse = table_of(clipped.truth, clipped.values * 0, clipped.status, clipped.clip_fraction, clipped.values)
    assert [row["worse"] for row in worse] == [1, 1] and all(row["delta_sdr_db"] < 0 for row in worse)
    # Per clip fraction instead of per bin: the same figures, keyed by the fraction.
    by_fraction = table_of(clipped.truth, restored, clipped.status, clipped.clip_fraction, clipped.values,
                           per="clip_fraction")
    assert [row.pop("clip_fraction") for row in by_fraction] == [0.25, 0.5]
    assert by_fraction == [{key: value for key, value in row.items() if key != "bin"} for row in rows]


def test_the_ratio_to_the_spline_is_on_the_same_signals():
    rows = [{"record": record, "clip_fraction": 0.5, "method": method, "clipped_samples": 3, "rms_clipped": rms,
             "relative_l2": 0.1, "delta_sdr_db": 1.0, "worse": False, "peak_error_magnitude": 0.1,
             "peak_bias_magnitude": -0.1, "psa_error_log10": 0.1, "band_samples": None, "band_hits": None}
            for record, method, rms in (("a", "spline", 0.2), ("b", "spline", 0.4), ("c", "spline", 10.0),
                                        ("a", "model", 0.1), ("b", "model", 0.3))]
    table = score_table(rows, "clip_fraction")
    # The model restored a and b only: its median 0.2 over the spline's on a and b, 0.3.
    assert table["model"][0]["ratio_to_spline"] == pytest.approx(0.2 / 0.3)
    assert table["spline"][0]["ratio_to_spline"] == 1.0 and table["spline"][0]["signals"] == 3
    without_spline = score_table([row for row in rows if row["method"] == "model"], "clip_fraction")
    assert math.isnan(without_spline["model"][0]["ratio_to_spline"])


def test_clip_bins_hold_their_lower_edge_and_the_last_holds_one():
    assert [clip_bin(f) for f in (0.0, 0.1, 0.15, 0.3, 0.95, 1.0)] == [
        "0.0-0.1", "0.1-0.2", "0.1-0.2", "0.3-0.4", "0.9-1.0", "0.9-1.0"]


def test_the_writer_makes_markdown_and_csv_tables():
    assert markdown_table(["level", "a", "b"], [["0.3", "1", "2"]], align_right=True) == [
        "| level | a | b |", "|---|---:|---:|", "| 0.3 | 1 | 2 |"]
    assert csv_bytes(["x", "y", "z", "w"], [[0.1234567891, None, True, "text, quoted"]]) == (
        b'x,y,z,w\n0.123457,,1,"text, quoted"\n')


def test_the_figures_name_their_axes_in_words_with_units():
    scores = {"spline": [{"bin": "0.2-0.3", "median_rms_clipped": 0.1, "rms_clipped": 0.2, "delta_sdr_db": 3.0,
                          "ratio_to_spline": 1.0, "clip_fraction": 0.25, "median_peak_error_magnitude": 0.1,
                          "median_psa_error_log10": 0.05}]}
    row = compare.MethodRow("", "spline", None, "", {"regional": scores["spline"]})
    for panel in [*evaluation.panels(scores), *compare.panels([row], ["regional"])]:
        assert panel.xlabel == "clip level (fraction of the true peak)"
        assert " " in panel.ylabel and "_" not in panel.ylabel and ("(" in panel.ylabel or "÷" in panel.ylabel)
    assert compare.panels([row], ["regional"])[0].ylabel == "median RMS error on clipped samples ÷ spline's"


def test_evaluate_on_records_lists_every_record_level_and_method(tmp_path):
    """records.csv has a row per record, clip fraction and method; its figures are those the table
    sums up: per bin, the median of the records' rms_clipped and the count of records made worse."""
    for seed, name in ((3, "a.txt"), (4, "b.txt"), (5, "c.txt")):
        write_plain(tmp_path / name, loud_part(seed))
    done = seisclip(tmp_path, "evaluate", "--records", "a.txt", "b.txt", "c.txt", "--clip-fractions", "0.3", "0.6",
                    "--out-dir", "ev", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "records.csv" in done.stderr
    with open(tmp_path / "ev" / "records.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    methods = ["spline", "pocs", "aspade", "cwr", "clipped input"]
    assert [(row["record"], row["clip_fraction"], row["method"]) for row in rows] == [
        (record, level, method) for record in ("a.txt", "b.txt", "c.txt") for level in ("0.3", "0.6") for method in methods]
    metrics = json.loads((tmp_path / "ev" / "evaluation.json").read_text())["metrics"]
    for method in methods:
        for table_row, level in zip(metrics[method], ("0.3", "0.6")):
            mine = [row for row in rows if row["method"] == method and row["clip_fraction"] == level]
            assert np.median([float(row["rms_clipped"]) for row in mine]) == pytest.approx(
                table_row["median_rms_clipped"], rel=1e-5)
            assert sum(int(row["worse"]) for row in mine) == table_row["worse"]
            assert sum(int(row["clipped_samples"]) for row in mine) == table_row["clipped_samples"]
    unchanged = [row for row in rows if row["method"] == "clipped input"]
    assert all(row["worse"] == "0" and float(row["delta_sdr_db"]) == 0.0 for row in unchanged)
    assert all(float(row["rms_clipped"]) > 0 for row in unchanged)

    # The summary of the same evaluation, for a method given: a line per level and where the files are.
    summary = evaluation_summary(str(tmp_path / "ev"), method="pocs").splitlines()
    pocs = {row["bin"]: row for row in metrics["pocs"]}
    assert len(summary) == 4 and "pocs" in summary[0] and "spline" in summary[0]
    for line, bin_name in zip(summary[1:3], ("0.3-0.4", "0.6-0.7")):
        assert line.startswith(f"  clipped at {bin_name} of the peak: {pocs[bin_name]['ratio_to_spline']:.2f}")
        assert f"{pocs[bin_name]['worse']} of 3 made worse" in line
    assert summary[3] == (f"Full results in {tmp_path / 'ev'}/: evaluation.md (full table), evaluation.csv, "
                          "evaluation.png, records.csv (per record)")


def test_the_summary_shows_the_three_levels_nearest_a_quarter_a_half_and_most_of_the_peak():
    scores = [{"bin": f"{low / 10:.1f}-{(low + 1) / 10:.1f}"} for low in range(1, 10)]
    assert [score["bin"] for score in shown_scores(scores)] == ["0.2-0.3", "0.5-0.6", "0.8-0.9"]
    assert [score["bin"] for score in shown_scores(scores[:2])] == ["0.1-0.2", "0.2-0.3"]


def test_the_summary_of_something_else_is_one_error(tmp_path):
    (tmp_path / "evaluation.json").write_text('{"kind": "other"}')
    with pytest.raises(SeisclipError, match="not a seisclip evaluation"):
        evaluation_summary(str(tmp_path))
    (tmp_path / "evaluation.json").write_text('{"metrics": {"spline": []}}')
    with pytest.raises(SeisclipError, match="evaluation has no 'hybrid'"):
        evaluation_summary(str(tmp_path))
    done = seisclip(tmp_path, "evaluation-summary", "missing")
    assert done.returncode == 1 and done.stderr.strip().endswith("missing/evaluation.json: evaluation not found")


@pytest.mark.parametrize("new, old", [
    (["evaluate", "--records", "r.txt", "--clip-fractions", "0.3", "0.6"],
     ["evaluate", "--records", "r.txt", "--clip-levels", "0.3", "0.6"]),
    (["compare", "m", "--clip-fractions", "0.4"], ["compare", "m", "--clip-levels", "0.4"]),
    (["clip", "w.txt", "--fraction", "0.4", "--out", "c.txt"], ["clip", "w.txt", "--level", "0.4", "--out", "c.txt"]),
    (["restore", "r.txt", "--clip-counts", "900"], ["restore", "r.txt", "--clip-level", "900"]),
    (["adopt-model", "m", "--normalisation", "peak"], ["adopt-model", "m", "--scaling", "peak"]),
])
def test_the_older_flag_spellings_mean_the_same(new, old):
    parsed, aliased = build_parser().parse_args(new), build_parser().parse_args(old)
    assert {key: value for key, value in vars(parsed).items() if key != "action"} == {
        key: value for key, value in vars(aliased).items() if key != "action"}
    assert any(key in vars(parsed) for key in ("clip_fractions", "fraction", "clip_counts", "normalisation"))
