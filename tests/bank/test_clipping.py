"""The clipping detector, seisclip.bank.clipping.detect_clipping: its ``import`` and ``restore``
presets and an explicit clip level, on records with no clipping, a clean plateau, a jittering
plateau, different levels on the two sides and back-to-zero clipping; and how restore and bank
import act on back-to-zero clipping."""

from __future__ import annotations

import numpy as np
import obspy
import pytest

from seisclip.bank.clipping import PRESETS, ClippedRun, detect_clipping, runs_of
from seisclip.bank.importing import EXCLUDED_BACK_TO_ZERO, read_all
from seisclip.bank.settings import ImportSettings
from seisclip.cli import main
from seisclip.errors import SeisclipError

from conftest import error_line, run_in_process

N = 2000


def sinusoid(amplitude: float = 5000.0, period: float = 80.0, noise: float = 20.0, seed: int = 0) -> np.ndarray:
    """Integer counts of a sinusoid with Gaussian noise."""
    t = np.arange(N)
    values = amplitude * np.sin(2 * np.pi * t / period) + np.random.default_rng(seed).normal(0, noise, N)
    return np.rint(values)


def event(seed: int = 0) -> np.ndarray:
    """Integer counts of a decaying 1.3 Hz wave at 40 Hz, peak about 5000, in noise."""
    t = np.arange(N)
    values = 5000 * np.exp(-t / 600) * np.sin(2 * np.pi * t / 31) + np.random.default_rng(seed).normal(0, 20, N)
    return np.rint(values)


def expected_status(truth: np.ndarray, high: float, low: float, min_run: int = 2) -> np.ndarray:
    """+1 where ``truth`` is at or beyond ``high``, -1 at or beyond ``low``, in runs of at least
    ``min_run`` (a lone sample at a level is a peak)."""
    status = (truth >= high).astype(np.int8) - (truth <= low).astype(np.int8)
    for start, stop in runs_of(status != 0):
        if stop - start < min_run:
            status[start:stop] = 0
    return status


def test_a_noisy_sinusoid_shows_no_clipping_under_either_preset():
    values = sinusoid()
    for preset in ("import", "restore"):
        found = detect_clipping(values, preset)
        assert not found.clipped and not found.back_to_zero and not found.constant
        assert found.runs == () and found.clipped_samples == 0 and found.longest_run == 0
        assert (found.clip_high, found.clip_low) == (None, None)
        np.testing.assert_array_equal(found.status, np.zeros(N, dtype=np.int8))
        assert found.status.dtype == np.int8 and found.quantum == 1.0


def test_a_quantised_smooth_peak_is_no_clipping_for_import_and_only_its_top_for_restore():
    # A slow oscillation sampled fast stays on its top value for many samples, but leaves it one
    # count at a time.
    values = np.rint(200 * np.sin(2 * np.pi * np.arange(N) / 1000.0))
    found = detect_clipping(values, "import")
    assert not found.clipped and found.runs == () and not found.back_to_zero
    # Restore misses no clipped sample: a flat top of two or more samples at the extreme is held
    # at or above its value, nothing more.
    restore = detect_clipping(values, "restore")
    assert set(np.flatnonzero(restore.status > 0)) == set(np.flatnonzero(values == 200))
    assert set(np.flatnonzero(restore.status < 0)) == set(np.flatnonzero(values == -200))
    assert (restore.clip_high, restore.clip_low) == (200.0, -200.0) and not restore.back_to_zero


def test_a_clean_clipped_plateau_is_found_whole_by_both_presets():
    truth = event()
    values = np.clip(truth, -3000, 3000)
    for preset in ("import", "restore"):
        expected = expected_status(truth, 3000, -3000, PRESETS[preset].min_run)
        found = detect_clipping(values, preset)
        np.testing.assert_array_equal(found.status, expected)
        assert found.runs == tuple(ClippedRun(start, stop, int(expected[start]))
                                   for start, stop in runs_of(expected != 0))
        assert len(found.runs) >= 10 and {run.side for run in found.runs} == {1, -1}
        assert (found.clip_high, found.clip_low) == (3000.0, -3000.0)
        assert found.clipped_samples == int(np.count_nonzero(expected))
        assert found.longest_run == max(run.length for run in found.runs) and not found.back_to_zero
    assert detect_clipping(values, "import").evidence()["clipped"]


