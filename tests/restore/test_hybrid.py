"""The hybrid restoration: the network blended with POCS on the clipped runs where the record is
rough, the spline where it is smooth, chosen by the roughness of each run's neighbourhood."""

from __future__ import annotations

import numpy as np
import pytest

from seisclip.bank.clipping import runs_of
from seisclip.restore.baselines import restore_pocs, restore_spline
from seisclip.restore.hybrid import (DOUBTED_SPLINE_SHARE, NETWORK_SHARE, SMOOTH_ROUGHNESS, SPLINE_DOUBT_RATIO,
                                      blend_for_rough_runs, combine_by_smoothness, roughness, smooth_runs,
                                      spline_shares)
from seisclip.restore.records import ClippedRecord
from seisclip.restore.registry import build_method


@pytest.mark.parametrize("period", [4.0, 10.0, 31.0, 400.0])
def test_the_roughness_of_a_sinusoid_is_two_sines_of_pi_over_its_period(period):
    samples = np.sin(2 * np.pi * np.arange(4000) / period + 0.3)
    assert roughness(samples, np.ones(samples.size, dtype=bool)) == pytest.approx(2 * np.sin(np.pi / period), rel=1e-2)


def test_roughness_reads_only_the_unclipped_samples():
    slow = np.sin(2 * np.pi * np.arange(2000) / 200.0)
    noisy = slow.copy()
    known = np.ones(slow.size, dtype=bool)
    noisy[500:600] = np.random.default_rng(3).normal(size=100) * 5
    known[495:605] = False
    assert roughness(noisy, known) == pytest.approx(roughness(slow, np.ones(slow.size, dtype=bool)), rel=0.05)
    assert roughness(noisy, np.ones(slow.size, dtype=bool)) > 10 * roughness(slow, np.ones(slow.size, dtype=bool))
    assert roughness(slow[:5], np.ones(5, dtype=bool)) == float("inf")


def two_regimes() -> tuple[np.ndarray, np.ndarray, float]:
    """A slow wave (period 400 samples) then a fast one (period 8), clipped at 70 % of the peak:
    (truth, status, clip level)."""
    time = np.arange(6000)
    truth = np.where(time < 3000, np.sin(2 * np.pi * time / 400.0), 0.9 * np.sin(2 * np.pi * time / 8.0 + 0.4))
    level = 0.7
    return truth, (truth >= level).astype(np.int8) - (truth <= -level).astype(np.int8), level


def test_runs_of_the_slow_wave_take_the_spline_and_runs_of_the_fast_one_the_network_and_pocs():
    truth, status, level = two_regimes()
    values = np.clip(truth, -level, level)
    # Marks the spline never gives: the network 0.123 beyond the clip level, POCS 0.456.
    network = np.where(status != 0, np.sign(values) * (level + 0.123), values)
    pocs = np.where(status != 0, np.sign(values) * (level + 0.456), values)
    spline = restore_spline(values, status, level, -level)
    hybrid = combine_by_smoothness(values, status, level, -level, network, spline, pocs).restored
    smooth = smooth_runs(values, status)
    runs = runs_of(status != 0)
    # Runs whose neighbourhood (three times their length on each side) lies in one regime.
    slow_runs = [(start, stop) for start, stop in runs if stop + 3 * (stop - start) <= 3000]
    fast_runs = [(start, stop) for start, stop in runs if start >= 3050]
    assert slow_runs and fast_runs
    for start, stop in slow_runs:
        assert smooth[start:stop].all()
        np.testing.assert_array_equal(hybrid[start:stop], spline[start:stop])
    for start, stop in fast_runs:
        assert not smooth[start:stop].any()
        np.testing.assert_allclose(hybrid[start:stop], np.sign(values[start:stop]) * (level + 0.8 * 0.123 + 0.2 * 0.456))
    np.testing.assert_array_equal(hybrid[status == 0], values[status == 0])
    assert not smooth[status == 0].any()
    # The spline, right on the slow wave, is far better there than the clip level.
    slow = np.zeros(truth.size, dtype=bool)
    for start, stop in slow_runs:
        slow[start:stop] = True
    assert np.abs(hybrid - truth)[slow].max() < 0.2 * np.abs(values - truth)[slow].max()
    assert SMOOTH_ROUGHNESS > 2 * np.sin(np.pi / 400.0) and SMOOTH_ROUGHNESS < 2 * np.sin(np.pi / 8.0)


