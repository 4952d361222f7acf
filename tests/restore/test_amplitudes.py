"""The amplitude table: one row per clipped run, its restored peak, the peak's interval from the
band, and the flag rule on both sides of its share; a method without a band flags every run."""

from __future__ import annotations

import csv
import datetime
import io

import numpy as np
import pytest

from seisclip.restore.amplitudes import (COLUMNS, FLAG_INTERVAL_LOG10, NO_BAND, NOT_CALIBRATED, amplitude_table,
                                         flag_reason, format_amplitudes, table_of)
from seisclip.restore.methods import Band, Restoration
from seisclip.restore.records import ClippedRecord

BAND = Band("a constructed band", calibrated=True)


def constructed() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Restored samples, status and a band with two runs: above +5 (samples 1-4, peak 15 at 3)
    and below -5 (samples 7-9, peak -9 at 8)."""
    restored = np.array([0, 6, 12, 15, 11, 3, -2, -7, -9, -6, 0.0])
    status = np.array([0, 1, 1, 1, 1, 0, 0, -1, -1, -1, 0], dtype=np.int8)
    lower, upper = restored.copy(), restored.copy()
    lower[1:5], upper[1:5] = [5, 10, 13, 10], [7, 14, 18, 16]   # max lower 13, max upper 18
    lower[7:10], upper[7:10] = [-8, -12, -6], [-5, -8, -5]      # min lower -12, min upper -8
    return restored, status, lower, upper


def test_each_run_gives_its_signed_peak_and_the_interval_of_its_bounds_extremes():
    restored, status, lower, upper = constructed()
    table = amplitude_table(restored, status, 5.0, -5.0, lower, upper, BAND)
    above, below = table.rows
    assert (above.start_sample, above.stop_sample, above.sign, above.clip_level_counts) == (1, 5, 1, 5.0)
    assert (above.peak_sample, above.restored_peak_counts) == (3, 15.0)
    assert (above.interval_low_counts, above.interval_high_counts) == (13.0, 18.0)
    assert (above.interval_width_counts, above.excess_counts) == (5.0, 10.0)
    assert (below.start_sample, below.stop_sample, below.sign, below.clip_level_counts) == (7, 10, -1, -5.0)
    assert (below.peak_sample, below.restored_peak_counts) == (8, -9.0)
    assert (below.interval_low_counts, below.interval_high_counts) == (-12.0, -8.0)
    assert (below.interval_width_counts, below.excess_counts) == (4.0, 4.0)
    # 13 to 18 and 8 to 12: log10 spans of 0.14 and 0.18, neither above FLAG_INTERVAL_LOG10 (0.3).
    assert FLAG_INTERVAL_LOG10 == 0.3 and not above.flagged and not below.flagged
    assert (table.runs, table.flagged, table.band) == (2, 0, BAND)


def test_the_flag_rule_on_both_sides_of_its_threshold():
    restored, status, lower, upper = constructed()
    # The run above: 13 to 18, a log10 span of 0.1413.
    rows = {limit: amplitude_table(restored, status, 5.0, -5.0, lower, upper, BAND, flag_log10=limit).rows[0]
            for limit in (0.142, 0.141)}
    assert rows[0.142].flag_reason is None
    assert rows[0.141].flag_reason == "interval spans more than 0.141 in log10 amplitude"
    assert flag_reason(10.0, 19.9) is None                                # within a factor of 2
    assert flag_reason(10.0, 20.1) is not None
    assert flag_reason(-20.1, -10.0) is not None                          # a run below, mirrored
    assert flag_reason(-19.9, -10.0) is None
    assert flag_reason(0.0, 1.0) is not None                              # no lower end to the peak: unbounded ratio


def test_a_nominal_band_gives_intervals_but_flags_every_run():
    restored, status, lower, upper = constructed()
    table = amplitude_table(restored, status, 5.0, -5.0, lower, upper, Band("a nominal band"))
    assert [(row.interval_low_counts, row.interval_high_counts) for row in table.rows] == [(13.0, 18.0), (-12.0, -8.0)]
    assert {row.flag_reason for row in table.rows} == {NOT_CALIBRATED}


def test_a_method_without_a_band_flags_every_run_no_band():
    restored, status, _, _ = constructed()
    table = amplitude_table(restored, status, 5.0, -5.0)
    assert table.band is None and (table.runs, table.flagged) == (2, 2)
    assert all(row.flag_reason == NO_BAND and np.isnan(row.interval_low_counts) and np.isnan(row.interval_high_counts)
               for row in table.rows)
    assert [row.restored_peak_counts for row in table.rows] == [15.0, -9.0]


def test_a_run_clipped_above_then_below_at_once_is_two_runs_and_a_record_without_clipping_none():
    restored = np.array([0, 7, -8, 0.0])
    table = amplitude_table(restored, np.array([0, 1, -1, 0]), 5.0, -5.0, restored, restored, BAND)
    assert [(row.start_sample, row.stop_sample, row.sign, row.restored_peak_counts) for row in table.rows] == [
        (1, 2, 1, 7.0), (2, 3, -1, -8.0)]
    assert amplitude_table(restored, np.zeros(4), 5.0, -5.0).rows == []


def test_the_record_and_restoration_give_the_table_and_the_csv_names_its_columns_and_times():
    restored, status, lower, upper = constructed()
    record = ClippedRecord("r", np.clip(restored, -5, 5), status, 5.0, -5.0)
    start = datetime.datetime(1975, 12, 4, 19, 27)
    table = table_of(record, Restoration(restored, "test", lower=lower, upper=upper, band=BAND), rate_hz=40.0,
                     start_time=start)
    assert table.rows == amplitude_table(restored, status, 5.0, -5.0, lower, upper, BAND).rows
    untimed = table_of(record, Restoration(restored, "test"))
    text = format_amplitudes([("XX.BRV.00.SHZ", table), ("XX.BRV.00.SHN", untimed)]).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 4
    first = rows[0]
    assert (first["trace"], first["start_sample"], first["stop_sample"], first["sign"]) == ("XX.BRV.00.SHZ", "1", "5", "1")
    assert (first["start_time"], first["stop_time"], first["peak_time"]) == (
        "1975-12-04T19:27:00.025000Z", "1975-12-04T19:27:00.125000Z", "1975-12-04T19:27:00.075000Z")
    assert [float(first[key]) for key in ("clip_level_counts", "restored_peak_counts", "interval_low_counts",
                                          "interval_high_counts", "interval_width_counts", "excess_counts")] == [
        5, 15, 13, 18, 5, 10]
    assert (first["flagged"], first["flag_reason"]) == ("0", "")
    last = rows[3]
    assert (last["trace"], last["start_time"], last["flagged"], last["flag_reason"]) == ("XX.BRV.00.SHN", "", "1",
                                                                                       NO_BAND)
    assert np.isnan(float(last["interval_low_counts"]))


@pytest.mark.parametrize("limit", [0.1, 0.5])
def test_the_threshold_is_recorded_with_the_table(limit):
    restored, status, lower, upper = constructed()
    assert amplitude_table(restored, status, 5.0, -5.0, lower, upper, BAND, flag_log10=limit).flag_interval_log10 == limit
