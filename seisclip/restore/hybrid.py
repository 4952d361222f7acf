"""The recommended restoration, ``hybrid``: each clipped run restored by the network (blended
with POCS) where the record is rough around it, and by the cubic spline where it is smooth.

A network trained on short-period records restores the clipped peaks of a short-period or
strong-motion record better than any classic method, but restores the broad peaks of a
teleseismic broadband record jagged and too low, where the spline, which extends the curvature
of the unclipped samples, is close to exact (docs/restoration.md, "Real records"). What tells
the two apart is how smooth the record is at the scale of its samples, which the unclipped
samples show: the **roughness** of a stretch, the RMS of its second difference divided by the RMS
of its first difference over the unclipped samples, is ``2 sin(π / T)`` for a sinusoid of period
``T`` samples, near 0 for a slow wave and near 2 for noise at the Nyquist frequency.

On a rough run the network's estimate is blended with POCS's (NETWORK_SHARE): the two err in
different ways, a network trained on generated records and a sparse spectrum fitted to the
record's own neighbourhood, and on the development set of real records their blend erred less
than either alone (docs/restoration.md, "Which method to use").

On a smooth run the spline is doubted where its peak rises far higher above the clip level than
the blend's (SPLINE_DOUBT_RATIO): across a long run, over a broad peak with a second one inside
it, its cubic follows the slopes at the run's ends far past the truth. There it keeps only
DOUBTED_SPLINE_SHARE of the estimate and the blend the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..bank.clipping import runs_of
from .band import BandCalibration, SelfCheck, band_of, spread_of, widening
from .baselines import enforce_clip_consistency
from .methods import WINDOW_SPREAD, Restoration, RestorationMethod
from .records import ClippedRecord

#: A clipped run is restored by the spline where the record around it is at most this rough, as
#: a sinusoid of 15.6 samples (0.39 s at 40 Hz) or slower is. On the development set (bench/real_records.py)
#: thresholds from 0.3 to 0.5 sent every teleseismic run to the spline and almost every
#: short-period one to the network; 0.2 left some teleseismic runs with the network.
SMOOTH_ROUGHNESS = 0.4
#: The neighbourhood whose roughness decides a run: this many times the run's length on each
#: side, and at least HYBRID_NEIGHBOURHOOD_MIN samples.
HYBRID_NEIGHBOURHOOD_RUNS = 3
HYBRID_NEIGHBOURHOOD_MIN = 32
#: A rough run's estimate: this share of the network's, the rest POCS's. On the development set
#: (bench/bench_hybrid_rules.py, def004), the real records' median error pooled at 70 % fell from
#: 0.761 × the spline's with the network alone to 0.725 with 0.8 and 0.717 with 0.65; at 40 %, 0.8
#: was the best of the three (0.700 against 0.711 and 0.727), and on generated records clipped at
#: 95 % it made none worse than the clipped input, where the network alone and 0.65 made 2.
NETWORK_SHARE = 0.8
#: A smooth run's spline is doubted where its peak excess over the clip level is at least this
#: many times the blend's, and then keeps DOUBTED_SPLINE_SHARE of the run's estimate. On the
#: development set (bench/bench_hybrid_rules.py, def004) the truth on such runs lay at a median
#: 0.71 of the spline's excess and 2.9 times the blend's; the spline overshot twice the truth's
#: excess on 11 % of these 55 runs, against 1 % where the two agree within 1.2 times. Ratios of
#: 2 and 2.5 put the teleseismic median above the spline's at some levels, 3.5 left more records
#: worse than the clipped input; shares of 0.2 and 0.4 measured within a record of 0.3.
SPLINE_DOUBT_RATIO = 3.0
DOUBTED_SPLINE_SHARE = 0.3


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


def blend_for_rough_runs(network: np.ndarray, pocs: np.ndarray) -> np.ndarray:
    """NETWORK_SHARE × the network's estimate + the rest × POCS's."""
    return NETWORK_SHARE * np.asarray(network) + (1.0 - NETWORK_SHARE) * np.asarray(pocs)


def spline_shares(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
                  spline: np.ndarray, blend: np.ndarray) -> np.ndarray:
    """Per sample, the spline's share of the hybrid's estimate, the ``blend`` having the rest: 1 on a
    smooth run (:func:`smooth_runs`), DOUBTED_SPLINE_SHARE on a smooth run whose spline peak rises
    SPLINE_DOUBT_RATIO times as far beyond the clip level as the blend's, 0 elsewhere."""
    status = np.asarray(status)
    shares = smooth_runs(values, status).astype(np.float64)
    for start, stop in runs_of(status != 0):
        if not shares[start]:
            continue
        side, level = (1.0, clip_high) if status[start] > 0 else (-1.0, clip_low)
        spline_excess = float(np.max(side * (spline[start:stop] - level)))
        blend_excess = max(float(np.max(side * (blend[start:stop] - level))), 0.0)
        if spline_excess > 0 and spline_excess >= SPLINE_DOUBT_RATIO * blend_excess:
            shares[start:stop] = DOUBTED_SPLINE_SHARE
    return shares


