"""What the API's ``restoration`` gives: per trace its restored samples, its band and amplitude
table, and what was done to them, and the restored data in the kind the caller gave (``restore``
is ``restoration(...).data()``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..bank.clipping import runs_of
from ..errors import SeisclipError
from ..restore.amplitudes import AmplitudeTable, format_amplitudes
from ..restore.methods import Band
from .data import ARRAY, STREAM, TRACE, Inputs, restored_trace
from .rates import Rates
from .signals import RestoredSignal, processing_note


def shared_band(bands: list[Band | None]) -> Band | None:
    """The band of traces restored by one method (None: it gives none); an error where they differ."""
    distinct = set(bands)
    if len(distinct) > 1:
        raise SeisclipError(f"the traces' bands differ ({', '.join(sorted(str(band) for band in distinct))}): read "
                            "each trace's .band")
    return distinct.pop() if distinct else None


@dataclass(frozen=True)
class RestoredTrace:
    """One trace (or the array) restored, at its output rate (``rates.output_hz``)."""

    id: str                             # NET.STA.LOC.CHA, or "array"
    restored: np.ndarray                # float64
    status: np.ndarray                  # -1 clipped below, 0 not clipped, +1 clipped above (int8)
    lower: np.ndarray | None            # the band around ``restored``, where the method gives one
    upper: np.ndarray | None
    band: Band | None                   # what the band is; None without one
    amplitudes: AmplitudeTable          # one row per clipped run: restored peak, its interval, flag
    clip_high_counts: float
    clip_low_counts: float
    clipped_runs: list[tuple[int, int]]     # (start, stop) sample numbers of each run of clipped samples
    rates: Rates
    windows: int                        # network windows predicted for it
    seconds: float

    @classmethod
    def of(cls, restored: RestoredSignal, original: Any = None) -> "RestoredTrace":
        """The trace restored, its amplitude table timed from the ObsPy trace ``original`` (None: an array)."""
        output, restoration = restored.output, restored.restoration
        start = original.stats.starttime.datetime if original is not None else None
        return cls(id=output.path, restored=restoration.restored, status=output.status, lower=restoration.lower,
                   upper=restoration.upper, band=restoration.band, amplitudes=restored.amplitudes(start),
                   clip_high_counts=output.clip_high, clip_low_counts=output.clip_low,
                   clipped_runs=runs_of(output.clipped), rates=restored.rates, windows=restoration.windows,
                   seconds=restoration.seconds)

    @property
    def clipped_samples(self) -> int:
        return int(np.count_nonzero(self.status))


@dataclass(frozen=True)
class Restorations:
    """The traces of one call restored by ``method`` (with the model ``model_name``, whose network's
    sha256 is ``model_sha256``; None for a classic method), in the caller's order."""

    kind: str                           # what the caller gave: "stream", "trace" or "array"
    traces: list[RestoredTrace]
    method: str
    model_name: str | None
    model_sha256: str | None
    originals: list[Any] = field(default_factory=list, repr=False)   # the caller's ObsPy traces

    @classmethod
    def of(cls, inputs: Inputs, restored: list[RestoredSignal], method: str, model_name: str | None,
           model_sha256: str | None) -> "Restorations":
        originals = inputs.traces or [None] * len(restored)
        return cls(inputs.kind, [RestoredTrace.of(one, original) for one, original in zip(restored, originals)],
                   method, model_name, model_sha256, inputs.traces)

    @property
    def band(self) -> Band | None:
        """What the traces' bands are (None: the method gives none)."""
        return shared_band([trace.band for trace in self.traces])

    def amplitudes_csv(self) -> str:
        """Every trace's amplitude table as the CSV ``seisclip restore`` writes beside its outputs."""
        return format_amplitudes([(trace.id, trace.amplitudes) for trace in self.traces]).decode()

    def note(self, trace: RestoredTrace) -> str:
        """The ``stats.processing`` line of a restored trace."""
        return processing_note(self.method, self.model_name, self.model_sha256, trace.rates)

    def stream(self) -> Any:
        """The restored traces as a new ObsPy ``Stream`` (of a stream or a trace given)."""
        import obspy

        if self.kind == ARRAY:
            raise SeisclipError("an array was restored: take it with .array()")
        return obspy.Stream([restored_trace(original, trace.restored, trace.rates.output_hz, self.note(trace))
                             for original, trace in zip(self.originals, self.traces)])

    def bounds(self) -> tuple[Any, Any]:
        """The band's lower and upper bounds as two new ObsPy ``Stream``s, one trace per restored
        trace, each with a ``stats.processing`` line saying which bound of which band it holds."""
        import obspy

        if self.kind == ARRAY:
            raise SeisclipError("an array was restored: take its bounds with .traces[0].lower and .upper")
        if any(trace.band is None for trace in self.traces):
            raise SeisclipError(f"method {self.method!r} gives no band: its traces' lower and upper are None")
        return tuple(obspy.Stream([restored_trace(original, getattr(trace, bound), trace.rates.output_hz,
                                                  f"{self.note(trace)}: {bound} bound of the {trace.band.label}")
                                   for original, trace in zip(self.originals, self.traces)])
                     for bound in ("lower", "upper"))

    def trace(self) -> Any:
        """The restored trace as a new ObsPy ``Trace`` (of a trace, or a stream of one, given)."""
        if len(self.traces) != 1:
            raise SeisclipError(f"{len(self.traces)} traces were restored: take them with .stream()")
        return self.stream()[0]

    def array(self) -> np.ndarray:
        """The restored samples (float64) of the one array or trace given."""
        if len(self.traces) != 1:
            raise SeisclipError(f"{len(self.traces)} traces were restored: take them with .stream()")
        return self.traces[0].restored

    def data(self) -> Any:
        """The restored data in the kind given: a ``Stream``, a ``Trace`` or an array."""
        return {STREAM: self.stream, TRACE: self.trace, ARRAY: self.array}[self.kind]()