@pytest.mark.parametrize("blend_excess", [0.02, 0.15])
def test_a_smooth_runs_spline_rising_far_above_the_blend_keeps_only_its_doubted_share(blend_excess):
    truth, status, level = two_regimes()
    values = np.clip(truth, -level, level)
    marked = np.where(status != 0, np.sign(values) * (level + blend_excess), values)
    spline = restore_spline(values, status, level, -level)
    hybrid = combine_by_smoothness(values, status, level, -level, marked, spline, marked).restored
    shares = spline_shares(values, status, level, -level, spline, marked)
    slow_runs = [(start, stop) for start, stop in runs_of(status != 0) if stop + 3 * (stop - start) <= 3000]
    for start, stop in slow_runs:
        spline_excess = np.max(np.abs(spline[start:stop])) - level
        # The slow wave rises 0.3 beyond the clip level; the spline follows it closely.
        assert spline_excess == pytest.approx(0.3, abs=0.02)
        doubted = spline_excess >= SPLINE_DOUBT_RATIO * blend_excess
        assert doubted == (blend_excess == 0.02)
        share = DOUBTED_SPLINE_SHARE if doubted else 1.0
        np.testing.assert_array_equal(shares[start:stop], share)
        np.testing.assert_allclose(hybrid[start:stop], share * spline[start:stop] + (1 - share) * marked[start:stop])
    assert not shares[status == 0].any()


def test_the_hybrid_is_clip_consistent():
    truth, status, level = two_regimes()
    values = np.clip(truth, -level, level)
    below_level = np.where(status != 0, 0.0, values)   # a network estimate inside the clip levels
    hybrid = combine_by_smoothness(values, status, level, -level, below_level, below_level, below_level).restored
    assert (hybrid[status > 0] >= level).all() and (hybrid[status < 0] <= -level).all()


def test_the_hybrid_needs_a_model():
    truth, status, level = two_regimes()
    record = ClippedRecord("r.txt", np.clip(truth, -level, level), status, level, -level)
    with pytest.raises(Exception, match="'hybrid' needs --model"):
        build_method("hybrid").restore(record)


def test_restore_gives_the_rough_runs_the_networks_share_and_pocs_the_rest(tiny_model):
    from seisclip.learn.models import load_any_model
    from seisclip.restore.inference import ModelRestorer

    truth, status, level = two_regimes()
    record = ClippedRecord("r.txt", np.clip(truth, -level, level), status, level, -level)
    restorer = ModelRestorer.of(load_any_model(str(tiny_model)))
    network = build_method("model", restorer).restore(record)
    hybrid = build_method("hybrid", restorer).restore(record)
    rough = (status != 0) & ~smooth_runs(record.values, status)
    assert rough.any()
    blend = NETWORK_SHARE * network.restored + (1 - NETWORK_SHARE) * restore_pocs(record.values, status, level, -level)
    np.testing.assert_allclose(blend, blend_for_rough_runs(network.restored, restore_pocs(record.values, status, level, -level)))
    expected = np.where(status > 0, np.maximum(blend, level), np.minimum(blend, -level))
    np.testing.assert_allclose(hybrid.restored[rough], expected[rough])
    np.testing.assert_allclose(hybrid.window_spread[rough], NETWORK_SHARE * network.window_spread[rough])
    # Elsewhere the network has (1 - the spline's share) of the blend: none on a trusted smooth run.
    shares = spline_shares(record.values, status, level, -level, restore_spline(record.values, status, level, -level), blend)
    np.testing.assert_allclose(hybrid.window_spread, (1 - shares) * NETWORK_SHARE * network.window_spread)
    assert not hybrid.window_spread[shares == 1].any()
