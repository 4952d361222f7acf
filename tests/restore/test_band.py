"""The hybrid's 90 % band (seisclip.restore.band): its rule against the clip levels, its
calibration file, calibrate-band, and the band the hybrid gives with the bundled model."""

import json
import shutil

import numpy as np
import pytest

from conftest import error_line, run_in_process
from seisclip.cli import main
from seisclip.errors import SeisclipError
from seisclip.learn.models import open_model
from seisclip.restore.band import (BAND_CALIBRATION_FILE, SELF_CHECK_MIN_SAMPLES, BandCalibration, SelfCheck,
                                   band_of, quantiles, signed_residuals, spread_of, widening)
from seisclip.restore.inference import ModelRestorer
from seisclip.restore.methods import clip_bounded
from seisclip.restore.records import ClippedRecord
from seisclip.restore.registry import build_method
from seisclip.sets.labels import clip_signal


def calibration(**changes) -> BandCalibration:
    fields = dict(model_sha256="a" * 64, lower_z=-0.5, upper_z=1.5, self_check_abs_z=1.0, clipped_samples=1000,
                  self_check_samples=800, records={"generator": "seisclip demo-bank", "seed": 7, "files": 2,
                                                   "clip_fractions": [0.5]}, run={})
    return BandCalibration(**{**fields, **changes})


def clipped_sine(fraction: float = 0.5, n: int = 400) -> tuple[np.ndarray, ClippedRecord]:
    truth = 1000 * np.sin(2 * np.pi * np.arange(n) / 40)
    values, status = clip_signal(truth, fraction * 1000)
    return truth, ClippedRecord("sine", values, status, fraction * 1000, -fraction * 1000)


def test_clip_bounded_keeps_unclipped_samples_exact_and_never_crosses_the_clip_level():
    status = np.array([0, 1, 1, -1, -1, 0], dtype=np.int8)
    restored = np.array([0.0, 12.0, 15.0, -12.0, -15.0, 3.0])
    lower = np.array([-5.0, 5.0, 14.0, -20.0, -18.0, 1.0])
    upper = np.array([5.0, 20.0, 16.0, -5.0, -14.0, 9.0])
    low, high = clip_bounded(lower, upper, restored, status, 10.0, -10.0)
    np.testing.assert_array_equal(low, [0.0, 10.0, 14.0, -20.0, -18.0, 3.0])
    np.testing.assert_array_equal(high, [0.0, 20.0, 16.0, -10.0, -14.0, 3.0])


def test_band_of_is_restored_plus_the_calibrated_multiples_of_the_spread_on_each_side():
    truth, record = clipped_sine()
    restored = np.where(record.status != 0, truth, record.values)
    spread = np.where(record.status != 0, 100.0, 0.0)
    lower, upper = band_of(record, restored, spread, 2.0, calibration())
    above, below = record.status > 0, record.status < 0
    # Above: restored − 2 × 0.5 × 100 (never under the clip level) to restored + 2 × 1.5 × 100.
    np.testing.assert_allclose(lower[above], np.maximum(restored[above] - 100.0, 500.0))
    np.testing.assert_allclose(upper[above], restored[above] + 300.0)
    # Below, mirrored: the far side is further from zero.
    np.testing.assert_allclose(lower[below], restored[below] - 300.0)
    np.testing.assert_allclose(upper[below], np.minimum(restored[below] + 100.0, -500.0))
    np.testing.assert_array_equal(lower[record.status == 0], record.values[record.status == 0])


def test_the_spread_is_the_largest_minus_the_smallest_estimate():
    np.testing.assert_array_equal(spread_of(np.array([1.0, 5.0]), np.array([3.0, 2.0]), np.array([2.0, 9.0])),
                                  [2.0, 7.0])


def test_signed_residuals_are_positive_where_the_truth_lies_beyond_the_restoration():
    status = np.array([1, 1, -1, 0], dtype=np.int8)
    truth = np.array([14.0, 11.0, -16.0, 2.0])
    restored = np.array([12.0, 12.0, -12.0, 2.0])
    spread = np.array([2.0, 0.0, 4.0, 0.0])
    np.testing.assert_allclose(signed_residuals(truth, restored, spread, status, status != 0), [1.0, 1.0])


def test_widening_never_narrows_and_needs_enough_known_samples():
    cal = calibration(self_check_abs_z=1.0)
    assert widening(np.full(SELF_CHECK_MIN_SAMPLES, 3.0), cal) == pytest.approx(3.0)
    assert widening(np.full(SELF_CHECK_MIN_SAMPLES, 0.2), cal) == 1.0
    assert widening(np.full(SELF_CHECK_MIN_SAMPLES - 1, 3.0), cal) == 1.0


def test_calibrated_quantiles_hold_at_least_90_percent_of_the_samples():
    residuals = np.random.default_rng(5).standard_t(3, size=997)
    low, high = quantiles(residuals)
    assert np.mean((residuals >= low) & (residuals <= high)) >= 0.9
    with pytest.raises(SeisclipError, match="too few"):
        quantiles(residuals[:9])


