"""Clipped records to restore: reading them and finding their clipped samples.

Two input formats:

* **labelled** (the format the user's tools write): one header line, then ``index value status``
  per sample, status -1 (clipped below), 0 (unclipped) or +1 (clipped above);
* **plain**: one value per line, like the bank's waveform files; the clipped samples are found
  by the clipping detector (:func:`seisclip.bank.clipping.detect_clipping`): those at or beyond
  ``clip_counts`` or, by default, its ``restore`` preset (runs of at least two samples within
  ``tolerance`` counts of the record's maximum or minimum). A record that shows back-to-zero
  clipping is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..bank.ascii import parse_waveform, read_waveform
from ..bank.clipping import check_tolerance_counts, clip_levels_of, detect_clipping
from ..errors import SeisclipError
from ..fsio import output_lock, read_input, refuse_existing, write_file_atomic
from ..sets.labels import clip_signal

@dataclass
class ClippedRecord:
    path: str
    values: np.ndarray      # samples as recorded (float64)
    status: np.ndarray      # -1 / 0 / +1 per sample (int8)
    clip_high: float        # value of the samples clipped above
    clip_low: float         # value of the samples clipped below

    @property
    def clipped(self) -> np.ndarray:
        return self.status != 0

    @property
    def clip_counts(self) -> float:
        """The larger magnitude of the two clip levels: the scale of a clip-normalised window."""
        return max(abs(self.clip_high), abs(self.clip_low))

    def resting_clipped_side(self) -> tuple[str, float] | None:
        """``("+" or "-", share)`` when more than half the samples are clipped on one side: the
        record rests beyond that clip level, a saturated station rather than clipped peaks."""
        for side, sign in (("+", 1), ("-", -1)):
            share = float(np.mean(self.status == sign))
            if share > 0.5:
                return side, share
        return None


def clip_counts_of(values: np.ndarray, status: np.ndarray, path: str) -> tuple[float, float]:
    """Clip levels as the record shows them: the least extreme clipped value on each side, above
    zero and below it. A side with no clipped sample mirrors the other side; with none at all,
    the record's extremes."""
    high, low = clip_levels_of(values, status)
    if high is None and low is None:
        return float(values.max(initial=0.0)), float(values.min(initial=0.0))
    # A digitiser clips at the ends of its range, on either side of zero; a level of zero would
    # leave a window of clipped zeros nothing to be scaled by.
    if high is not None and high <= 0:
        raise SeisclipError(f"samples clipped above are at {high:g}, not above zero", path)
    if low is not None and low >= 0:
        raise SeisclipError(f"samples clipped below are at {low:g}, not below zero", path)
    return (high if high is not None else -low), (low if low is not None else -high)


def parse_labelled(raw: bytes, path: str) -> tuple[np.ndarray, np.ndarray]:
    """Values and status of a labelled record: a header line, then ``index value status`` lines."""
    lines = raw.splitlines()
    values, status = [], []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split()
        if not fields:
            raise SeisclipError("empty line", path, number)
        if len(fields) != 3:
            raise SeisclipError(f"expected 3 columns 'index value status', found {len(fields)}", path, number)
        try:
            value = float(fields[1])
        except ValueError:
            raise SeisclipError(f"value {fields[1].decode('utf-8', 'replace')!r} is not a number", path, number) from None
        if not np.isfinite(value):
            raise SeisclipError(f"value {fields[1].decode()} is not finite", path, number)
        if fields[2] not in (b"-1", b"0", b"1", b"+1"):
            raise SeisclipError(f"status {fields[2].decode('utf-8', 'replace')!r} is not -1, 0 or 1", path, number)
        values.append(value)
        status.append(int(fields[2]))
    if not values:
        raise SeisclipError("labelled record has no samples after its header line", path)
    return np.asarray(values), np.asarray(status, dtype=np.int8)


def read_clipped_record(path: str | os.PathLike, labelled: bool | None = None, clip_counts: float | None = None,
                        tolerance: float = 0.0) -> ClippedRecord:
    """Read a record to restore. ``labelled=None`` decides from the file: three columns after a
    first line means labelled."""
    path = os.fspath(path)
    return parse_clipped_record(read_input(path, "record file"), path, labelled, clip_counts, tolerance)


