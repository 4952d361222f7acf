"""Classic restorations of clipped samples, to measure the networks against.

Both take the recorded values, the status (-1 / 0 / +1) and the two clip levels, and return an
estimate in which only clipped samples differ from the input and every clipped sample lies at
or beyond its clip level.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from ..bank.clipping import runs_of

#: Unclipped neighbours used on each side of a clipped run by the spline.
SPLINE_NEIGHBOURS = 4
POCS_ITERATIONS = 200
#: POCS keeps the frequencies holding this fraction of the clipped record's energy.
POCS_ENERGY_FRACTION = 0.99


def enforce_clip_consistency(estimate: np.ndarray, values: np.ndarray, status: np.ndarray,
                             clip_high: float, clip_low: float) -> np.ndarray:
    """Unclipped samples exactly as recorded; clipped ones at or beyond their clip level."""
    restored = values.astype(np.float64, copy=True)
    above, below = status > 0, status < 0
    restored[above] = np.maximum(estimate[above], clip_high)
    restored[below] = np.minimum(estimate[below], clip_low)
    return restored


def restore_spline(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
                   neighbours: int = SPLINE_NEIGHBOURS) -> np.ndarray:
    """A cubic spline across each clipped run through up to ``neighbours`` unclipped samples on
    each side. A run touching the record's first or last sample has one side only, where a cubic
    would extrapolate without bound: it stays at its clip level."""
    values = np.asarray(values, dtype=np.float64)
    estimate = values.copy()
    unclipped = np.flatnonzero(status == 0)
    for start, stop in runs_of(status != 0):
        left = unclipped[unclipped < start][-neighbours:]
        right = unclipped[unclipped >= stop][:neighbours]
        if left.size and right.size:
            known = np.concatenate([left, right])
            estimate[start:stop] = CubicSpline(known, values[known])(np.arange(start, stop))
    return enforce_clip_consistency(estimate, values, status, clip_high, clip_low)


def pocs_band_limit(values: np.ndarray, energy_fraction: float = POCS_ENERGY_FRACTION) -> int:
    """Number of low-frequency rfft bins that hold ``energy_fraction`` of the record's energy."""
    power = np.abs(np.fft.rfft(values - values.mean())) ** 2
    cumulative = np.cumsum(power)
    if cumulative[-1] == 0:
        return power.size
    return int(np.searchsorted(cumulative, energy_fraction * cumulative[-1]) + 1)


def restore_pocs(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
                 iterations: int = POCS_ITERATIONS, band_bins: int | None = None) -> np.ndarray:
    """Projection onto convex sets (Zhang et al. 2016, Sci. Rep. 6:39056): alternate projecting on
    band-limited signals (zero the rfft above ``band_bins``) and on signals consistent with the
    record (unclipped samples as recorded, clipped ones beyond their clip level)."""
    values = np.asarray(values, dtype=np.float64)
    if not np.any(status):
        return values.copy()
    band_bins = pocs_band_limit(values) if band_bins is None else band_bins
    estimate = values.copy()
    for _ in range(iterations):
        spectrum = np.fft.rfft(estimate)
        spectrum[band_bins:] = 0.0
        estimate = enforce_clip_consistency(np.fft.irfft(spectrum, n=values.size), values, status, clip_high, clip_low)
    return estimate
