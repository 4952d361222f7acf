"""Turning an index file into arrays: each waveform file is read once, however many segments it gives."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ..bank.ascii import AsciiFolder, WaveformSource
from ..errors import SeisclipError
from .index_file import IndexFile
from .labels import DEFAULT_MIN_PEAK, peak_amplitude

SKIP_FILE_MISSING = "file missing"
SKIP_FILE_TOO_SHORT = "file too short"
SKIP_PEAK_TOO_LOW = "peak below min_peak"
SKIP_REASONS = (SKIP_FILE_MISSING, SKIP_FILE_TOO_SHORT, SKIP_PEAK_TOO_LOW)
#: Longer segments than this (about 7 hours at 40 Hz) are a mistyped argument, not a model window.
MAX_SEGMENT_LENGTH = 1_000_000


@dataclass
class SegmentSet:
    """The segments of an index file that can be used, and why the others cannot."""

    index: IndexFile
    segment_length: int
    min_peak: float
    used: np.ndarray                      # positions in the index of the usable segments
    segments: np.ndarray | None           # (len(used), L) unclipped counts; None if not kept
    skip_reasons: dict[int, str] = field(default_factory=dict)   # index position -> reason
    files: dict[str, dict] = field(default_factory=dict)         # path -> sha256, samples

    @property
    def skipped(self) -> Counter:
        return Counter(self.skip_reasons.values())

    def summary(self) -> str:
        parts = ", ".join(f"{count} {reason}" for reason, count in sorted(self.skipped.items()))
        return (f"{len(self.used)} of {len(self.index)} segments used from {len(self.files)} files"
                + (f"; skipped: {parts}" if parts else ""))


def check_segment_length(segment_length: int) -> None:
    if not 0 < segment_length <= MAX_SEGMENT_LENGTH:
        raise SeisclipError(f"segment length must be a positive integer of at most {MAX_SEGMENT_LENGTH} samples, "
                            f"got {segment_length}")


def load_segments(index: IndexFile, segment_length: int, min_peak: float = DEFAULT_MIN_PEAK,
                  strict: bool = False, progress: bool = True, source: WaveformSource | None = None,
                  keep_segments: bool = True) -> SegmentSet:
    """Read every segment of ``index`` (each waveform file once) and sort out the unusable ones.

    ``source`` defaults to the ASCII files the index lines name. With ``keep_segments`` False
    only which segments are usable is worked out (``segments`` is None), for sets too large
    to hold in memory, which are then read again batch by batch (:mod:`seisclip.learn.pipeline`).
    """
    source = source or AsciiFolder()
    check_segment_length(segment_length)
    if not min_peak > 0:   # a segment of zeros must never pass: it has no peak to divide by
        raise SeisclipError(f"min_peak must be positive (segments whose peak is below it are skipped), got {min_peak}")
    positions_by_file: dict[str, list[int]] = {}
    for position, path in enumerate(index.paths):
        positions_by_file.setdefault(path, []).append(position)

    skip_reasons: dict[int, str] = {}
    files: dict[str, dict] = {}
    kept_positions, kept_segments = [], []

    def skip(positions, reason: str) -> None:
        if strict:
            first = int(positions[0])
            raise SeisclipError(f"segment skipped ({reason}; --strict is set)", index.path, int(index.line_numbers[first]))
        skip_reasons.update((int(p), reason) for p in positions)

    for path, positions in tqdm(positions_by_file.items(), desc="reading waveforms", unit="file",
                                disable=not progress, leave=False):
        positions = np.asarray(positions)
        trace = source.open_trace(path)
        if trace is None:
            skip(positions, SKIP_FILE_MISSING)
            continue
        files[path] = {"sha256": trace.sha256, "samples": trace.samples}
        starts = index.istart[positions]
        fits = starts + segment_length <= trace.samples
        if not fits.all():
            skip(positions[~fits], SKIP_FILE_TOO_SHORT)
        positions, starts = positions[fits], starts[fits]
        segments = trace.segments(starts, segment_length)
        loud = peak_amplitude(segments) >= min_peak
        if not loud.all():
            skip(positions[~loud], SKIP_PEAK_TOO_LOW)
        kept_positions.append(positions[loud])
        if keep_segments:
            kept_segments.append(segments[loud])

    used = np.concatenate(kept_positions) if kept_positions else np.zeros(0, dtype=np.int64)
    order = np.argsort(used, kind="stable")   # back to index order, whatever the file order
    used = used[order]
    segments = None
    if keep_segments:
        segments = np.concatenate(kept_segments)[order] if kept_segments else np.zeros((0, segment_length))
    return SegmentSet(index=index, segment_length=segment_length, min_peak=min_peak, used=used,
                      segments=segments, skip_reasons=skip_reasons, files=files)
