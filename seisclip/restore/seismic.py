"""Clipped seismic records in the formats ObsPy reads: read trace by trace, and the restored
traces written back in the record's own format with its headers.

* **Read**: a file that is not text (a NUL byte in its first 4096 bytes, the rule of
  :func:`seisclip.bank.records.read_records`) is a waveform file: miniSEED, SAC, or any
  other format ObsPy reads. Each trace keeps its samples as recorded (float64) and a copy of its
  ObsPy ``Stats``.
* **Write**: miniSEED and SAC are written as miniSEED and SAC; any other format ObsPy reads is
  written as miniSEED, ObsPy's most complete writer. Beside the restored file goes its status
  sidecar: the same traces with the status of each sample (-1, 0, +1) as data, so the clipped
  samples stay known. Both are marked as seisclip's in the file itself: miniSEED records with
  the data quality indicator "Q", SAC headers with ``kuser0`` "seisclip" and ``kuser1``
  "restored" or "status".
* **Rate**: a model restores traces at the rate it was trained at; another rate is refused
  unless the caller resamples (``--resample``), with the anti-alias filter of ``bank import``.

ObsPy is the optional dependency ``seisclip[io]``, imported only when a waveform file is read
or written.
"""

from __future__ import annotations

import glob
import io
import math
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SeisclipError

#: Bytes read to tell a binary waveform file from an ASCII record.
TEXT_PROBE_BYTES = 4096
#: Formats written as they were read; any other is written as miniSEED.
MSEED, SAC = "MSEED", "SAC"
#: Relative difference of two sampling rates taken as the same rate: SAC stores the sample
#: interval as float32, so 40 Hz reads back as 39.99999936 Hz.
RATE_TOLERANCE = 1e-6
#: SAC's text header fields this module writes, and their lengths in characters.
SAC_USER_FIELD_LENGTH = 8
SAC_EVENT_NAME_LENGTH = 16
#: ``kuser0`` of a file seisclip wrote; ``kuser1`` says which of the two files it is.
SAC_MARK = "seisclip"
#: The SEED data quality indicator of every record of the miniSEED files seisclip writes. The SEED
#: manual's "Q": quality controlled data, some processes have been applied to the data. Its "M"
#: says the time-series values have not been changed, which restoring does; "D" (indeterminate)
#: and "R" (raw, no quality control) are what recorders write.
MSEED_RESTORED_QUALITY = "Q"


def is_seismic_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a binary file (miniSEED, SAC, …) rather than an ASCII record: text
    holds no NUL byte."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(TEXT_PROBE_BYTES)
    except FileNotFoundError:
        raise SeisclipError("record file not found", path) from None
    except IsADirectoryError:
        raise SeisclipError("record file is a directory", path) from None
    except OSError as exc:
        raise SeisclipError(f"cannot read record file: {exc.strerror}", path) from None
    return b"\0" in head


@dataclass
class SeismicTrace:
    """One trace of a waveform file: its samples as recorded and a copy of its ObsPy header."""

    values: np.ndarray      # float64, exact for the int32 of miniSEED and the float32 of SAC
    stats: Any              # obspy.core.trace.Stats, copied from the file's trace
    trace_index: int        # position in the file, from 0
    seed_id: str            # NET.STA.LOC.CHA

    @property
    def sampling_rate(self) -> float:
        return float(self.stats.sampling_rate)

    @property
    def starttime(self) -> str:
        return self.stats.starttime.isoformat()


def _first_line(exc: Exception, path: str | None = None) -> str:
    """ObsPy's complaint as one line, without the file name (the error names it)."""
    line = (str(exc).strip().splitlines() or [""])[0]
    if path:
        line = line.replace(path, "")
    return line.strip(" :") or type(exc).__name__