def test_a_self_check_clips_only_samples_the_record_shows():
    truth, record = clipped_sine()
    check = SelfCheck.of(record)
    assert 0 < check.record.clip_high < record.clip_high
    assert np.all(check.record.status[record.status != 0] == record.status[record.status != 0])
    assert check.known.any() and not np.any(check.known & (record.status != 0))
    assert np.all(np.abs(check.record.values) <= check.record.clip_high + 1e-9)


def test_a_calibration_file_reads_back_and_one_for_another_network_is_refused(tmp_path):
    cal = calibration()
    cal.write(tmp_path / BAND_CALIBRATION_FILE)
    assert BandCalibration.of_model(tmp_path, lambda: "a" * 64) == cal
    # Without a calibration the network is never hashed (a directory may have no model.keras to hash).
    assert BandCalibration.of_model(tmp_path / "elsewhere", lambda: pytest.fail("hashed")) is None
    with pytest.raises(SeisclipError, match="made for another network"):
        BandCalibration.of_model(tmp_path, lambda: "b" * 64)
    (tmp_path / BAND_CALIBRATION_FILE).write_text('{"kind": "something else"}')
    with pytest.raises(SeisclipError, match="unreadable band calibration"):
        BandCalibration.of_model(tmp_path, lambda: "a" * 64)


def test_the_bundled_reference_has_a_calibration_of_its_own_network():
    directory = open_model("reference")
    cal = BandCalibration.of_model(directory.path, directory.sha256)
    assert cal is not None and cal.lower_z < 0 < cal.upper_z
    assert cal.records["seed"] not in (19830924, 20261129)     # neither the demo bank nor the benchmark
    assert cal.band.calibrated and cal.band.label == "90 % band"


def test_the_hybrid_with_the_reference_gives_a_band_that_holds_its_restoration_and_respects_the_clip_level():
    restorer = ModelRestorer.of(open_model("reference").load())
    truth = 3000 * np.sin(2 * np.pi * np.arange(2048) / 37) * np.exp(-np.arange(2048) / 900)
    values, status = clip_signal(truth, 1200.0)
    record = ClippedRecord("decaying sine", values, status, 1200.0, -1200.0)
    restoration = build_method("hybrid", restorer).restore(record)
    assert restoration.band is not None and restoration.band.central_fraction == 0.9
    above, below, unclipped = status > 0, status < 0, status == 0
    assert np.all(restoration.lower[above] >= 1200.0) and np.all(restoration.upper[below] <= -1200.0)
    assert np.all(restoration.lower <= restoration.restored) and np.all(restoration.restored <= restoration.upper)
    np.testing.assert_array_equal(restoration.lower[unclipped], values[unclipped])
    assert np.any(restoration.upper[above] > restoration.restored[above])
    assert restoration.diagnostics["band_widening"] >= 1.0
    # Without a calibration beside the network, no band.
    restorer.band_calibration = None
    assert build_method("hybrid", restorer).restore(record).band is None


def test_calibrate_band_writes_a_calibration_the_hybrid_then_uses(tiny_model, tmp_path, capsys):
    model = tmp_path / "tiny"
    shutil.copytree(tiny_model, model)
    status, _, lines = run_in_process(capsys, main, ["calibrate-band", "--model", str(model), "--files", "2",
                                                     "--seed", "11", "--quiet"])
    assert status == 0, lines
    written = json.loads((model / BAND_CALIBRATION_FILE).read_text())
    assert written["records"] == {"generator": "seisclip demo-bank", "seed": 11, "files": 2,
                                  "clip_fractions": [0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95]}
    assert written["lower_z"] <= written["upper_z"] and written["clipped_samples"] > 0
    restorer = ModelRestorer.of(open_model(str(model)).load())
    assert restorer.band_calibration.records["seed"] == 11


@pytest.mark.bad_input("calibrate-band-exists")
def test_calibrate_band_never_overwrites_a_calibration(tiny_model, tmp_path, capsys):
    model = tmp_path / "tiny"
    shutil.copytree(tiny_model, model)
    (model / BAND_CALIBRATION_FILE).write_text("kept")
    line = error_line(capsys, main, ["calibrate-band", "--model", str(model), "--files", "1", "--quiet"])
    assert line.endswith(f"{model / BAND_CALIBRATION_FILE}: band calibration exists already; --overwrite replaces it")
    assert (model / BAND_CALIBRATION_FILE).read_text() == "kept"


@pytest.mark.bad_input("band-calibration-other-network")
def test_restoring_with_a_calibration_of_another_network_is_one_line(tiny_model, tmp_path, capsys):
    model = tmp_path / "tiny"
    shutil.copytree(tiny_model, model)
    calibration().write(model / BAND_CALIBRATION_FILE)
    record = tmp_path / "record.txt"
    truth = (1000 * np.sin(2 * np.pi * np.arange(256) / 20)).round()
    record.write_text("".join(f"{value:.0f}\n" for value in np.clip(truth, -600, 600)))
    line = error_line(capsys, main, ["restore", str(record), "--model", str(model), "--out", str(tmp_path / "out.txt")])
    assert line.endswith(f"{model / BAND_CALIBRATION_FILE}: band calibration was made for another network (model "
                         "sha256 differs): run `seisclip calibrate-band` on the model again")
    assert not (tmp_path / "out.txt").exists()
