"""The amplitude metrics: the peak's log10 error and bias, the PSA error, which ground motion a
record is, the band's coverage, and their columns in ``evaluate`` and ``compare``."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from seisclip.bank.records import ground_motion_of
from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.cli import main
from seisclip.evaluate import runs
from seisclip.evaluate.cache import Inputs, cached_evaluation
from seisclip.evaluate.metrics import SIGNAL_COLUMNS, ClippedSet, SignalScore, signal_psa, signal_rows
from seisclip.evaluate.scores import clip_bin, score_table
from seisclip.evaluate.spectra import PSA_DAMPING, PSA_PERIODS_S, acceleration_of, pseudo_spectral_acceleration
from seisclip.restore.methods import Band, Restoration, clip_bounded
from seisclip.restore.records import ClippedRecord
from seisclip.restore.registry import build_method

RATE = 40.0


def sinusoid_record(peak: float = 3.0, frequency_hz: float = 1.0, seconds: float = 200.0) -> np.ndarray:
    """A sinusoid ramped up and down over 60 s each, so that every oscillator reaches its steady state."""
    times = np.arange(0.0, seconds, 1 / RATE)
    envelope = np.clip(times / 60, 0, 1) * np.clip((seconds - times) / 60, 0, 1)
    return peak * np.sin(2 * np.pi * frequency_hz * times) * envelope


def test_the_peak_error_is_the_log10_ratio_of_the_peaks_and_its_bias_keeps_the_sign():
    truth = np.array([0.0, 2.0, 10.0, 3.0, -4.0, 1.0])
    status = np.array([0, 0, 1, 0, 0, 0])
    half = truth.copy()
    half[2] = 5.0   # the largest |sample| is now 5: half the true peak
    score = SignalScore.of(truth, half, status, np.minimum(truth, 5.0))
    assert score.peak_bias_magnitude == pytest.approx(math.log10(0.5))
    assert score.peak_error_magnitude == pytest.approx(math.log10(2.0))
    twice = truth.copy()
    twice[2] = -20.0   # the peak is |x|: a sign flip still counts its size
    assert SignalScore.of(truth, twice, status, half).peak_bias_magnitude == pytest.approx(math.log10(2.0))
    exact = SignalScore.of(truth, truth, status, half)
    assert exact.peak_bias_magnitude == exact.peak_error_magnitude == exact.psa_error_log10 == 0.0


def test_the_psa_of_a_sinusoid_is_the_steady_state_amplification():
    resonant = 12   # the sinusoid's period is the 13th oscillator's, 0.94 s
    acceleration = sinusoid_record(frequency_hz=1 / PSA_PERIODS_S[resonant])
    ratio = PSA_PERIODS_S / PSA_PERIODS_S[resonant]   # forcing frequency ÷ each oscillator's
    expected = 3.0 / np.sqrt((1 - ratio**2) ** 2 + (2 * PSA_DAMPING * ratio) ** 2)
    psa = pseudo_spectral_acceleration(acceleration, RATE)
    assert psa.shape == (20,) and PSA_PERIODS_S[0] == pytest.approx(0.1) and PSA_PERIODS_S[-1] == pytest.approx(2.0)
    np.testing.assert_allclose(np.log10(psa), np.log10(expected), atol=0.005)
    # At resonance the oscillator amplifies 1 / (2 × 5 %) = 10 times.
    assert psa[resonant] == pytest.approx(30.0, rel=0.01)


def test_a_record_scaled_twice_over_has_a_psa_error_of_log10_two_and_velocity_is_differentiated():
    truth = sinusoid_record(seconds=100.0)
    status = (np.abs(truth) > 2.0).astype(np.int8)
    score = SignalScore.of(truth, 2 * truth, status, np.clip(truth, -2.0, 2.0))
    assert score.psa_error_log10 == pytest.approx(math.log10(2.0), abs=1e-9)
    assert score.peak_bias_magnitude == pytest.approx(math.log10(2.0))
    # A velocity record's PSA is its derivative's; an accelerogram's its own.
    np.testing.assert_allclose(signal_psa(truth, "velocity"),
                               pseudo_spectral_acceleration(np.gradient(truth, 1 / RATE), RATE))
    np.testing.assert_allclose(signal_psa(truth, "acceleration"), pseudo_spectral_acceleration(truth, RATE))
    with pytest.raises(ValueError, match="ground motion"):
        acceleration_of(truth, "displacement", RATE)


@pytest.mark.parametrize("name, motion", [
    ("dev_records/teleseismic/AE.113A..BHE_2013-05-24T06_01_23.200000.txt", "velocity"),
    ("dev_records/strong_motion/BK.CMB.00.HNZ_2014-08-24T10_20_44.000000.txt", "acceleration"),
    ("data/day.mseed#IU.ANMO.00.HNE.20130524T060123", "acceleration"),
    ("data/day.mseed#IU.ANMO.10.LHZ.20130524T060123", "velocity"),
    ("bank.h5/GE.STU..ENZ.20130524T060123.000000Z", "acceleration"),
    ("bank.h5/GE.STU..EHZ.20130524T060123.000000Z", "velocity"),
    ("dev_records/generated/19671016.0943.BRV.SKM.s08N0.024.txtseg00000000", "velocity"),
    ("records/HNZ.txt", "velocity"),
])
def test_a_record_is_an_accelerogram_where_its_channel_has_instrument_code_n(name, motion):
    assert ground_motion_of(name) == motion


def test_the_band_counts_the_clipped_samples_whose_truth_it_holds_and_the_table_pools_them():
    truth = np.array([0.0, 6.0, 8.0, -7.0, 1.0])
    status = np.array([0, 1, 1, -1, 0])
    unrestored = np.clip(truth, -5.0, 5.0)
    restored = np.array([0.0, 5.5, 7.0, -6.0, 1.0])
    lower = np.array([1.0, 5.0, 7.5, -9.0, 2.0])    # the unclipped samples outside the band do not count
    upper = np.array([1.0, 6.5, 9.0, -8.0, 2.0])
    banded = SignalScore.of(truth, restored, status, unrestored, lower, upper)
    assert (banded.band_samples, banded.band_hits) == (3, 2)   # 6 and 8 inside, -7 above -8
    plain = SignalScore.of(truth, restored, status, unrestored)
    assert plain.band_samples is None and plain.band_hits is None
    with pytest.raises(ValueError, match="both"):
        SignalScore.of(truth, restored, status, unrestored, lower=lower)
    wide = SignalScore.of(truth, restored, status, unrestored, restored - 10, restored + 10)
    rows = signal_rows(["a", "b", "c"], [0.5, 0.5, 0.5], {"banded": [banded, wide, plain], "plain": [plain] * 3})
    assert list(rows[0]) == list(SIGNAL_COLUMNS)
    table = score_table(rows, "clip_fraction")
    # Pooled over the signals that have a band: (2 + 3) / (3 + 3).
    assert table["banded"][0]["band_coverage"] == pytest.approx(5 / 6)
    assert math.isnan(table["plain"][0]["band_coverage"])
    assert table["plain"][0]["median_peak_bias_magnitude"] == pytest.approx(math.log10(7 / 8))


class BandedPOCS:
    """POCS with a band of ± 2 % of the record's largest |sample| about it, made clip-consistent."""

    def __init__(self, method):
        self.method, self.name = method, method.name

    def restore(self, record) -> Restoration:
        restored = self.method.restore(record).restored
        spread = 0.02 * np.abs(record.values).max()
        lower, upper = clip_bounded(restored - spread, restored + spread, restored, record.status, record.clip_high,
                                    record.clip_low)
        return Restoration(restored, self.name, lower=lower, upper=upper, band=Band("± 2 % for a test"))