def _read_stream(path: str) -> tuple[str, Any]:
    """The format to write ``path``'s restoration in, and its ObsPy stream."""
    from ..bank.readers import import_obspy

    obspy = import_obspy(path)
    # obspy.read takes a glob pattern: escaped, a name with * or [ ] means only itself.
    pattern = glob.escape(path)
    failure: Exception | None = None
    # SAC first: its reader refuses a miniSEED file at once, where miniSEED's warns on a SAC file.
    for reader_format, written_as in ((SAC, SAC), (MSEED, MSEED), (None, MSEED)):
        # Trying a format on another's file makes its reader warn of garbage: only the
        # warnings of the reader that succeeds are the file's.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                stream = obspy.read(pattern, format=reader_format)
            except Exception as exc:   # ObsPy's readers raise many kinds; each means "not this format"
                failure = exc
                continue
        for warning in caught:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        if len(stream):
            return written_as, stream
        failure = None
    # The plain read, tried last, knows every format: its complaint is the reason.
    reason = _first_line(failure, pattern) if failure is not None else "it holds no trace"
    raise SeisclipError(f"not a waveform file ObsPy reads: {reason}", path)


def _samples(trace: Any, path: str, position: int) -> np.ndarray:
    """A trace's samples as float64, or an error naming the trace if they cannot be restored."""
    where = f"trace {position + 1} ({trace.id})"
    data = trace.data
    if data.dtype.kind not in "iuf":   # e.g. a miniSEED log channel of text
        raise SeisclipError(f"{where} holds {data.dtype} data, not samples", path)
    if data.size == 0:
        raise SeisclipError(f"{where} has no samples", path)
    if np.ma.is_masked(data):
        raise SeisclipError(f"{where} has gaps (masked samples)", path)
    values = np.asarray(np.ma.getdata(data), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise SeisclipError(f"{where} has samples that are not finite numbers", path)
    return values


def read_seismic(path: str | os.PathLike) -> tuple[str, list[SeismicTrace]]:
    """The format the restoration of ``path`` is written in ("MSEED" or "SAC": a SAC file's is
    SAC, any other format ObsPy reads gives "MSEED") and the file's traces in file order."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SeisclipError("record file not found", path)
    file_format, stream = _read_stream(path)
    return file_format, [SeismicTrace(values=_samples(trace, path, position), stats=trace.stats.copy(),
                                      trace_index=position, seed_id=trace.id)
                         for position, trace in enumerate(stream)]


def check_rate(trace_rate: float, model_rate: float, path: str | os.PathLike, seed_id: str, resample: bool) -> bool:
    """Whether the trace must be resampled to the model's rate (False: the rates agree within
    ``RATE_TOLERANCE``). A trace at another rate than the model's training rate is refused unless
    ``resample``: the network knows waveforms at its own rate only."""
    if math.isclose(trace_rate, model_rate, rel_tol=RATE_TOLERANCE):
        return False
    if not resample:
        raise SeisclipError(f"trace {seed_id} is sampled at {trace_rate:g} Hz but the model was trained at "
                            f"{model_rate:g} Hz: add --resample to restore it resampled to {model_rate:g} Hz",
                            path)
    return True


def resampled(trace: SeismicTrace, rate: float) -> SeismicTrace:
    """``trace`` resampled to ``rate`` as ``bank import`` resamples (a polyphase FIR filter, the
    anti-alias filter, with zero phase: the first sample keeps its time), its header's rate and
    sample count updated."""
    from ..bank.importing import process, resampling_ratio
    from ..bank.settings import ImportSettings

    if resampling_ratio(trace.sampling_rate, rate) is None:
        raise SeisclipError(f"trace {trace.seed_id}: no rational resampling ratio from {trace.sampling_rate:g} Hz "
                            f"to {rate:g} Hz")
    values, _ = process(trace.values, trace.sampling_rate, ImportSettings(sampling_rate=rate))
    stats = trace.stats.copy()
    stats.sampling_rate = rate
    stats.npts = values.size
    return SeismicTrace(values=values, stats=stats, trace_index=trace.trace_index, seed_id=trace.seed_id)


def _sac_marked(stats: Any, role: str, note: str) -> Any:
    """A copy of a SAC trace's header marked as seisclip's: ``kuser0`` "seisclip", ``kuser1`` the
    file's role, and the note's start in ``kevnm`` unless the record names its event there."""
    stats = stats.copy()
    stats.sac.kuser0 = SAC_MARK
    stats.sac.kuser1 = role[:SAC_USER_FIELD_LENGTH]
    if not str(stats.sac.get("kevnm", "")).strip():
        stats.sac.kevnm = note[:SAC_EVENT_NAME_LENGTH]
    return stats


def _mseed_marked(stats: Any) -> Any:
    """A copy of a trace's header whose miniSEED records say :data:`MSEED_RESTORED_QUALITY`."""
    from obspy.core.util import AttribDict

    stats = stats.copy()
    stats.mseed = AttribDict({**stats.get("mseed", {}), "dataquality": MSEED_RESTORED_QUALITY})
    return stats