def parse_clipped_record(raw: bytes, path: str, labelled: bool | None = None, clip_counts: float | None = None,
                         tolerance: float = 0.0) -> ClippedRecord:
    """:func:`read_clipped_record` of a file's bytes."""
    check_tolerance_counts(tolerance)
    if labelled is None:
        lines = raw.splitlines()
        labelled = len(lines) > 1 and len(lines[1].split()) == 3
    if labelled:
        values, status = parse_labelled(raw, path)
    else:
        values = parse_waveform(raw, path)
        if values.size == 0:
            raise SeisclipError("record is empty", path)
        return clipped_values(values, path, clip_counts, tolerance)
    high, low = clip_counts_of(values, status, path)
    return ClippedRecord(path=path, values=values, status=status, clip_high=high, clip_low=low)


def clipped_values(values: np.ndarray, path: str, clip_counts: float | None = None,
                   tolerance: float = 0.0) -> ClippedRecord:
    """A record of plain values (an ASCII record, a seismic trace), its clipped samples those at or
    beyond ``clip_counts`` or, by default, found by the detector's ``restore`` preset with a
    plateau's jitter of ``tolerance`` counts. Back-to-zero clipping is refused, not restored."""
    if clip_counts is not None and not clip_counts > 0:
        raise SeisclipError(f"clip level must be positive, got {clip_counts}", path)
    found = detect_clipping(values, "restore", clip_counts=clip_counts, tolerance_counts=tolerance)
    if found.back_to_zero:
        raise SeisclipError(found.back_to_zero_problem(), path)
    status = found.status
    high, low = clip_counts_of(values, status, path)
    return ClippedRecord(path=path, values=values, status=status, clip_high=high, clip_low=low)


def clipped_by_mask(values: np.ndarray, mask: np.ndarray, path: str) -> ClippedRecord:
    """A record whose clipped samples the caller knows: ``mask`` True where a sample is clipped,
    above zero (status +1) or below it (-1); the clip levels are those the record shows
    (:func:`clip_counts_of`)."""
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != values.shape:
        raise SeisclipError(f"mask must be a boolean array of one value per sample, shape ({values.size},); got "
                            f"{mask.dtype} of shape {mask.shape}", path)
    if np.any(mask & (values == 0)):
        raise SeisclipError("mask marks a sample of value 0 as clipped: clipped samples lie above or below zero",
                            path)
    status = np.where(mask, np.sign(values), 0).astype(np.int8)
    high, low = clip_counts_of(values, status, path)
    return ClippedRecord(path=path, values=values, status=status, clip_high=high, clip_low=low)


def clip_artificially(source: str | os.PathLike, fraction: float, output: str | os.PathLike,
                      overwrite: bool = False) -> ClippedRecord:
    """Write an unclipped waveform clipped at ``fraction`` of its peak (rounded to whole counts,
    as a digitiser clips) in the labelled format, to try a restoration against the truth."""
    source = os.fspath(source)
    if not 0 < fraction <= 1:
        raise SeisclipError(f"clip level must be a fraction of the peak in (0, 1], got {fraction}")
    if not overwrite:
        refuse_existing(output, "clipped record")
    if not os.path.isfile(source):
        raise SeisclipError("waveform file not found", source)
    truth, _ = read_waveform(source)
    if not truth.size:
        raise SeisclipError("waveform file is empty", source)
    peak = float(np.abs(truth).max())
    level = float(np.round(fraction * peak))
    if level <= 0:
        raise SeisclipError(f"peak {peak:g} clipped at {fraction} leaves no level to clip at", source)
    values, _ = clip_signal(truth, level)
    # Labelled as a real clipped record reads: every sample at the rail, those that only reach it too.
    status = detect_clipping(values, clip_counts=level).status
    header = f"index value status  (clipped at +-{level:g} = {fraction} x peak {peak:g} of {source})\n"
    body = "".join(f"{i} {value:.10g} {state}\n" for i, (value, state) in enumerate(zip(values.tolist(), status.tolist())))
    with output_lock(output, "clipped record"):
        write_file_atomic(output, (header + body).encode(), overwrite=overwrite)
    return ClippedRecord(os.fspath(output), values, status, level, -level)


def window_starts(n_samples: int, length: int, stride: int, clipped: np.ndarray, path: str | None = None) -> np.ndarray:
    """Starts of the windows, ``stride`` apart and one flush with the end, that hold a clipped
    sample; ``path`` names the record in an error."""
    if length > n_samples:
        raise SeisclipError(f"record has {n_samples} samples, fewer than the model's window of {length}", path)
    starts = np.arange(0, n_samples - length + 1, stride)
    if starts[-1] != n_samples - length:
        starts = np.append(starts, n_samples - length)
    clipped_before = np.concatenate([[0], np.cumsum(clipped)])
    return starts[clipped_before[starts + length] > clipped_before[starts]]