@pytest.fixture
def banded_pocs(monkeypatch):
    """``evaluate`` and ``compare`` building POCS with a band."""
    build = runs.build_methods

    def build_methods(names, *args, **kwargs):
        return {name: BandedPOCS(method) if name == "pocs" else method
                for name, method in build(names, *args, **kwargs).items()}

    monkeypatch.setattr(runs, "build_methods", build_methods)


class Bandless:
    """A method's restorations without their band."""

    def __init__(self, method):
        self.method, self.name = method, method.name

    def restore(self, record) -> Restoration:
        return Restoration(self.method.restore(record).restored, self.name)


@pytest.fixture
def no_band(monkeypatch):
    """``evaluate`` and ``compare`` building CWRΔt, the one classic method with a band, without it."""
    build = runs.build_methods

    def build_methods(names, *args, **kwargs):
        return {name: Bandless(method) if name == "cwr" else method
                for name, method in build(names, *args, **kwargs).items()}

    monkeypatch.setattr(runs, "build_methods", build_methods)


#: The methods with a band in these tests: POCS with BandedPOCS's, and CWRΔt with its own.
BANDED = ("pocs", "cwr")


def write_records(folder: Path, seeds=(31, 32)) -> list[str]:
    folder.mkdir(parents=True)
    for seed in seeds:
        values = synthetic_seismogram(np.random.default_rng(seed), 400)
        (folder / f"r{seed}.txt").write_text("".join(f"{v}\n" for v in values.tolist()))
    return [str(folder / f"r{seed}.txt") for seed in seeds]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def expected_hits(path: str, fraction: float, method: str = "pocs") -> tuple[int, int]:
    """The clipped samples of the record at ``fraction`` and those inside the band of ``method``
    (BandedPOCS's for "pocs"), counted here."""
    truth = np.loadtxt(path)
    clipped = ClippedSet.clip(truth[None, :], np.array([fraction]))
    record = ClippedRecord(path, clipped.values[0], clipped.status[0], clipped.clip_counts[0], -clipped.clip_counts[0])
    restoration = (BandedPOCS(build_method("pocs")) if method == "pocs" else build_method(method)).restore(record)
    inside = (restoration.lower <= truth) & (truth <= restoration.upper)
    mask = record.status != 0
    return int(mask.sum()), int(inside[mask].sum())