def test_a_jittering_plateau_is_found_whole_with_a_tolerance_and_still_refused_by_import():
    # A digitiser whose last bits flicker at the rail: each clipped sample is up to 3 counts
    # inside it, one in four of them.
    truth = event()
    rng = np.random.default_rng(7)
    jitter = np.where(rng.random(N) < 0.25, rng.integers(1, 4, N), 0)
    values = np.clip(truth, -3000, 3000)
    clipped = np.abs(truth) >= 3000
    values[clipped] -= np.sign(values[clipped]) * jitter[clipped]
    assert np.any(values[clipped] != np.sign(values[clipped]) * 3000)
    # Exactly at the extremes, today's default, misses the jittered samples ...
    assert not np.all(detect_clipping(values, "restore").status[clipped] == np.sign(truth[clipped]))
    # ... a tolerance of the jitter's 3 counts finds every one, and adds only samples within 3
    # counts of the rail.
    found = detect_clipping(values, "restore", tolerance_counts=3)
    np.testing.assert_array_equal(found.status[clipped], np.sign(truth[clipped]))
    np.testing.assert_array_equal(found.status, expected_status(values, 2997, -2997))
    assert (found.clip_high, found.clip_low) == (2997.0, -2997.0)
    assert detect_clipping(values, "import").clipped


def test_different_levels_on_the_two_sides_are_found_each_on_its_own():
    truth = event()
    values = np.clip(truth, -4200, 2500)
    for preset in ("import", "restore"):
        expected = expected_status(truth, 2500, -4200, PRESETS[preset].min_run)
        found = detect_clipping(values, preset)
        np.testing.assert_array_equal(found.status, expected)
        assert (found.clip_high, found.clip_low) == (2500.0, -4200.0)
        assert {run.side for run in found.runs} == {1, -1}