def blend_by_shares(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
                    shares: np.ndarray, spline: np.ndarray, blend: np.ndarray) -> np.ndarray:
    """``shares`` × the spline's estimate + the rest × the blend's, clip-consistent."""
    estimate = shares * np.asarray(spline) + (1.0 - shares) * np.asarray(blend)
    return enforce_clip_consistency(estimate, values, status, clip_high, clip_low)


@dataclass
class HybridEstimate:
    restored: np.ndarray       # clip-consistent
    network_share: np.ndarray  # per sample, the network's share of the estimate


def combine_by_smoothness(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
                          network: np.ndarray, spline: np.ndarray, pocs: np.ndarray) -> HybridEstimate:
    """The hybrid's estimate from the network's, the spline's and POCS's: the spline's on the smooth
    runs, :func:`blend_for_rough_runs` on the others and :func:`spline_shares` of each on a smooth
    run whose spline is doubted."""
    blend = blend_for_rough_runs(network, pocs)
    shares = spline_shares(values, status, clip_high, clip_low, spline, blend)
    return HybridEstimate(blend_by_shares(values, status, clip_high, clip_low, shares, spline, blend),
                          (1.0 - shares) * NETWORK_SHARE)


#: The hybrid's diagnostic: how many times wider than calibrated its band is on the record.
BAND_WIDENING = "band_widening"


@dataclass
class _Combined:
    network: Restoration
    estimate: HybridEstimate
    spread: np.ndarray          # of the network's, the spline's, POCS's and the hybrid's estimates
    seconds: float


class HybridMethod:
    """``hybrid``: :func:`combine_by_smoothness` of the ``network`` method's, the ``spline``'s and
    ``pocs``'s restorations. Its spread across windows is the network's, in the network's share.
    With a ``calibration`` of its network (:mod:`.band`) it gives the 90 % band."""

    name = "hybrid"

    def __init__(self, network: RestorationMethod, spline: RestorationMethod, pocs: RestorationMethod,
                 calibration: BandCalibration | None = None):
        self.network, self.spline, self.pocs = network, spline, pocs
        self.calibration = calibration

    def restore(self, record: ClippedRecord) -> Restoration:
        return self.restore_all([record])[0]

    def combined(self, records: list[ClippedRecord]) -> list[_Combined]:
        combined = []
        for record, network in zip(records, self.network.restore_all(records)):
            started = time.perf_counter()
            spline, pocs = self.spline.restore(record).restored, self.pocs.restore(record).restored
            hybrid = combine_by_smoothness(record.values, record.status, record.clip_high, record.clip_low,
                                           network.restored, spline, pocs)
            combined.append(_Combined(network, hybrid, spread_of(network.restored, spline, pocs, hybrid.restored),
                                      time.perf_counter() - started))
        return combined

    def restore_all(self, records: list[ClippedRecord]) -> list[Restoration]:
        # The self-checks first: the network's last restorations are then the records' own,
        # which the network alone, asked for the same records, gives again.
        checks = [SelfCheck.of(record) for record in records] if self.calibration else []
        checked = self.combined([check.record for check in checks]) if checks else []
        restorations = []
        for position, (record, combined) in enumerate(zip(records, self.combined(records))):
            network, hybrid = combined.network, combined.estimate
            diagnostics = {**network.diagnostics, WINDOW_SPREAD: hybrid.network_share * network.window_spread}
            restoration = Restoration(hybrid.restored, self.name, network.windows, network.seconds + combined.seconds,
                                      diagnostics=diagnostics)
            if self.calibration is not None:
                check, check_combined = checks[position], checked[position]
                widen = widening(check.residuals(record, check_combined.estimate.restored, check_combined.spread),
                                 self.calibration)
                restoration.lower, restoration.upper = band_of(record, hybrid.restored, combined.spread, widen,
                                                               self.calibration)
                restoration.band = self.calibration.band
                restoration.diagnostics[BAND_WIDENING] = widen
                restoration.seconds += check_combined.network.seconds + check_combined.seconds
            restorations.append(restoration)
        return restorations