def test_evaluate_writes_the_amplitudes_and_the_coverage_of_the_methods_with_a_band(banded_pocs, tmp_path, capsys):
    paths = write_records(tmp_path / "records")
    assert main(["evaluate", "--records", *paths, "--clip-fractions", "0.4", "0.7", "--out-dir",
                 str(tmp_path / "ev"), "--quiet"]) == 0
    out = capsys.readouterr().out
    records = read_csv(tmp_path / "ev" / "records.csv")
    assert list(records[0])[-5:] == ["peak_error_magnitude", "peak_bias_magnitude", "psa_error_log10",
                                     "band_samples", "band_hits"]
    for row in records:
        if row["method"] in BANDED:
            assert (int(row["band_samples"]), int(row["band_hits"])) == expected_hits(
                row["record"], float(row["clip_fraction"]), row["method"])
        else:
            assert row["band_samples"] == row["band_hits"] == ""
        assert float(row["peak_error_magnitude"]) == pytest.approx(abs(float(row["peak_bias_magnitude"])), abs=1e-6)
    table = read_csv(tmp_path / "ev" / "evaluation.csv")
    for row in table:
        mine = [record for record in records
                if record["method"] == row["method"] and clip_bin(float(record["clip_fraction"])) == row["bin"]]
        assert float(row["median_psa_error_log10"]) == pytest.approx(
            np.median([float(record["psa_error_log10"]) for record in mine]), rel=1e-5)
        if row["method"] in BANDED:
            hits = [expected_hits(record["record"], float(record["clip_fraction"]), row["method"]) for record in mine]
            assert float(row["band_coverage"]) == pytest.approx(sum(h for _, h in hits) / sum(s for s, _ in hits),
                                                                rel=1e-5)
        else:
            assert row["band_coverage"] == "nan"
    assert "| clip level | clipped samples | pocs band coverage | cwr band coverage |" in out
    assert "| clip level | signals | spline peak error |" in out


