"""CWRΔt (after Edwards et al. 2025): its error and band on a band-limited signal, the band's
rules, determinism, and records that are short, unclipped or clipped at their ends."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import seisclip

from seisclip.bank.clipping import runs_of
from seisclip.restore.cwr import (REALISATION_SPREAD, REALISATIONS, SEGMENT_MIN_SAMPLES, SEGMENT_RUN_MULTIPLE,
                                  corner_period_samples, realisations, segment_samples)
from seisclip.restore.records import ClippedRecord
from seisclip.restore.registry import REGISTRY, build_method


def sum_of_sinusoids(seed: int = 3, samples: int = 2400) -> np.ndarray:
    """Six sinusoids of 0.5 to 2.5 Hz at 40 Hz, of random amplitudes and phases."""
    rng = np.random.default_rng([seed])
    t = np.arange(samples) / 40.0
    frequency, amplitude, phase = rng.uniform(0.5, 2.5, 6), rng.uniform(0.4, 1.0, 6), rng.uniform(0, 2 * np.pi, 6)
    return (amplitude[:, None] * np.sin(2 * np.pi * frequency[:, None] * t + phase[:, None])).sum(axis=0)


def clipped_record(truth: np.ndarray, fraction: float, low_fraction: float | None = None) -> ClippedRecord:
    peak = np.abs(truth).max()
    high, low = fraction * peak, -(fraction if low_fraction is None else low_fraction) * peak
    status = (truth > high).astype(np.int8) - (truth < low).astype(np.int8)
    return ClippedRecord("test", np.clip(truth, low, high), status, high, low)


def restore(record: ClippedRecord):
    return build_method("cwr").restore(record)


def test_cwr_restores_a_band_limited_signal_clipped_at_half_its_peak_within_its_band():
    """The issue's acceptance: error ≤ 5 % of the peak, the band holding ≥ 80 % of the clipped
    samples' truth. Measured: 0.032 and 99.3 % on this signal; over seeds 0–19, 0.008 to 0.032
    and 94.5 to 100 %."""
    truth = sum_of_sinusoids()
    record = clipped_record(truth, 0.5)
    restoration = restore(record)
    clipped = record.clipped
    error = np.sqrt(np.mean((restoration.restored - truth)[clipped] ** 2)) / np.abs(truth).max()
    held = np.mean((restoration.lower[clipped] <= truth[clipped]) & (truth[clipped] <= restoration.upper[clipped]))
    input_error = np.sqrt(np.mean((record.values - truth)[clipped] ** 2)) / np.abs(truth).max()
    assert clipped.sum() > 200 and input_error > 0.1
    assert error <= 0.05
    assert held >= 0.8


def test_the_band_obeys_the_clip_levels_and_is_exact_on_unclipped_samples():
    record = clipped_record(sum_of_sinusoids(5), 0.6, 0.4)
    restoration = restore(record)
    above, below, unclipped = record.status > 0, record.status < 0, record.status == 0
    assert above.any() and below.any()
    assert np.all(restoration.lower[above] >= record.clip_high)
    assert np.all(restoration.upper[below] <= record.clip_low)
    assert np.all(restoration.lower <= restoration.restored) and np.all(restoration.restored <= restoration.upper)
    for bound in (restoration.restored, restoration.lower, restoration.upper):
        np.testing.assert_array_equal(bound[unclipped], record.values[unclipped])
    assert np.all(restoration.restored[above] >= record.clip_high)
    assert np.all(restoration.restored[below] <= record.clip_low)
    spread = restoration.diagnostics[REALISATION_SPREAD]
    assert np.all(spread[unclipped] == 0) and np.median(spread[record.clipped]) > 0
    assert restoration.band.central_fraction == 0.9 and not restoration.band.calibrated
    assert restoration.band.label == "nominal 90 % band (not calibrated)"


def test_the_restoration_is_the_mean_of_offset_realisations_that_differ():
    record = clipped_record(sum_of_sinusoids(7), 0.5)
    estimates = realisations(record.values, record.status, record.clip_high, record.clip_low,
                             segment_samples(record.values, record.status))
    assert estimates.shape == (REALISATIONS, record.values.size)
    assert not np.array_equal(estimates[0], estimates[1])
    np.testing.assert_allclose(restore(record).restored, estimates.mean(axis=0))


def test_the_same_record_restores_identically():
    record = clipped_record(sum_of_sinusoids(9), 0.4)
    first, second = restore(record), build_method("cwr").restore(clipped_record(sum_of_sinusoids(9), 0.4))
    for name in ("restored", "lower", "upper"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))


def test_the_corner_period_of_a_sinusoid_is_its_period():
    t = np.arange(4000)
    assert corner_period_samples(np.sin(2 * np.pi * t / 50)) == pytest.approx(50, rel=0.02)
    assert corner_period_samples(np.zeros(100)) == 4.0   # a constant record: the shortest period allowed


def test_segments_hold_the_longest_run_and_fit_the_record():
    t = np.arange(4000)
    record = clipped_record(np.sin(2 * np.pi * t / 50), 0.99)   # short runs: the corner period decides
    assert segment_samples(record.values, record.status) == pytest.approx(8 * 50, rel=0.02)
    record = clipped_record(np.sin(2 * np.pi * t / 20) * (t > 1000) * (t < 1040) + 0.001 * np.sin(t), 0.05)
    longest = max(stop - start for start, stop in runs_of(record.clipped))
    assert segment_samples(record.values, record.status) >= max(SEGMENT_RUN_MULTIPLE * longest, SEGMENT_MIN_SAMPLES)
    short = clipped_record(np.sin(2 * np.pi * np.arange(40) / 20), 0.5)
    assert segment_samples(short.values, short.status) == 20   # half the record


@pytest.mark.parametrize("samples", [2, 5, 40])
def test_a_short_record_restores_consistently(samples):
    truth = np.sin(2 * np.pi * np.arange(samples) / 20 + 0.4)
    record = clipped_record(truth, 0.5)
    assert record.clipped.any()
    restoration = restore(record)
    assert np.all(np.isfinite(restoration.restored))
    assert np.all(restoration.restored[record.status > 0] >= record.clip_high)
    assert np.all(restoration.restored[record.status < 0] <= record.clip_low)
    np.testing.assert_array_equal(restoration.restored[~record.clipped], record.values[~record.clipped])


def test_a_record_without_clipped_samples_comes_back_with_a_band_of_no_width():
    values = sum_of_sinusoids(11)
    restoration = restore(ClippedRecord("none", values, np.zeros(values.size, dtype=np.int8), 10.0, -10.0))
    for bound in (restoration.restored, restoration.lower, restoration.upper):
        np.testing.assert_array_equal(bound, values)


def test_runs_at_the_record_ends_stay_at_their_clip_level_with_a_one_sided_band():
    t = np.arange(900)
    record = clipped_record(np.cos(2 * np.pi * t / 300) - 0.2 * np.cos(2 * np.pi * t / 75), 0.6)
    runs = runs_of(record.clipped)
    assert runs[0][0] == 0 and runs[-1][1] == t.size and len(runs) > 2
    restoration = restore(record)
    for start, stop in (runs[0], runs[-1]):
        np.testing.assert_array_equal(restoration.restored[start:stop], record.values[start:stop])
        np.testing.assert_array_equal(restoration.lower[start:stop], record.clip_high)
        assert np.all(restoration.upper[start:stop] == np.inf)
    assert all(np.any(restoration.restored[start:stop] != record.values[start:stop]) for start, stop in runs[1:-1])
    assert all(np.all(np.isfinite(restoration.upper[start:stop])) for start, stop in runs[1:-1])


def test_a_record_clipped_throughout_stays_at_its_levels():
    values = np.array([5.0, 5.0, -5.0, -5.0, 5.0])
    record = ClippedRecord("rail", values, np.sign(values).astype(np.int8), 5.0, -5.0)
    restoration = restore(record)
    np.testing.assert_array_equal(restoration.restored, values)
    assert np.all(np.isinf(np.where(record.status > 0, restoration.upper, restoration.lower)))


def test_cwr_is_registered_after_aspade_and_restores_an_ascii_record(tmp_path):
    assert list(REGISTRY).index("cwr") == list(REGISTRY).index("aspade") + 1
    assert REGISTRY["cwr"].summary.startswith("CWRΔt after Edwards et al. 2025: ")
    truth = np.rint(1000 * sum_of_sinusoids(13, 1200))
    (tmp_path / "wave.txt").write_text("".join(f"{value:g}\n" for value in truth))
    clipped = seisclip(tmp_path, "clip", "wave.txt", "--fraction", "0.5", "--out", "clipped.txt")
    assert clipped.returncode == 0, clipped.stderr
    done = seisclip(tmp_path, "restore", "clipped.txt", "--method", "cwr", "--out", "restored.txt")
    assert done.returncode == 0, done.stderr
    assert "with cwr" in done.stderr + done.stdout
    table = np.loadtxt(tmp_path / "restored.txt", skiprows=1)
    status = table[:, 2]
    assert np.abs(table[status != 0, 3] - truth[status != 0]).max() < np.abs(table[status != 0, 1]
                                                                              - truth[status != 0]).max()
    help_text = seisclip(tmp_path, "restore", "--help").stdout
    assert "cwr: CWRΔt after Edwards et al. 2025" in " ".join(help_text.split())