def back_to_zero(baseline: float = 0.0) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A decaying wave on ``baseline`` whose samples beyond ±3000 counts from it dropped to the
    baseline, and those runs."""
    truth = event() + baseline
    beyond = np.abs(truth - baseline) >= 3000
    values = np.where(beyond, baseline, truth)
    return values, runs_of(beyond)


@pytest.mark.parametrize("baseline", [0.0, 1234.0])
def test_back_to_zero_clipping_is_found_and_reported_as_such(baseline):
    values, dropped = back_to_zero(baseline)
    assert len(dropped) >= 10
    for preset in ("import", "restore"):
        found = detect_clipping(values, preset)
        long_enough = [(start, stop) for start, stop in dropped if stop - start >= PRESETS[preset].min_run]
        assert found.back_to_zero and list(found.back_to_zero_runs) == long_enough
        assert "back-to-zero clipping" in found.back_to_zero_problem()
        evidence = found.evidence()
        assert evidence["clipped"] and evidence["back_to_zero_runs"] == len(long_enough)
        assert evidence["back_to_zero_samples"] == sum(stop - start for start, stop in long_enough)


def test_back_to_zero_does_not_fire_on_zero_crossings_quiet_stretches_or_a_record_resting_at_its_rail():
    """Nor on a trace wandering over a few counts, whose median is where it mostly is."""
    # A slow quantised wave stays on zero for many samples as it crosses it.
    slow = np.rint(50 * np.sin(2 * np.pi * np.arange(N) / 1000.0))
    assert max(stop - start for start, stop in runs_of(slow == 0)) > 2
    # A quiet stretch of exact zeros between two events.
    quiet = event()
    quiet[600:1400] = 0
    quiet[1400:1410] = [1, -2, 3, -5, 8, -13, 21, -34, 55, -89]
    # Resting clipped: the median is the rail.
    resting = np.clip(event() + 4000, None, 3000)
    assert np.median(resting) == 3000
    # A channel wandering over three counts (as some of the Apollo housekeeping channels ObsPy ships do).
    wander = 496 + np.random.default_rng(3).integers(-1, 2, N)
    for values in (slow, quiet, resting, wander, np.clip(event(), -3000, 3000), sinusoid()):
        for preset in ("import", "restore"):
            assert not detect_clipping(values, preset).back_to_zero
            assert not detect_clipping(values, preset, tolerance_counts=3).back_to_zero


def test_an_explicit_clip_level_marks_every_sample_at_or_beyond_it():
    values = np.array([0, 5, 9, 5, 0, -3, -9, -10, -2, 0, 9, 0.0])
    found = detect_clipping(values, clip_counts=9)
    np.testing.assert_array_equal(found.status, [0, 0, 1, 0, 0, 0, -1, -1, 0, 0, 1, 0])
    assert found.runs == (ClippedRun(2, 3, 1), ClippedRun(6, 8, -1), ClippedRun(10, 11, 1))
    assert (found.clip_high, found.clip_low) == (9.0, -9.0) and found.how == "clip_counts"
    assert found.longest_run == 2 and found.clipped_samples == 4
    with pytest.raises(SeisclipError, match="clip level must be positive"):
        detect_clipping(values, clip_counts=0)


def test_bad_settings_are_refused():
    with pytest.raises(SeisclipError, match="tolerance must be a finite number of counts >= 0"):
        detect_clipping(np.arange(10.0), tolerance_counts=-1)
    with pytest.raises(SeisclipError, match="at least 2 samples"):
        detect_clipping(np.arange(10.0), "import", min_run=1)
    with pytest.raises(ValueError, match="preset must be one of import, restore"):
        detect_clipping(np.arange(10.0), "strict")
    assert detect_clipping(np.full(20, 7.0)).constant and not detect_clipping(np.full(20, 7.0)).clipped
    assert detect_clipping(np.zeros(0)).status.size == 0


def write_plain(path, values) -> str:
    path.write_text("".join(f"{int(v)}\n" for v in values))
    return str(path.name)


@pytest.mark.bad_input("restore-back-to-zero")
def test_restore_refuses_a_back_to_zero_record_in_one_line_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    dropped = write_plain(tmp_path / "dropped.txt", back_to_zero()[0])
    line = error_line(capsys, main, ["restore", dropped, "--method", "spline", "--out", "out.txt"])
    assert line.startswith("seisclip restore: error: dropped.txt: shows back-to-zero clipping (")
    assert line.endswith("which seisclip does not restore")
    assert not (tmp_path / "out.txt").exists()
    # The same wave clipped at the rail instead is restored.
    clipped = write_plain(tmp_path / "clipped.txt", np.clip(event(), -3000, 3000))
    assert main(["restore", clipped, "--method", "spline", "--out", "out.txt", "--quiet"]) == 0
    capsys.readouterr()
    # In an archive run the record is marked failed with that line, and the others are restored.
    status, _, err = run_in_process(capsys, main, ["restore", clipped, dropped, "--method", "spline",
                                                   "--out-dir", "run", "--quiet"])
    assert status == 1
    assert any(line.startswith("restore: failed: dropped.txt: shows back-to-zero clipping (") for line in err), err
    assert err[-1].startswith("restore: restored 1, skipped 0 (unchanged since an earlier run), failed 1; "), err


@pytest.mark.bad_input("import-back-to-zero")
def test_bank_import_refuses_a_back_to_zero_trace_naming_the_reason(tmp_path):
    values, _ = back_to_zero()
    header = {"network": "XX", "station": "DROP", "channel": "HHZ", "sampling_rate": 40.0}
    stream = obspy.Stream([obspy.Trace(values.astype(np.int32), header=header),
                           obspy.Trace(event().astype(np.int32), header={**header, "station": "GOOD"})])
    stream.write(str(tmp_path / "two.mseed"), format="MSEED")
    report = read_all([str(tmp_path / "two.mseed")], ImportSettings(), progress=False)
    assert [trace.raw.station for trace in report.traces] == ["GOOD"]
    assert [(entry["id"], entry["reason"]) for entry in report.excluded] == [("XX.DROP..HHZ", EXCLUDED_BACK_TO_ZERO)]
    long_enough = [(start, stop) for start, stop in back_to_zero()[1] if stop - start >= 3]
    assert report.excluded[0]["clipping"]["back_to_zero_runs"] == len(long_enough)
