"""A record restored at its model's rate and given back at its own: which rates a model serves,
the clipped samples carried to the model's rate, and the restored signal brought back."""

from __future__ import annotations

import numpy as np
import pytest

from seisclip.api.rates import MAX_RATE_RATIO, Rates, at_model_rate, rates_of
from seisclip.api.signals import Signal, restore_signals
from seisclip.errors import SeisclipError
from seisclip.restore.baselines import enforce_clip_consistency
from seisclip.bank.clipping import runs_of
from seisclip.restore.methods import Band, Restoration, clip_bounded
from seisclip.restore.records import ClippedRecord, clipped_by_mask
from seisclip.restore.seismic import resampled
from seisclip.sets.labels import clip_signal

MODEL_HZ = 40.0


def test_a_model_serves_its_own_rate_and_faster_ones_up_to_the_ratio():
    assert rates_of(39.99999936, MODEL_HZ, "record", "trace A") == Rates(39.99999936, 39.99999936, 39.99999936)
    assert rates_of(100.0, MODEL_HZ, "record", "trace A") == Rates(100.0, MODEL_HZ, 100.0)
    assert rates_of(100.0, MODEL_HZ, "model", "trace A") == Rates(100.0, MODEL_HZ, MODEL_HZ)
    assert rates_of(MAX_RATE_RATIO * MODEL_HZ, MODEL_HZ, "record", "trace A").resampled
    for rate in (1.0, 20.0, 39.9, MAX_RATE_RATIO * MODEL_HZ + 1):
        with pytest.raises(SeisclipError, match=rf"^f.mseed: trace A is sampled at {rate:g} Hz; a model trained at "
                                                r"40 Hz restores records sampled at 40 to 200 Hz: --method "):
            rates_of(rate, MODEL_HZ, "record", "trace A", "f.mseed")
    # A classic method (no model) and an ASCII record (no rate) are restored as they come.
    assert rates_of(1.0, None, "record", "trace A") == Rates(1.0, 1.0, 1.0)
    assert rates_of(None, MODEL_HZ, "model", "record") == Rates(None, None, None)
    with pytest.raises(SeisclipError, match="output rate must be one of"):
        rates_of(100.0, MODEL_HZ, "native", "trace A")


def test_a_sample_at_the_models_rate_is_clipped_where_the_recorded_sample_nearest_to_it_is():
    values = np.zeros(50)
    values[20:24] = 900.0        # 200 to 230 ms at 100 Hz: the 40 Hz samples at 200 and 225 ms are nearest
    values[[5, 40]] = [-300.0, 100.0]
    record = clipped_by_mask(values, values == 900.0, "trace A")
    at_40 = at_model_rate(record, Rates(100.0, MODEL_HZ, 100.0), "trace A")
    assert at_40.values.size == 20 and (at_40.clip_high, at_40.clip_low) == (900.0, -900.0)
    assert np.flatnonzero(at_40.status).tolist() == [8, 9] and at_40.values[8] == at_40.values[9] == 900.0
    assert np.all(at_40.values[at_40.status == 0] < 900.0)   # the filtered samples, below the level


class Oracle:
    """A method that knows the truth at the model's rate: what a perfect network would restore."""

    name = "oracle"

    def __init__(self, truth_at_model_rate: np.ndarray):
        self.truth = truth_at_model_rate

    def restore_all(self, records: list[ClippedRecord]) -> list[Restoration]:
        (record,) = records
        assert record.values.size == self.truth.size   # restored at the model's rate
        return [Restoration(enforce_clip_consistency(self.truth, record.values, record.status, record.clip_high,
                                                     record.clip_low), self.name)]


def test_the_restored_signal_comes_back_to_the_records_rate_on_its_clipped_samples_only():
    rate = 100.0
    t = np.arange(6000) / rate
    truth = 4000 * np.sin(2 * np.pi * 1.3 * t) * np.exp(-((t - 30) / 12) ** 2) + 300 * np.sin(2 * np.pi * 4.1 * t)
    clipped, status = clip_signal(truth, 2000.0)
    record = ClippedRecord("trace A", clipped, status, 2000.0, -2000.0)
    (restored,) = restore_signals([Signal(record, rate, "trace A")], Oracle(resampled(truth, rate, MODEL_HZ, "truth")),
                                  MODEL_HZ)
    assert restored.rates == Rates(rate, MODEL_HZ, rate) and restored.output is record
    estimate, inside = restored.restoration.restored, status != 0
    assert estimate.size == truth.size and np.array_equal(estimate[~inside], clipped[~inside])
    # The truth's band lies far below 20 Hz: brought back, the estimate is close to the truth on the clipped
    # samples. What is left is at the runs' edges, where the unclipped samples at 40 Hz are filtered clipped
    # ones; a shift of one sample would err by 8 % of the peak.
    error = (estimate[inside] - truth[inside]) / np.abs(truth).max()
    assert np.sqrt(np.mean(error**2)) < 0.005 and np.max(np.abs(error)) < 0.05
    assert inside.sum() > 500


class BandedOracle(Oracle):
    """The oracle with a band of ± HALF_WIDTH counts around the truth, consistent with the clip levels at the model's rate."""

    name = "banded oracle"
    HALF_WIDTH = 300.0

    def restore_all(self, records: list[ClippedRecord]) -> list[Restoration]:
        (record,), (restoration,) = records, super().restore_all(records)
        lower, upper = clip_bounded(restoration.restored - self.HALF_WIDTH, restoration.restored + self.HALF_WIDTH,
                                    restoration.restored, record.status, record.clip_high, record.clip_low)
        return [Restoration(restoration.restored, self.name, lower=lower, upper=upper, band=Band("± 300 counts"))]


def test_a_band_comes_back_to_the_records_rate_with_its_description_and_held_to_the_clip_levels():
    rate = 100.0
    t = np.arange(6000) / rate
    truth = 4000 * np.sin(2 * np.pi * 1.3 * t) * np.exp(-((t - 30) / 12) ** 2) + 300 * np.sin(2 * np.pi * 4.1 * t)
    clipped, status = clip_signal(truth, 2000.0)
    record = ClippedRecord("trace A", clipped, status, 2000.0, -2000.0)
    (restored,) = restore_signals([Signal(record, rate, "trace A")],
                                  BandedOracle(resampled(truth, rate, MODEL_HZ, "truth")), MODEL_HZ)
    back = restored.restoration
    assert back.band == Band("± 300 counts") and back.lower.size == back.upper.size == truth.size
    np.testing.assert_array_equal(back.lower[status == 0], clipped[status == 0])
    np.testing.assert_array_equal(back.upper[status == 0], clipped[status == 0])
    assert np.all(back.lower[status > 0] >= 2000.0) and np.all(back.upper[status < 0] <= -2000.0)
    assert np.all(back.lower <= back.restored) and np.all(back.restored <= back.upper)
    # Inside the runs, away from the clip level, the band is the 40 Hz band interpolated: about ± 300 counts
    # (within a fifth where the 40 Hz band bends at the clip level or at a run's edge).
    deep = (status != 0) & (np.abs(back.restored) > 2400.0)
    width = back.upper[deep] - back.lower[deep]
    assert deep.sum() > 100 and np.allclose(width, 600.0, rtol=0.2) and abs(np.median(width) - 600.0) < 6.0
    # The amplitude table is at the record's rate, each run's interval from the band there.
    table = restored.amplitudes()
    assert table.rate_hz == rate and table.runs == len(runs_of(status > 0)) + len(runs_of(status < 0))
    assert all(row.interval_width_counts <= 600.0 * 1.2 for row in table.rows)
