"""The user's ASCII waveform files (one sample per line) and the source protocol index lines are read through."""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import SeisclipError


def _first_bad_line(raw: bytes) -> tuple[int, str]:
    """Line number and problem of the first line that is not exactly one finite number."""
    # Lines end at \n only (a CRLF's \r is white space), as parse_waveform counts them: a lone
    # \r inside a line leaves two values on it.
    lines = raw.split(b"\n")
    if raw.endswith(b"\n"):
        lines.pop()   # the empty piece after the last line's end
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if len(fields) != 1:
            return number, f"expected one value per line, found {len(fields)}"
        try:
            value = float(fields[0])
        except ValueError:
            return number, f"value {fields[0].decode('utf-8', 'replace')!r} is not a number"
        if not math.isfinite(value):
            return number, f"value {fields[0].decode()} is not finite"
    raise AssertionError("no bad line found in a file that failed to parse")


def parse_waveform(raw: bytes, path: str) -> np.ndarray:
    """Samples of an ASCII waveform, one number per line; a bad line is a :class:`SeisclipError`."""
    fields = raw.split()
    line_count = raw.count(b"\n") + (not raw.endswith(b"\n") and len(raw) > 0)
    try:
        if len(fields) != line_count:
            raise ValueError
        try:  # digitiser counts are integers, and int() parses them twice as fast as float()
            samples = np.array(list(map(int, fields)), dtype=np.float64)
        except (ValueError, OverflowError):   # a decimal, or an integer too large for a float
            samples = np.array(list(map(float, fields)), dtype=np.float64)
        if not np.all(np.isfinite(samples)):
            raise ValueError
    except ValueError:
        line, problem = _first_bad_line(raw)
        raise SeisclipError(problem, path, line) from None
    return samples


def read_waveform(path: str) -> tuple[np.ndarray, str]:
    """Samples and sha256 of one ASCII waveform file."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise SeisclipError("waveform file not found", path) from None
    except OSError as exc:
        raise SeisclipError(f"cannot read waveform file: {exc.strerror}", path) from None
    return parse_waveform(raw, path), hashlib.sha256(raw).hexdigest()


class WaveformTrace(Protocol):
    """One waveform as a source gives it."""

    samples: int   # sample count
    sha256: str    # sha256 of the ASCII source file's bytes

    def segments(self, starts: np.ndarray, length: int) -> np.ndarray:
        """Unclipped counts ``(len(starts), length)`` as float64; every segment fits in the trace."""


class WaveformSource(Protocol):
    """Where the waveforms named by index lines come from: the ASCII files or an HDF5 bank
    (:class:`seisclip.bank.hdf5.BankSource`)."""

    def open_trace(self, path: str) -> WaveformTrace | None:
        """The waveform an index line's path names, or None if there is none."""


@dataclass(frozen=True)
class AsciiTrace:
    values: np.ndarray
    sha256: str

    @property
    def samples(self) -> int:
        return int(self.values.size)

    def segments(self, starts: np.ndarray, length: int) -> np.ndarray:
        return self.values[starts[:, None] + np.arange(length)]


class AsciiFolder:
    """The user's layout: an index line's path is an ASCII waveform file, relative to the working folder."""

    def open_trace(self, path: str) -> AsciiTrace | None:
        if not os.path.isfile(path):
            return None
        values, digest = read_waveform(path)
        return AsciiTrace(values, digest)
