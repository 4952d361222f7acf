"""From an unclipped segment to what a network sees: normalised, clipped input and status labels.

For a segment ``y`` with peak ``max|y|`` and clip level ``rscale`` (a fraction of that peak):

* the target is ``y / scale``, where the scale is the peak (normalisation ``"peak"``: the
  target lies in [-1, 1]) or the clip level in counts, ``rscale * peak`` (normalisation
  ``"clip"``: the clipped input lies in [-1, 1] and the target reaches ``1 / rscale``);
* the clipped input is the target clipped to the clip level;
* the status is +1 where the target is above the clip level, -1 where it is below minus the
  clip level, 0 elsewhere; with *sbrl* (scale by run length) each run of equal non-zero
  status is multiplied by its length, so four consecutive -1 become four -4.

Peak normalisation needs the true peak, which a clipped record hides; clip normalisation needs
only the clip level, which a clipped record shows, so a model trained with it sees at
restoration exactly what it saw in training.
"""

from __future__ import annotations

import numpy as np

#: Segments whose peak |count| is below this are mostly digitiser noise and are skipped.
DEFAULT_MIN_PEAK = 50.0


def peak_amplitude(segments: np.ndarray) -> np.ndarray:
    """Peak |value| of each segment (last axis)."""
    return np.max(np.abs(segments), axis=-1)


def clip_status(normalised: np.ndarray, rscale: np.ndarray | float) -> np.ndarray:
    """+1 above the clip level, -1 below minus the clip level, 0 within."""
    level = np.asarray(rscale, dtype=np.float64)
    if level.ndim:  # one level per segment
        level = level[..., None]
    return (normalised > level).astype(np.int32) - (normalised < -level).astype(np.int32)


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


def make_training_pairs(segments: np.ndarray, rscale: np.ndarray, sbrl: bool = False,
                        normalisation: str = "peak") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Network inputs ``(N, L, 2)`` = (clipped, status), targets ``(N, L)`` and statuses ``(N, L)``.

    ``segments`` are unclipped counts ``(N, L)``, each with a non-zero peak; ``rscale`` ``(N,)``.
    """
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {normalisation!r}")
    segments = np.asarray(segments, dtype=np.float64)
    rscale = np.asarray(rscale, dtype=np.float64)
    peaks = peak_amplitude(segments)
    if np.any(peaks == 0):
        raise ValueError("a segment is all zeros: it has no peak to normalise by")
    if normalisation == "peak":
        scale, level = peaks, rscale
    else:
        scale, level = rscale * peaks, np.ones_like(rscale)
    targets = segments / scale[:, None]
    clipped = np.clip(targets, -level[:, None], level[:, None])
    status = clip_status(targets, level)
    if sbrl:
        status = scale_by_run_length(status)
    inputs = np.stack([clipped, status.astype(np.float64)], axis=-1)
    return inputs.astype(np.float32), targets.astype(np.float32), status
