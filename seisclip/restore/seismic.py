"""Clipped seismic records in the formats ObsPy reads: read trace by trace, and the restored
traces written back in the record's own format with its headers.

* **Read**: a file that is not text (a NUL byte in its first 4096 bytes, the rule of
  :func:`seisclip.bank.records.read_records`) is a waveform file: miniSEED, SAC, or any
  other format ObsPy reads. Each trace keeps its samples as recorded (float64) and a copy of its
  ObsPy ``Stats``.
* **Write**: miniSEED and SAC are written as miniSEED and SAC; any other format ObsPy reads is
  written as miniSEED, ObsPy's most complete writer. Beside the restored file goes its status
  sidecar: the same traces with the status of each sample (-1, 0, +1) as data, so the clipped
  samples stay known; where the method gives a band, its lower and upper bounds go in two more
  files of the same traces (:func:`encode_band`). All are marked as seisclip's in the file
  itself: miniSEED records with the data quality indicator "Q", SAC headers with ``kuser0``
  "seisclip" and ``kuser1`` "restored", "status", "lower" or "upper".
* **Rate**: :func:`resampled` brings samples to another rate as ``bank import`` does (the
  anti-alias filter of ``scipy.signal.resample_poly``); which rates a model restores, and how a
  trace goes to the model's rate and back, is :mod:`seisclip.api.rates`'s.

ObsPy is the optional dependency ``seisclip[io]``, imported only when a waveform file is read
or written.
"""

from __future__ import annotations

import glob
import io
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

    def with_samples(self, values: np.ndarray, rate: float) -> "SeismicTrace":
        """This trace holding ``values`` at ``rate`` (Hz) from the same start: its header's rate and
        sample count updated, everything else kept."""
        stats = self.stats.copy()
        stats.sampling_rate = rate
        stats.npts = values.size
        return SeismicTrace(values=values, stats=stats, trace_index=self.trace_index, seed_id=self.seed_id)


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


def checked_samples(data: np.ndarray, where: str, path: str | None = None) -> np.ndarray:
    """Samples as float64 (exact for integer counts), or an error naming them (``where``: "trace 2
    (NET.STA.LOC.CHA)", "array"; and the file ``path`` if any) if they cannot be restored."""
    if data.dtype.kind not in "iuf":   # e.g. a miniSEED log channel of text
        raise SeisclipError(f"{where} holds {data.dtype} data, not samples", path)
    if data.size == 0:
        raise SeisclipError(f"{where} has no samples", path)
    if np.ma.is_masked(data):
        raise SeisclipError(f"{where} has gaps (masked samples): restore its contiguous parts as separate traces",
                            path)
    values = np.asarray(np.ma.getdata(data), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise SeisclipError(f"{where} has samples that are not finite numbers", path)
    return values


def samples_of(trace: Any, position: int, path: str | None = None) -> np.ndarray:
    """An ObsPy trace's samples (:func:`checked_samples`), named by its position from 0 and its id."""
    return checked_samples(trace.data, f"trace {position + 1} ({trace.id})", path)


def read_seismic(path: str | os.PathLike) -> tuple[str, list[SeismicTrace]]:
    """The format the restoration of ``path`` is written in ("MSEED" or "SAC": a SAC file's is
    SAC, any other format ObsPy reads gives "MSEED") and the file's traces in file order."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SeisclipError("record file not found", path)
    file_format, stream = _read_stream(path)
    return file_format, [SeismicTrace(values=samples_of(trace, position, path), stats=trace.stats.copy(),
                                      trace_index=position, seed_id=trace.id)
                         for position, trace in enumerate(stream)]


def resampled(values: np.ndarray, rate: float, target: float, what: str) -> np.ndarray:
    """``values`` sampled at ``rate`` brought to ``target`` (Hz) as ``bank import`` resamples: a
    polyphase FIR filter, the anti-alias filter, with zero phase, so the first sample keeps its
    time. ``what`` names the samples in an error (``trace NET.STA.LOC.CHA``)."""
    from ..bank.importing import process, resampling_ratio
    from ..bank.settings import ImportSettings

    if resampling_ratio(rate, target) is None:
        raise SeisclipError(f"{what}: no rational resampling ratio from {rate:g} Hz to {target:g} Hz")
    return process(values, rate, ImportSettings(sampling_rate=target))[0]


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


def encode_band(file_format: str, traces: list[SeismicTrace], bounds: list[tuple[np.ndarray, np.ndarray] | None],
                note: str) -> tuple[bytes, bytes] | None:
    """The band's lower and upper bounds as two files in ``file_format``, written as
    :func:`encode_restored` writes the restored samples (miniSEED FLOAT64, SAC float32 with
    ``kuser1`` "lower" or "upper"), with the same headers: one trace per input trace whose
    restoration gives a band (``bounds``: its ``(lower, upper)``, None for one without), in order.
    None where no trace has a band: no file holds bounds a method does not give (miniSEED's
    integer encodings hold no NaN, and tools that read float ones take NaN for samples)."""
    if len(traces) != len(bounds):
        raise ValueError(f"{len(traces)} traces and {len(bounds)} bands")
    banded = [(trace, pair) for trace, pair in zip(traces, bounds) if pair is not None]
    if not banded:
        return None
    from ..bank.readers import import_obspy

    obspy = import_obspy(None)
    files = []
    for position, role in enumerate(("lower", "upper")):
        stream = obspy.Stream()
        for trace, pair in banded:
            if pair[position].size != trace.values.size:
                raise ValueError(f"trace {trace.seed_id} has {trace.values.size} samples, its {role} bound "
                                 f"{pair[position].size}")
            if file_format == SAC:
                stream.append(obspy.Trace(pair[position].astype(np.float32), _sac_marked(trace.stats, role, note)))
            else:
                stream.append(obspy.Trace(pair[position].astype(np.float64), _mseed_marked(trace.stats)))
        files.append(_encoded(stream, SAC) if file_format == SAC else _encoded(stream, MSEED, "FLOAT64"))
    return files[0], files[1]