def test_compare_prints_the_peak_and_psa_errors_per_family_and_the_coverage_per_family_and_level(
        tiny_model, banded_pocs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    paths = write_records(tmp_path / "dev" / "regional")
    assert main(["compare", str(tiny_model), "--records", *paths, "--clip-fractions", "0.4", "0.7", "--quiet",
                 "--out-dir", "cmp"]) == 0
    out = capsys.readouterr().out
    assert "## Peak and PSA errors per family" in out and "## The band's coverage per family and clip level" in out
    assert "## regional: 2 record files" not in out   # the per-level tables are in compare.md only
    coverage = [line for line in out.splitlines() if line.startswith("| regional | ")]
    assert [line.split(" | ")[1] for line in coverage] == ["0.4", "0.7"]
    for line, fraction in zip(coverage, (0.4, 0.7)):
        shares = []
        for method in BANDED:
            hits = [expected_hits(path, fraction, method) for path in paths]
            shares.append(f"{100 * sum(h for _, h in hits) / sum(s for s, _ in hits):.1f} %")
        assert line == f"| regional | {fraction:g} | {' | '.join(shares)} |"
    assert "| family | clip level | POCS | CWRΔt |" in out
    rows = {(row["model"], row["method"], row["clip_fraction"]): row for row in read_csv(tmp_path / "cmp" / "compare.csv")}
    assert math.isnan(float(rows["", "spline", "0.4"]["band_coverage"]))
    assert 0 <= float(rows["", "pocs", "0.4"]["band_coverage"]) <= 1
    for key in (("tiny", "hybrid", "0.7"), ("", "clipped input", "0.4")):
        assert float(rows[key]["median_peak_error_magnitude"]) >= 0 and float(rows[key]["median_psa_error_log10"]) >= 0
    # The clipped input's peak is its clip level: its error is -log10 of the fraction, on every record.
    assert float(rows["", "clipped input", "0.4"]["median_peak_bias_magnitude"]) == pytest.approx(math.log10(0.4),
                                                                                                abs=1e-6)
    markdown = (tmp_path / "cmp" / "compare.md").read_text()
    assert markdown.startswith(out.rstrip("\n")) and "Median PSA error (log10); the lowest in bold:" in markdown
    peak_table = markdown.split("Peak error: ", 1)[1].split("\n\n")[1].splitlines()
    assert peak_table[0] == "| method | regional |"
    clipped_input = next(line for line in peak_table if line.startswith("| clipped input |"))
    assert clipped_input == f"| clipped input | {-math.log10(0.4) / 2 - math.log10(0.7) / 2:.3f} " \
                            f"({math.log10(0.4) / 2 + math.log10(0.7) / 2:+.3f}) |"


def test_compare_without_a_band_says_so_and_its_cache_is_keyed_by_the_rows_columns(
        tiny_model, no_band, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    paths = write_records(tmp_path / "dev" / "regional", seeds=(33,))
    assert main(["compare", str(tiny_model), "--records", *paths, "--clip-fractions", "0.5", "--quiet",
                 "--out-dir", "cmp"]) == 0
    assert "No band: none of the compared methods gives one." in capsys.readouterr().out
    inputs = Inputs({"regional": paths}, {paths[0]: "0" * 64}, [0.5], None, None)
    key = inputs.key()
    assert key["row_columns"] == list(SIGNAL_COLUMNS)
    # Rows written before a column existed are never read as today's.
    older = {**key, "row_columns": list(SIGNAL_COLUMNS[:8])}
    assert cached_evaluation("cache", "baselines", older).path != cached_evaluation("cache", "baselines", key).path
