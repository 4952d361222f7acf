"""A record's sampling rate and the rate its model restores it at.

A network restores waveforms at the rate it was trained at (its handle's ``sampling_rate``). A
record at another rate that the model serves is restored at the model's rate and written at its
own (``output_rate="record"``, the default of the API and of ``seisclip restore``):

* **to the model's rate**: resampled as ``bank import`` resamples
  (:func:`seisclip.restore.seismic.resampled`, an anti-alias FIR filter with zero phase), its
  clipped samples found before, on the samples as recorded, since the filter rounds off the flat
  runs. A sample at the model's rate is clipped where the recorded sample nearest to it in time
  is, and holds that side's clip level, as a digitiser at that rate would have recorded;
* **back to the record's rate**: the restored signal brought back by the same band-limited
  interpolation. The clipped samples take it, kept at or beyond their clip level on their side;
  every other sample stays as recorded, bit for bit. A band's bounds come back the same way,
  held to the clip levels and to the restored samples by
  :func:`~seisclip.restore.methods.clip_bounded`.

``output_rate="model"`` (``--output-rate model``, or ``--resample``) writes the whole record at
the model's rate instead: its restoration there, whose unclipped samples are the filtered ones.

**Which rates a model serves**: its own, and faster ones up to MAX_RATE_RATIO times it. A slower
record upsampled adds no band the network knows: its windows would hold waveforms smoother than
any it trained on (a 1 Hz LH channel, a 20 Hz BH channel before a 40 Hz model). A much faster
record's clipped peaks hold more and more of their energy above the model's band, which the
estimate lacks. The classic methods need no model and restore any record at its own rate, with
no resampling at all.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import SeisclipError
from ..restore.baselines import enforce_clip_consistency
from ..restore.methods import WINDOW_SPREAD, Restoration, clip_bounded
from ..restore.records import ClippedRecord
from ..restore.registry import method_names
from ..restore.seismic import resampled
from . import OUTPUT_RATES

#: Relative difference of two sampling rates taken as the same rate: SAC stores the sample
#: interval as float32, so 40 Hz reads back as 39.99999936 Hz.
RATE_TOLERANCE = 1e-6
#: The fastest record a model restores, as a multiple of its rate: 200 Hz for a 40 Hz model, so
#: that the short-period and strong-motion rates 50, 100 and 200 Hz are served. On the
#: development set's 100 Hz records, clipped at 15 % to 85 % of their peak, the hybrid erred within
#: 5 % of the same windows at 40 Hz (docs/results/native_rate.md); no faster record was measured.
MAX_RATE_RATIO = 5.0
#: What a refused rate's error offers instead.
CLASSIC_METHODS = f"--method {'|'.join(method_names(model=False))} need no model and take any rate"


@dataclass(frozen=True)
class Rates:
    """How a signal's rate was handled, in Hz: as recorded, restored at and given back at. All
    None for an ASCII record, which carries no rate and is taken as the model's."""

    record_hz: float | None
    restored_hz: float | None
    output_hz: float | None

    @property
    def resampled(self) -> bool:
        return self.record_hz != self.restored_hz

    def as_json(self) -> dict[str, float | None]:
        return asdict(self)


def same_rate(first_hz: float, second_hz: float) -> bool:
    return math.isclose(first_hz, second_hz, rel_tol=RATE_TOLERANCE)


def check_output_rate(output_rate: str) -> None:
    if output_rate not in OUTPUT_RATES:
        raise SeisclipError(f"output rate must be one of {OUTPUT_RATES}, got {output_rate!r}")


def rates_of(rate_hz: float | None, model_rate_hz: float | None, output_rate: str, what: str,
             path: str | None = None) -> Rates:
    """How a signal sampled at ``rate_hz`` is restored by a model trained at ``model_rate_hz``
    (None: by a classic method, at the signal's own rate). A rate the model does not serve is
    refused in one line naming ``what`` ("trace NET.STA.LOC.CHA") and the file ``path``."""
    check_output_rate(output_rate)
    if model_rate_hz is None or rate_hz is None or same_rate(rate_hz, model_rate_hz):
        return Rates(rate_hz, rate_hz, rate_hz)
    from ..bank.importing import resampling_ratio

    fastest_hz = MAX_RATE_RATIO * model_rate_hz
    if not model_rate_hz < rate_hz <= fastest_hz * (1 + RATE_TOLERANCE):
        raise SeisclipError(f"{what} is sampled at {rate_hz:g} Hz; a model trained at {model_rate_hz:g} Hz restores "
                            f"records sampled at {model_rate_hz:g} to {fastest_hz:g} Hz: {CLASSIC_METHODS}", path)
    if resampling_ratio(rate_hz, model_rate_hz) is None:
        raise SeisclipError(f"{what} is sampled at {rate_hz:g} Hz, which no ratio of small integers takes to the "
                            f"model's {model_rate_hz:g} Hz: {CLASSIC_METHODS}", path)
    return Rates(rate_hz, model_rate_hz, rate_hz if output_rate == "record" else model_rate_hz)


def _nearest(samples: int, ratio: float, limit: int) -> np.ndarray:
    """For each of ``samples`` samples, the one of ``limit`` samples at a rate ``ratio`` times theirs
    nearest to it in time (all from the same first sample's time)."""
    return np.minimum(np.rint(np.arange(samples) * ratio).astype(np.int64), limit - 1)


def at_model_rate(record: ClippedRecord, rates: Rates, what: str) -> ClippedRecord:
    """``record`` at the rate it is restored at, with its clipped samples there (see the module's text)."""
    values = resampled(record.values, rates.record_hz, rates.restored_hz, what)
    status = record.status[_nearest(values.size, rates.record_hz / rates.restored_hz, record.status.size)]
    values = np.where(status > 0, record.clip_high, np.where(status < 0, record.clip_low, values))
    return ClippedRecord(record.path, values, status, record.clip_high, record.clip_low)


def at_record_rate(record: ClippedRecord, restoration: Restoration, rates: Rates, what: str) -> Restoration:
    """The restoration at the model's rate brought back to ``record``'s own: its clipped samples the
    restored signal interpolated there, at or beyond their clip level; the others as recorded."""
    def back(signal: np.ndarray | None) -> np.ndarray | None:
        # resample_poly gives at least as many samples as the record has: the first of them are its times.
        return None if signal is None else resampled(signal, rates.restored_hz, rates.record_hz,
                                                     what)[:record.values.size]

    restored = enforce_clip_consistency(back(restoration.restored), record.values, record.status, record.clip_high,
                                        record.clip_low)
    nearest = _nearest(record.values.size, rates.restored_hz / rates.record_hz, restoration.restored.size)
    spread = np.where(record.clipped, restoration.window_spread[nearest], 0.0)
    lower, upper = back(restoration.lower), back(restoration.upper)
    if lower is not None and upper is not None:
        # Interpolated, a bound strays from the recorded samples and across the clip levels as the
        # restored signal would: held to them by the one rule.
        lower, upper = clip_bounded(lower, upper, restored, record.status, record.clip_high, record.clip_low)
    return Restoration(restored, restoration.method, restoration.windows, restoration.seconds, lower=lower,
                       upper=upper, band=restoration.band,
                       diagnostics={**restoration.diagnostics, WINDOW_SPREAD: spread})