def _encoded(stream: Any, file_format: str, encoding: str | None = None) -> bytes:
    buffer = io.BytesIO()
    try:
        stream.write(buffer, format=file_format, **({"encoding": encoding} if encoding else {}))
    except Exception as exc:   # ObsPy's writers raise many kinds (a station code too long, say)
        ids = ", ".join(sorted({trace.id for trace in stream}))
        raise SeisclipError(f"cannot write {ids} as {file_format}: {_first_line(exc)}") from None
    return buffer.getvalue()


def encode_restored(file_format: str, traces: list[SeismicTrace], restored: list[np.ndarray],
                    status: list[np.ndarray], note: str) -> tuple[bytes, bytes]:
    """The restored file's bytes and its status sidecar's, both in ``file_format`` ("MSEED" or
    "SAC", as :func:`read_seismic` gave it), one trace per input trace, in order, with its header
    (network, station, location, channel, start time, rate, and for SAC every other header field).

    * miniSEED: the restored samples as float64 (encoding FLOAT64), the status as int32
      (encoding STEIM2: lossless, and small for a status that is mostly 0); every record of both
      files has the data quality indicator :data:`MSEED_RESTORED_QUALITY`. ObsPy writes no free
      text into miniSEED, so ``note`` is not in the file: the caller records it in its
      provenance file.
    * SAC (one trace per file): the restored samples and the status as float32, SAC's own sample
      type. Both files get ``kuser0`` "seisclip" and ``kuser1`` "restored" or "status"; ``kevnm``
      gets the note's first 16 characters where the record names no event (an event name is
      kept). The whole note belongs in the caller's provenance file here too.

    Samples the restoration left unchanged read back bit-identical: float64 holds int32 and
    float32 values exactly, and SAC's float32 gives a float32 input back unchanged.
    """
    if file_format not in (MSEED, SAC):
        raise ValueError(f"format must be {MSEED!r} or {SAC!r}, got {file_format!r}")
    if not len(traces) == len(restored) == len(status):
        raise ValueError(f"{len(traces)} traces, {len(restored)} restorations and {len(status)} statuses")
    from ..bank.readers import import_obspy

    obspy = import_obspy(None)
    restored_traces, status_traces = [], []
    for trace, values, states in zip(traces, restored, status):
        if not values.size == states.size == trace.values.size:
            raise ValueError(f"trace {trace.seed_id} has {trace.values.size} samples, its restoration "
                             f"{values.size} and its status {states.size}")
        if file_format == SAC:
            restored_traces.append(obspy.Trace(values.astype(np.float32), _sac_marked(trace.stats, "restored", note)))
            status_traces.append(obspy.Trace(states.astype(np.float32), _sac_marked(trace.stats, "status", note)))
        else:
            restored_traces.append(obspy.Trace(values.astype(np.float64), _mseed_marked(trace.stats)))
            status_traces.append(obspy.Trace(states.astype(np.int32), _mseed_marked(trace.stats)))
    restored_stream, status_stream = obspy.Stream(restored_traces), obspy.Stream(status_traces)
    if file_format == SAC:
        return _encoded(restored_stream, SAC), _encoded(status_stream, SAC)
    return _encoded(restored_stream, MSEED, "FLOAT64"), _encoded(status_stream, MSEED, "STEIM2")
