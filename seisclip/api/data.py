"""Data in memory as the API takes it and gives it back: an ObsPy ``Stream`` or ``Trace``, or a
1-D NumPy array with its sampling rate.

* Each trace is one signal, restored on its own (two traces of one id, say either side of a
  gap, are two signals); a trace with gaps (masked samples, as ``Stream.merge`` leaves them) is
  refused, naming it. Integer samples (miniSEED's int32 counts) are restored like any others
  and given back as float64, as every restored trace is.
* The clipped samples are found by the clipping detector's ``restore`` preset, as
  ``seisclip restore`` finds them in a file, unless the caller says which they are: ``mask``
  (True where clipped; one array per trace for a stream) or ``clip_counts`` (those at or beyond
  ± that many counts).
* What is given back is new: copies of the caller's traces with the restored samples, their
  headers kept (id, start time, rate, sample count) and a ``stats.processing`` line naming
  seisclip, the method and the model; the caller's objects are left as they were.
"""

from __future__ import annotations

import math
import numbers
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SeisclipError
from ..restore.records import clipped_by_mask, clipped_values
from ..restore.seismic import checked_samples, samples_of
from .signals import Signal

STREAM, TRACE, ARRAY = "stream", "trace", "array"


@dataclass(frozen=True)
class Inputs:
    """What the caller gave: its kind, its signals, and its ObsPy traces (none for an array)."""

    kind: str
    signals: list[Signal]
    traces: list[Any] = field(default_factory=list)


def _kind_of(data: Any) -> str:
    if isinstance(data, np.ndarray):
        return ARRAY
    # An ObsPy object exists only once ObsPy is imported: asking for it imports nothing.
    obspy = sys.modules.get("obspy")
    if obspy is not None and isinstance(data, obspy.Stream):
        return STREAM
    if obspy is not None and isinstance(data, obspy.Trace):
        return TRACE
    raise SeisclipError(f"data must be an ObsPy Stream or Trace, or a 1-D NumPy array; got {type(data).__name__}")


def _masks(mask: Any, count: int, kind: str) -> list[np.ndarray | None]:
    """One mask (or None) per signal: a stream's as a list, one per trace."""
    if mask is None:
        return [None] * count
    if kind != STREAM:
        return [np.asarray(mask)]
    if isinstance(mask, np.ndarray) or len(mask) != count:
        raise SeisclipError(f"mask for a stream must be a list of {count} boolean arrays, one per trace")
    return [np.asarray(one) for one in mask]


def _signal(values: np.ndarray, rate_hz: float, name: str, what: str, mask: np.ndarray | None,
            clip_counts: float | None) -> Signal:
    record = (clipped_by_mask(values, mask, name) if mask is not None
              else clipped_values(values, name, clip_counts))
    return Signal(record, rate_hz, what)


def inputs_of(data: Any, mask: Any = None, clip_counts: float | None = None,
              sampling_rate: float | None = None) -> Inputs:
    """The signals of ``data`` (see the module's text); bad input is one line naming the trace."""
    kind = _kind_of(data)
    if mask is not None and clip_counts is not None:
        raise SeisclipError("give mask or clip_counts, not both: each says which samples are clipped")
    if kind == ARRAY:
        if sampling_rate is None:
            raise SeisclipError("a NumPy array needs sampling_rate= (Hz): its samples carry no rate")
        if not (isinstance(sampling_rate, numbers.Real) and math.isfinite(sampling_rate) and sampling_rate > 0):
            raise SeisclipError(f"sampling_rate must be a positive number of Hz, got {sampling_rate!r}")
        if data.ndim != 1:
            raise SeisclipError(f"array must be 1-D (one trace's samples), got shape {data.shape}")
        values = checked_samples(data, "array")
        return Inputs(kind, [_signal(values, float(sampling_rate), ARRAY, ARRAY, _masks(mask, 1, kind)[0],
                                     clip_counts)])
    if sampling_rate is not None:
        raise SeisclipError("sampling_rate= is for a NumPy array: a trace carries its own (stats.sampling_rate)")
    traces = list(data) if kind == STREAM else [data]
    if not traces:
        raise SeisclipError("the stream holds no trace")
    signals = [_signal(samples_of(trace, position), float(trace.stats.sampling_rate), trace.id, f"trace {trace.id}",
                       one_mask, clip_counts)
               for position, (trace, one_mask) in enumerate(zip(traces, _masks(mask, len(traces), kind)))]
    return Inputs(kind, signals, traces)


def restored_trace(trace: Any, restored: np.ndarray, rate_hz: float, note: str) -> Any:
    """A new ObsPy trace: ``trace``'s header at ``rate_hz`` holding ``restored`` (float64), with ``note``
    appended to its ``stats.processing``."""
    import obspy

    stats = trace.stats.copy()
    stats.sampling_rate = rate_hz
    stats.npts = restored.size
    stats.processing = [*stats.get("processing", []), note]
    return obspy.Trace(np.asarray(restored, dtype=np.float64), header=stats)
