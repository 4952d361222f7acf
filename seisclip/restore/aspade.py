"""A-SPADE, the analysis sparse audio declipper (Kitić, Bertin & Gribonval 2015), as a baseline.

The record is cut into overlapping frames; each frame that holds clipped samples is restored on
its own by ADMM: look for the signal whose spectrum (a redundancy-2 DFT frame, a Parseval tight
frame) is sparsest among the signals consistent with the record — unclipped samples as
recorded, clipped ones at or beyond their clip level — raising the number of coefficients
kept by ``SPARSITY_STEP`` every iteration until the sparse spectrum and the consistent signal
agree within ``TOLERANCE``. Frames are then averaged with Hann weights; an average of
consistent frames is consistent. All frames are iterated together, as one array.

Seismograms are far less sparse than music: on short-period records whose clipped runs are one
or two samples of near-white signal, A-SPADE's estimate can be further from the truth than the
clipped input. :func:`restore_aspade` therefore checks itself on the record first
(:func:`seisclip.restore.baselines.self_checked`).
"""

from __future__ import annotations

import numpy as np

from .baselines import enforce_clip_consistency, self_checked
from .records import window_starts

#: 512 samples (12.8 s at 40 Hz) hop 128: on generated records (seeds 500–539, 70 % and 40 %
#: clipping) as good as the survey's 1,024 / 256 in the median and worse than the input on 6
#: records instead of 10; 2,048 was worse on 16.
FRAME = 512
HOP = 128
#: Coefficients added to the sparsity each iteration, and the iterations allowed.
SPARSITY_STEP = 2
MAX_ITERATIONS = 1000
#: ||A x - z|| at which a frame has converged, in units of its clip level times sqrt(frame length):
#: stopping sooner, at fewer coefficients, overshoots less (1e-3 and 1e-2 measured slightly worse).
TOLERANCE = 3e-2


class _TightDFT:
    """The redundancy-2 DFT of real frames, weighted so that ``synthesis(analysis(x)) == x`` and
    ``||analysis(x)|| == ||x||`` (a Parseval tight frame: synthesis is the analysis' adjoint)."""

    def __init__(self, length: int):
        self.length, self.size = length, 2 * length
        weights = np.full(self.size // 2 + 1, np.sqrt(2.0))
        weights[[0, -1]] = 1.0
        self.weights = weights / np.sqrt(self.size)

    def analysis(self, frames: np.ndarray) -> np.ndarray:
        return np.fft.rfft(frames, n=self.size, axis=-1) * self.weights

    def synthesis(self, coefficients: np.ndarray) -> np.ndarray:
        return np.fft.irfft(coefficients / self.weights, n=self.size, axis=-1)[..., :self.length]


def _keep_largest(coefficients: np.ndarray, count: int) -> np.ndarray:
    """Each row with all but its ``count`` largest-magnitude coefficients set to zero."""
    magnitude = np.abs(coefficients)
    if count >= magnitude.shape[-1]:
        return coefficients
    threshold = np.partition(magnitude, -count, axis=-1)[:, -count][:, None]
    return np.where(magnitude >= threshold, coefficients, 0.0)


def _consistent(estimate: np.ndarray, frames: np.ndarray, status: np.ndarray, high: np.ndarray,
                low: np.ndarray) -> np.ndarray:
    """Rows of ``estimate`` projected on their consistent sets (``high``, ``low``: (N, 1) clip levels)."""
    return np.where(status > 0, np.maximum(estimate, high), np.where(status < 0, np.minimum(estimate, low), frames))


def declip_windows(frames: np.ndarray, status: np.ndarray, clip_high: np.ndarray, clip_low: np.ndarray) -> np.ndarray:
    """A-SPADE on every row of ``frames`` (N, L) at once, each with its own clip levels (N,);
    rows stop as they converge."""
    frames = np.asarray(frames, dtype=np.float64)
    status = np.asarray(status)
    high = np.asarray(clip_high, dtype=np.float64).reshape(-1, 1)
    low = np.asarray(clip_low, dtype=np.float64).reshape(-1, 1)
    operator = _TightDFT(frames.shape[-1])
    tolerance = TOLERANCE * np.maximum(high, -low)[:, 0] * np.sqrt(frames.shape[-1])
    restored = frames.copy()
    # The rows still iterating, and their state, kept as arrays of those rows only: a row leaves
    # them for ``restored`` when it converges.
    rows = np.arange(len(frames))
    estimate = frames.copy()
    dual = np.zeros((len(frames), operator.size // 2 + 1), dtype=complex)
    coefficients = operator.analysis(estimate)
    for iteration in range(1, MAX_ITERATIONS + 1):
        sparse = _keep_largest(coefficients + dual, SPARSITY_STEP * iteration)
        estimate = _consistent(operator.synthesis(sparse - dual), frames, status, high, low)
        coefficients = operator.analysis(estimate)
        residual = coefficients - sparse
        dual += residual
        converged = np.linalg.norm(residual, axis=-1) <= tolerance
        if np.any(converged):
            restored[rows[converged]] = estimate[converged]
            going_on = ~converged
            rows, estimate, dual, coefficients = rows[going_on], estimate[going_on], dual[going_on], coefficients[going_on]
            frames, status, high, low = frames[going_on], status[going_on], high[going_on], low[going_on]
            tolerance = tolerance[going_on]
            if not rows.size:
                break
    restored[rows] = estimate
    return restored


def restore_aspade(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
                   frame: int = FRAME, hop: int = HOP) -> np.ndarray:
    """The record with its clipped samples restored by A-SPADE on overlapping frames, kept only as
    far as it passes its check on the record (:func:`~seisclip.restore.baselines.self_checked`)."""
    return self_checked(lambda *clipped: aspade_frames(*clipped, frame=frame, hop=hop),
                        values, status, clip_high, clip_low)


def aspade_frames(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
                  frame: int = FRAME, hop: int = HOP) -> np.ndarray:
    """A-SPADE on overlapping frames, without the self-check."""
    values = np.asarray(values, dtype=np.float64)
    status = np.asarray(status)
    if not np.any(status):
        return values.copy()
    frame = min(frame, values.size)
    starts = window_starts(values.size, frame, hop, status != 0)
    positions = starts[:, None] + np.arange(frame)
    restored = declip_windows(values[positions], status[positions], np.full(len(starts), clip_high),
                              np.full(len(starts), clip_low))

    weight = np.hanning(frame + 2)[1:-1]   # no zero weight at the frame's ends
    total, weights = np.zeros(values.size), np.zeros(values.size)
    np.add.at(total, positions, restored * weight)
    np.add.at(weights, positions, np.broadcast_to(weight, positions.shape))
    estimate = np.where(weights > 0, total / np.maximum(weights, 1e-300), values)
    return enforce_clip_consistency(estimate, values, status, clip_high, clip_low)
