"""From an unclipped segment to what a network sees: normalised, clipped input and status labels.

For a segment ``y`` with peak ``max|y|`` and clip level ``clip_fraction`` (a fraction of that peak;
the index file's ``rscale`` column):

* the target is ``y / scale``, where the scale is the peak (normalisation ``"peak"``: the
  target lies in [-1, 1]) or the clip level in counts, ``clip_fraction * peak`` (normalisation
  ``"clip"``: the clipped input lies in [-1, 1] and the target reaches ``1 / clip_fraction``);
* the clipped input is the target clipped to the clip level;
* the status is +1 where the target is above the clip level, -1 where it is below minus the
  clip level, 0 elsewhere; with *sbrl* (scale by run length) each run of equal non-zero
  status is multiplied by its length, so four consecutive -1 become four -4.

Peak normalisation needs the true peak, which a clipped record hides; clip normalisation needs
only the clip level, which a clipped record shows, so a model trained with it sees at
restoration exactly what it saw in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

#: Segments whose peak |count| is below this are mostly digitiser noise and are skipped.
DEFAULT_MIN_PEAK = 50.0
#: One clip fraction per clip-level bin of 0.1 from 0.1 up: where signals are clipped to measure
#: restorations (evaluate, compare, the band's calibration) unless told otherwise.
CLIP_FRACTIONS_ONE_PER_BIN = tuple(round(0.15 + 0.1 * k, 2) for k in range(9))


def peak_amplitude(segments: np.ndarray) -> np.ndarray:
    """Peak |value| of each segment (last axis)."""
    return np.max(np.abs(segments), axis=-1)


def clip_status(values: np.ndarray, level: np.ndarray | float) -> np.ndarray:
    """+1 above the clip ``level``, -1 below minus it, 0 within (``level`` in the values' units;
    one per row, or one for all)."""
    level = np.asarray(level, dtype=np.float64)
    if level.ndim:  # one level per segment
        level = level[..., None]
    return (values > level).astype(np.int32) - (values < -level).astype(np.int32)


def clip_signal(truth: np.ndarray, clip_counts: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """``truth`` (counts, ``(L,)`` or ``(N, L)``) clipped at ± ``clip_counts`` (a level, or one per
    row), and its status -1/0/+1 (int8): the samples the clipping changed."""
    truth = np.asarray(truth, dtype=np.float64)
    level = np.asarray(clip_counts, dtype=np.float64)
    if level.ndim:
        level = level[..., None]
    return np.clip(truth, -level, level), clip_status(truth, clip_counts).astype(np.int8)


def scale_by_run_length(status: np.ndarray) -> np.ndarray:
    """Multiply each run of equal non-zero status by the run's length (runs never cross rows)."""
    status = np.asarray(status)
    rows = status.reshape(-1, status.shape[-1])
    n_rows, length = rows.shape
    flat = rows.ravel()
    # A run starts where the value changes or a new row begins.
    starts = np.ones(flat.size, dtype=bool)
    starts[1:] = flat[1:] != flat[:-1]
    starts[::length] = True
    start_positions = np.flatnonzero(starts)
    run_lengths = np.diff(np.append(start_positions, flat.size))
    scaled = flat * np.repeat(run_lengths, run_lengths).astype(flat.dtype)
    return scaled.reshape(status.shape)


NORMALISATIONS = ("peak", "clip")
#: A built-in normalisation's name, or a definition's own: a function of the clipped windows in
#: counts ``(N, L)`` and their clip levels in counts ``(N,)`` that returns each window's scale
#: ``(N,)``. It sees only what a clipped record shows, so restoration computes it the same way.
Normalisation = Union[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]


def normalisation_name(normalisation: Normalisation) -> str:
    return normalisation if isinstance(normalisation, str) else normalisation.__name__


@dataclass(frozen=True)
class ClippedWindows:
    """Windows ``(N, L)`` as a network's inputs are made from: the clipped samples divided by the
    window's scale, the status -1/0/+1 (scaled by run length with sbrl), and each window's clip
    level in the same units ``(N,)``."""

    clipped: np.ndarray
    status: np.ndarray
    clip_level: np.ndarray


def scaled_windows(counts: np.ndarray, status: np.ndarray, clip_counts: np.ndarray, scale: np.ndarray,
                   sbrl: bool) -> ClippedWindows:
    """Windows as a network sees them, from windows in counts ``(N, L)`` (clipped, or the
    unclipped truth to clip), their status -1/0/+1, their clip levels in counts ``(N,)`` and their
    scales ``(N,)``: clipped at the clip level and divided by the scale, the status scaled by run
    length with ``sbrl``. Training, restoring and evaluating all scale windows here, so that a
    network sees at restoration exactly what it saw in training."""
    scale = np.asarray(scale, dtype=np.float64)
    level = np.asarray(clip_counts, dtype=np.float64) / scale
    clipped = np.clip(np.asarray(counts, dtype=np.float64) / scale[:, None], -level[:, None], level[:, None])
    status = scale_by_run_length(status) if sbrl else np.asarray(status)
    return ClippedWindows(clipped, status.astype(np.float64), level)


@dataclass(frozen=True)
class LabelledSegments:
    """Segments as training sees them, each divided by its scale: the clipped input, the target
    and the clip level in those units, and the status."""

    clipped: np.ndarray      # (N, L) float64
    targets: np.ndarray      # (N, L) float64
    status: np.ndarray       # (N, L) int32, scaled by run length with sbrl
    clip_level: np.ndarray   # (N,) float64

    @property
    def windows(self) -> ClippedWindows:
        return ClippedWindows(self.clipped, self.status.astype(np.float64), self.clip_level)


def clip_and_label(segments: np.ndarray, clip_fraction: np.ndarray, sbrl: bool = False,
                   normalisation: Normalisation = "peak") -> LabelledSegments:
    """Normalise unclipped segments (counts ``(N, L)``, each with a non-zero peak), clip each at its
    ``clip_fraction`` times its peak, and label the clipped samples."""
    if not (normalisation in NORMALISATIONS or callable(normalisation)):
        raise ValueError(f"normalisation must be one of {NORMALISATIONS} or a function, got {normalisation!r}")
    segments = np.asarray(segments, dtype=np.float64)
    clip_fraction = np.asarray(clip_fraction, dtype=np.float64)
    peaks = peak_amplitude(segments)
    if np.any(peaks == 0):
        raise ValueError("a segment is all zeros: it has no peak to normalise by")
    clip_counts = clip_fraction * peaks
    if normalisation == "peak":
        scale = peaks
    elif normalisation == "clip":
        scale = clip_counts
    else:
        scale = np.asarray(normalisation(np.clip(segments, -clip_counts[:, None], clip_counts[:, None]), clip_counts),
                           dtype=np.float64)
    targets = segments / scale[:, None]
    windows = scaled_windows(segments, clip_status(targets, clip_counts / scale), clip_counts, scale, sbrl)
    return LabelledSegments(windows.clipped, targets, windows.status.astype(np.int32), windows.clip_level)

