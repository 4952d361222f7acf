"""The recommended restoration, ``hybrid``: each clipped run restored by the network where the
record is rough around it, and by the cubic spline where it is smooth.

A network trained on short-period records restores the clipped peaks of a short-period or
strong-motion record better than any classic method, but restores the broad peaks of a
teleseismic broadband record jagged and too low, where the spline, which extends the curvature
of the unclipped samples, is close to exact (docs/restoration.md, "Real records"). What tells
the two apart is how smooth the record is at the scale of its samples, which the unclipped
samples show: the **roughness** of a stretch, the RMS of its second difference divided by the RMS
of its first difference over the unclipped samples, is ``2 sin(π / T)`` for a sinusoid of period
``T`` samples, near 0 for a slow wave and near 2 for noise at the Nyquist frequency.
"""

from __future__ import annotations

import numpy as np

from ..bank.clipping import runs_of
from .baselines import enforce_clip_consistency

#: A clipped run is restored by the spline where the record around it is at most this rough, as
#: a sinusoid of 15.6 samples (0.39 s at 40 Hz) or slower is. On the development set (bench/real_records.py)
#: thresholds from 0.3 to 0.5 sent every teleseismic run to the spline and almost every
#: short-period one to the network; 0.2 left some teleseismic runs with the network.
SMOOTH_ROUGHNESS = 0.4
#: The neighbourhood whose roughness decides a run: this many times the run's length on each
#: side, and at least HYBRID_NEIGHBOURHOOD_MIN samples.
HYBRID_NEIGHBOURHOOD_RUNS = 3
HYBRID_NEIGHBOURHOOD_MIN = 32


def roughness(values: np.ndarray, known: np.ndarray) -> float:
    """RMS of the second difference over RMS of the first, on the stretches of ``values`` where
    three consecutive samples are ``known``; infinite where fewer than four such stretches are."""
    usable = known[2:] & known[1:-1] & known[:-2]
    if np.count_nonzero(usable) < 4:
        return float("inf")
    first = np.diff(values)[:-1][usable]
    second = np.diff(values, 2)[usable]
    spread = float(np.sqrt(np.mean(first**2)))
    return float(np.sqrt(np.mean(second**2))) / spread if spread > 0 else 0.0


def smooth_runs(values: np.ndarray, status: np.ndarray) -> np.ndarray:
    """Which samples lie in a clipped run whose neighbourhood is at most SMOOTH_ROUGHNESS rough."""
    values = np.asarray(values, dtype=np.float64)
    known = np.asarray(status) == 0
    smooth = np.zeros(values.size, dtype=bool)
    for start, stop in runs_of(~known):
        reach = max(HYBRID_NEIGHBOURHOOD_RUNS * (stop - start), HYBRID_NEIGHBOURHOOD_MIN)
        first, last = max(start - reach, 0), min(stop + reach, values.size)
        smooth[start:stop] = roughness(values[first:last], known[first:last]) <= SMOOTH_ROUGHNESS
    return smooth


def combine_by_smoothness(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
                          network: np.ndarray, spline: np.ndarray) -> np.ndarray:
    """The network's estimate, with the spline's on the smooth runs (:func:`smooth_runs`)."""
    estimate = np.where(smooth_runs(values, status), spline, network)
    return enforce_clip_consistency(estimate, values, status, clip_high, clip_low)
