"""A restored record's amplitude table: one row per clipped run, with the restored peak, the
interval the method's band gives that peak, and a flag where the method cannot vouch for it.

What clipping takes away is the peak amplitude a magnitude, PGA or PGV is read from, so each run
is reported by what it restores there:

* **restored peak** (signed, counts): the restored sample furthest beyond the clip level, the
  largest of a run clipped above, the smallest of one clipped below;
* **its interval**: for a run clipped above, from the largest lower bound over the run to the
  largest upper bound (the peak of every signal the band holds lies between the two); mirrored
  for a run clipped below, from the smallest lower bound to the smallest upper bound;
* **flag**: where the interval spans more than :data:`FLAG_INTERVAL_LOG10` in log10 of the
  amplitude, i.e. in magnitude units (its high end over its low end, both beyond the clip level),
  and on every run of a method that gives no band (:data:`NO_BAND`) or a nominal one
  (:data:`NOT_CALIBRATED`): there the method does not know the peak well enough to read a
  magnitude from it.

:func:`amplitude_table` builds it from arrays (to measure the flag rule on many records),
:func:`table_of` from a record and its restoration; :func:`format_amplitudes` writes it as CSV,
``<output>.amplitudes.csv`` beside every restored output (:mod:`.naming`).
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass

import numpy as np

from ..bank.clipping import runs_of
from .methods import Band, Restoration
from .records import ClippedRecord

#: A run is flagged where its peak's interval spans more than this in log10 of the amplitude:
#: 0.3 is a factor of 2, a peak known no better than a magnitude's usual scatter between stations.
#: Compared with 0.1 and 0.2 on the band's calibration records (generated, not the development
#: set), it is the one that flags at most 20 % of their runs at 40 % and 70 % clipping, whose
#: flagged runs' peaks err 3 times the unflagged ones' at 40 %. The rule the issue first suggested,
#: the interval's width against the restored excess over the clip level, flagged 80–99 % of runs
#: at 1 times the excess, and its flagged runs erred no more than the others.
FLAG_INTERVAL_LOG10 = 0.3
#: The flag of every run of a method without a band, and of one whose band is nominal, not
#: calibrated to hold the truth (CWRΔt's realisations' spread): neither says how far off the peak may be.
NO_BAND = "no band"
NOT_CALIBRATED = "band not calibrated"

#: The CSV's columns, in order (docs/restoration.md, "Amplitude table").
COLUMNS = ("trace", "start_sample", "stop_sample", "start_time", "stop_time", "sign", "clip_level_counts",
           "peak_sample", "peak_time", "restored_peak_counts", "interval_low_counts", "interval_high_counts",
           "interval_width_counts", "excess_counts", "flagged", "flag_reason")


@dataclass(frozen=True)
class AmplitudeRow:
    """One clipped run: samples ``start_sample`` to ``stop_sample`` (excluded, as
    ``clipped_runs``), clipped on side ``sign`` (+1 above, −1 below) at ``clip_level_counts``;
    its restored peak at ``peak_sample``; the peak's interval (NaN without a band); and
    ``flag_reason``, None where the method vouches for the peak."""

    start_sample: int
    stop_sample: int
    sign: int
    clip_level_counts: float
    peak_sample: int
    restored_peak_counts: float
    interval_low_counts: float
    interval_high_counts: float
    flag_reason: str | None

    @property
    def flagged(self) -> bool:
        return self.flag_reason is not None

    @property
    def interval_width_counts(self) -> float:
        return self.interval_high_counts - self.interval_low_counts

    @property
    def excess_counts(self) -> float:
        """How far the restored peak lies beyond the clip level."""
        return abs(self.restored_peak_counts - self.clip_level_counts)


@dataclass(frozen=True)
class AmplitudeTable:
    """A record's rows, in order of their runs; what the interval is (``band``, None without one);
    the threshold that flagged them; and where known the rate (Hz) and the first sample's time (UTC),
    which give each row its times."""

    rows: list[AmplitudeRow]
    band: Band | None
    flag_interval_log10: float = FLAG_INTERVAL_LOG10
    rate_hz: float | None = None
    start_time: datetime.datetime | None = None

    @property
    def runs(self) -> int:
        return len(self.rows)

    @property
    def flagged(self) -> int:
        return sum(row.flagged for row in self.rows)

    def time_of(self, sample: int) -> str:
        """The UTC time of ``sample`` (ISO 8601), or "" where the record's start or rate is unknown."""
        if self.start_time is None or self.rate_hz is None:
            return ""
        return (self.start_time + datetime.timedelta(seconds=sample / self.rate_hz)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def flag_reason(interval_low: float, interval_high: float, flag_log10: float = FLAG_INTERVAL_LOG10) -> str | None:
    """Why a run's peak is flagged (None: it is not): no finite interval, or one that spans more
    than ``flag_log10`` in log10 of the amplitude."""
    if not (np.isfinite(interval_low) and np.isfinite(interval_high)):
        return NO_BAND
    near, far = sorted((abs(interval_low), abs(interval_high)))
    if near <= 0 or np.log10(far / near) > flag_log10:
        return f"interval spans more than {flag_log10:g} in log10 amplitude"
    return None


def amplitude_table(restored: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
                    lower: np.ndarray | None = None, upper: np.ndarray | None = None, band: Band | None = None,
                    flag_log10: float = FLAG_INTERVAL_LOG10, rate_hz: float | None = None,
                    start_time: datetime.datetime | None = None) -> AmplitudeTable:
    """The amplitude table of ``restored`` samples whose ``status`` says which are clipped, with
    the band ``lower`` / ``upper`` (None: no band) flagged by ``flag_log10``. A run is a stretch of
    samples clipped on one side."""
    status = np.asarray(status)
    runs = sorted([(start, stop, 1) for start, stop in runs_of(status > 0)]
                  + [(start, stop, -1) for start, stop in runs_of(status < 0)])
    rows = []
    for start, stop, sign in runs:
        level = clip_high if sign > 0 else clip_low
        span = slice(start, stop)
        # The peak furthest beyond the level: the maximum of sign × value, read back with its sign.
        offset = int(np.argmax(sign * restored[span]))
        peak = float(restored[start + offset])
        if lower is None or upper is None:
            low = high = float("nan")
        elif sign > 0:
            low, high = float(np.max(lower[span])), float(np.max(upper[span]))
        else:
            low, high = float(np.min(lower[span])), float(np.min(upper[span]))
        reason = flag_reason(low, high, flag_log10)
        if reason != NO_BAND and not (band is not None and band.calibrated):
            reason = NOT_CALIBRATED
        rows.append(AmplitudeRow(start, stop, sign, float(level), start + offset, peak, low, high, reason))
    return AmplitudeTable(rows, band if lower is not None and upper is not None else None, flag_log10, rate_hz,
                          start_time)


def table_of(record: ClippedRecord, restoration: Restoration, rate_hz: float | None = None,
             start_time: datetime.datetime | None = None) -> AmplitudeTable:
    """:func:`amplitude_table` of ``record`` restored as ``restoration`` (both at one rate, ``rate_hz``)."""
    return amplitude_table(restoration.restored, record.status, record.clip_high, record.clip_low, restoration.lower,
                           restoration.upper, restoration.band, rate_hz=rate_hz, start_time=start_time)


def format_amplitudes(tables: list[tuple[str, AmplitudeTable]]) -> bytes:
    """The CSV of the tables of a file's traces (``(trace id, table)``; an ASCII record's id is
    ""): a header of :data:`COLUMNS`, then one line per run, trace by trace."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for trace, table in tables:
        for row in table.rows:
            # Counts as Python writes a float, the shortest text that reads back as the same number.
            writer.writerow([trace, row.start_sample, row.stop_sample, table.time_of(row.start_sample),
                             table.time_of(row.stop_sample), row.sign, repr(row.clip_level_counts), row.peak_sample,
                             table.time_of(row.peak_sample), repr(row.restored_peak_counts),
                             repr(row.interval_low_counts), repr(row.interval_high_counts),
                             repr(row.interval_width_counts), repr(row.excess_counts), int(row.flagged),
                             row.flag_reason or ""])
    return buffer.getvalue().encode()
