"""The one path of every restoration: signals in memory (the API's traces and arrays) and records
read from files (``seisclip restore``, one record or an archive) alike are planned (their rates,
:mod:`.rates`), restored by one method all together, so that a network predicts the windows of
all of them in full batches, and brought back to their output rate."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .. import __version__
from ..restore.amplitudes import AmplitudeTable, table_of
from ..restore.methods import Restoration, RestorationMethod
from ..restore.records import ClippedRecord
from .rates import Rates, at_model_rate, at_record_rate, rates_of


@dataclass(frozen=True)
class Signal:
    """Samples to restore: their clipped record at their own rate (``record.path`` names them),
    that rate in Hz (None: an ASCII record, which carries none), how an error names them
    (``what``: "trace NET.STA.LOC.CHA", "array", "record") and the file they were read from."""

    record: ClippedRecord
    rate_hz: float | None
    what: str
    path: str | None = None


@dataclass(frozen=True)
class PlannedSignal:
    """A signal with its rates decided, and what the method restores: its record, or that record at
    the model's rate."""

    signal: Signal
    rates: Rates
    to_restore: ClippedRecord


@dataclass(frozen=True)
class RestoredSignal:
    """A signal restored: its record and restoration at the output rate (as recorded, or at the
    model's rate), and the rates."""

    signal: Signal
    rates: Rates
    output: ClippedRecord
    restoration: Restoration

    def amplitudes(self, start_time: datetime.datetime | None = None) -> AmplitudeTable:
        """Its amplitude table at the output rate, timed from ``start_time`` (UTC; None: untimed)."""
        return table_of(self.output, self.restoration, self.rates.output_hz, start_time)


def plan(signal: Signal, model_rate_hz: float | None, output_rate: str = "record") -> PlannedSignal:
    """Decide the signal's rates (a rate the model does not serve is refused here, before anything
    is restored) and bring it to the rate it is restored at."""
    rates = rates_of(signal.rate_hz, model_rate_hz, output_rate, signal.what, signal.path)
    return PlannedSignal(signal, rates, at_model_rate(signal.record, rates, signal.what) if rates.resampled
                         else signal.record)


def restore_planned(planned: list[PlannedSignal], method: RestorationMethod) -> list[RestoredSignal]:
    """Restore the signals together (``method.restore_all``) and bring each to its output rate."""
    restored = []
    for one, restoration in zip(planned, method.restore_all([one.to_restore for one in planned])):
        if one.rates.resampled and one.rates.output_hz == one.rates.record_hz:
            restoration = at_record_rate(one.signal.record, restoration, one.rates, one.signal.what)
            output = one.signal.record
        else:
            output = one.to_restore
        restored.append(RestoredSignal(one.signal, one.rates, output, restoration))
    return restored


def restore_signals(signals: list[Signal], method: RestorationMethod, model_rate_hz: float | None,
                    output_rate: str = "record") -> list[RestoredSignal]:
    """:func:`plan` every signal, then :func:`restore_planned` them all."""
    return restore_planned([plan(signal, model_rate_hz, output_rate) for signal in signals], method)


def processing_note(method: str, model_name: str | None, model_sha256: str | None, rates: Rates | None = None) -> str:
    """What restored a trace, as ObsPy's ``stats.processing`` lines say it: ``seisclip VERSION:
    restore(method=..., model=..., model_sha256=...[, record_hz=..., restored_hz=..., output_hz=...])``."""
    fields = {"method": method, "model": model_name, "model_sha256": model_sha256,
              **(rates.as_json() if rates is not None else {})}
    return f"seisclip {__version__}: restore(" + ", ".join(f"{key}={value!r}" for key, value in fields.items()) + ")"
