"""CWRΔt after Edwards, Ntinalexis, Vanneste & van Elk (2025, Seismological Research Letters,
doi:10.1785/0220250139): POCS on overlapping time segments sized from the record's corner
frequency, repeated on several offsets of the segment grid; the realisations' mean is the
restoration and their spread per sample gives its band.

seisclip builds it from the paper's published description (segments sized from the corner
frequency, offset realisations giving a mean and a per-sample standard deviation, an optional
limit on the derivative), not from its text, which was not reached, nor from any code. Every
parameter below is therefore seisclip's choice, each with its reason:

* **corner frequency**: the median frequency of the record's power spectrum (the frequency below
  which half its power lies), computed on the record as recorded, less its mean, under a Hann
  taper, the clipped samples at their clip levels: on the development set clipped at 40 % and
  70 %, that gave the unclipped record's corner period within 0.2 % in each family's median,
  where zeroing the clipped samples (the unclipped samples alone) shortened it, to half on
  teleseismic records at 40 %. How the paper estimates its corner frequency is not known here;
  this one is a scale for the segments. The corner period is at least
  :data:`CORNER_PERIOD_MIN_SAMPLES` (4 samples, half the Nyquist frequency).
* **segment length**: :data:`SEGMENT_CORNER_PERIODS` (8) corner periods, at least
  :data:`SEGMENT_MIN_SAMPLES` (64) and :data:`SEGMENT_RUN_MULTIPLE` (8) times the longest clipped
  run, so that a segment holds known samples on both sides of every run as POCS's neighbourhoods
  do (3 run lengths on each side), and at most half the record, so that the offsets move the
  segment grid (on a short record this bound wins). 2, 4, 8 and 16 corner periods were compared:
  on 20 sums of six sinusoids clipped at half their peak, only 8 and 16 kept every error within
  5 % of the peak (2 and 4 reached 6.5 % and 6.0 %); of those two, 8 erred less on the
  development set in 5 of its 8 families and levels (40 % and 70 %), as much in one, at most 1 %
  more in the others. There 2 and 4 mostly erred 1 to 5 % less than 8 (more on generated records
  at 70 %), and 2 on teleseismic records at 70 % 17 % less. The two minimums were not varied.
* **overlap**: segments half a segment apart, each sample in two segments of a realisation,
  combined with Hann weights of the full segment (without its zero ends; a segment cut at the
  record's end keeps the weights it would have had), as A-SPADE combines its frames: a sample
  near a segment's edge, where the DFT's wrap-round spoils POCS, counts least.
* **POCS**: :func:`seisclip.restore.baselines.pocs_spans`, with POCS's own iterations and
  threshold floor (:data:`~seisclip.restore.baselines.POCS_ITERATIONS`,
  :data:`~seisclip.restore.baselines.POCS_THRESHOLD_FLOOR`), each segment zero-padded to the
  power of two at least twice the segment's length; only segments holding a clipped sample are
  iterated, those of every realisation together, as one array.
* **realisations**: :data:`REALISATIONS` (8) grids, the r-th shifted by r / 8 of the hop: evenly
  spread offsets, no random draw, so that a record always restores alike. On generated records
  and sums of sinusoids, 4 held the truth less often (49 % against 55 % of the clipped samples
  at 70 %), and 16 did about as well as 8, at twice the time.
* **result**: the realisations' mean, made clip-consistent; :data:`REALISATION_SPREAD` in the
  diagnostics is their standard deviation per sample (with Bessel's correction; 0 on unclipped
  samples).
* **band**: mean ± :data:`BAND_Z` (1.645, the normal's 95th percentile) × that standard
  deviation, a central 90 % interval if the realisations' errors were normal with that spread,
  passed through :func:`~seisclip.restore.methods.clip_bounded`. The realisations' 5th to 95th
  percentiles held the truth less often everywhere it was compared (generated records at 70 % and
  40 %, sums of sinusoids). The spread is the segment grid's disagreement with itself, not the
  error: on the development set the band holds 45 to 68 % of the clipped samples' truth per family
  and level (``bench/bench_cwr_development.py``). Its :class:`~seisclip.restore.methods.Band` is
  therefore a nominal one, not calibrated.
* **runs at the record's ends**: left at their clip level, as POCS and the spline leave them
  (the DFT wraps the padding round onto them); their band is all the record says: from the clip
  level outwards without bound (±infinity).
* **derivative limit**: not applied. Bounding each clipped sample by what a slope of k times the
  record's steepest step between unclipped samples reaches from the run's ends, for k = 1, 1.5
  and 2, changed the median error on generated records and sums of sinusoids by at most 0.0001 of
  the peak, and on the development set, for k = 1.5 and 2, not at all to 4 digits; with k = 1 the
  truth broke the bound on a fifth of the median local_volcanic record's clipped samples, and the
  error rose (0.155 to 0.160 of the peak at 40 %).
"""

from __future__ import annotations

import time

import numpy as np

from ..bank.clipping import runs_of
from .baselines import enforce_clip_consistency, keep_end_runs, pocs_spans
from .methods import Band, RecordByRecord, Restoration, clip_bounded
from .records import ClippedRecord

#: A segment is this many corner periods long, at least SEGMENT_MIN_SAMPLES and
#: SEGMENT_RUN_MULTIPLE × the longest clipped run, at most half the record (the module's notes).
SEGMENT_CORNER_PERIODS = 8
SEGMENT_MIN_SAMPLES = 64
SEGMENT_RUN_MULTIPLE = 8
#: The shortest corner period, in samples: half the Nyquist frequency.
CORNER_PERIOD_MIN_SAMPLES = 4.0
#: Offsets of the segment grid, each a realisation.
REALISATIONS = 8
#: The band is the mean ± this many standard deviations of the realisations: the standard
#: normal's 95th percentile, for a central 90 % interval.
BAND_Z = 1.6448536269514722
#: :attr:`~seisclip.restore.methods.Restoration.diagnostics` key: the realisations' standard
#: deviation per sample (0 on unclipped samples and where they agree).
REALISATION_SPREAD = "realisation_spread"

BAND = Band(f"mean ± {BAND_Z:.3f} × the standard deviation of {REALISATIONS} offset realisations of CWRΔt "
            f"(clip-bounded)", central_fraction=0.9, calibrated=False)


def corner_period_samples(values: np.ndarray) -> float:
    """The record's corner period in samples: one over the median frequency of its power spectrum
    (module notes), at least :data:`CORNER_PERIOD_MIN_SAMPLES`."""
    values = np.asarray(values, dtype=np.float64)
    power = np.abs(np.fft.rfft((values - values.mean()) * np.hanning(values.size))) ** 2
    power[0] = 0.0
    cumulative = np.cumsum(power)
    if not cumulative[-1] > 0:   # a constant record: no frequency to speak of
        return CORNER_PERIOD_MIN_SAMPLES
    median_bin = max(int(np.searchsorted(cumulative, 0.5 * cumulative[-1])), 1)
    return max(values.size / median_bin, CORNER_PERIOD_MIN_SAMPLES)


def segment_samples(values: np.ndarray, status: np.ndarray) -> int:
    """The segment length in samples (module notes): :data:`SEGMENT_CORNER_PERIODS` corner
    periods, at least :data:`SEGMENT_MIN_SAMPLES` and :data:`SEGMENT_RUN_MULTIPLE` × the longest
    clipped run, at most half the record."""
    longest_run = max((stop - start for start, stop in runs_of(np.asarray(status) != 0)), default=0)
    wanted = max(SEGMENT_CORNER_PERIODS * corner_period_samples(values), SEGMENT_MIN_SAMPLES,
                 SEGMENT_RUN_MULTIPLE * longest_run)
    return max(min(int(round(wanted)), values.size // 2), 1)


def realisations(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
                 segment: int) -> np.ndarray:
    """:data:`REALISATIONS` restorations ``(REALISATIONS, L)``, each POCS on a grid of
    ``segment``-sample segments half a segment apart, the r-th grid shifted by r / REALISATIONS of
    that hop; each clip-consistent, with runs at the record's ends at their clip level."""
    values = np.asarray(values, dtype=np.float64)
    status = np.asarray(status)
    size, count = values.size, REALISATIONS
    hop = max(segment // 2, 1)
    clipped_before = np.concatenate([[0], np.cumsum(status != 0)])
    starts, owners = [], []
    for realisation in range(count):
        grid = realisation * hop // count + hop * np.arange(-(segment // hop) - 1, size // hop + 2)
        grid = grid[(grid > -segment) & (grid < size)]
        holds_clipped = clipped_before[np.minimum(grid + segment, size)] > clipped_before[np.maximum(grid, 0)]
        starts.append(grid[holds_clipped])
        owners.append(np.full(np.count_nonzero(holds_clipped), realisation))
    start, owner = np.concatenate(starts), np.concatenate(owners)
    spans = np.stack([np.maximum(start, 0), np.minimum(start + segment, size)], axis=1)
    weight = np.hanning(segment + 2)[1:-1]   # no zero weight at a segment's ends
    total, weights = np.zeros((count, size)), np.zeros((count, size))
    # Every segment padded as a whole one is, the segments cut at the record's ends too: one array.
    padded = 2 ** int(np.ceil(np.log2(2 * segment)))
    for (first, stop), segment_start, realisation, estimate in zip(
            spans, start, owner, pocs_spans(values, status, clip_high, clip_low, spans, padded_length=padded)):
        segment_weight = weight[first - segment_start:stop - segment_start]
        total[realisation, first:stop] += segment_weight * estimate
        weights[realisation, first:stop] += segment_weight
    combined = np.where(weights > 0, total / np.maximum(weights, 1e-300), values)
    return np.array([enforce_clip_consistency(keep_end_runs(estimate, values, status), values, status, clip_high,
                                              clip_low) for estimate in combined])


def restore_cwr(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(restored, lower, upper, spread)``: the realisations' mean, made clip-consistent, its band
    (:data:`BAND`) and the realisations' standard deviation per sample."""
    values = np.asarray(values, dtype=np.float64)
    status = np.asarray(status)
    if not np.any(status):
        return values.copy(), values.copy(), values.copy(), np.zeros(values.size)
    estimates = realisations(values, status, clip_high, clip_low, segment_samples(values, status))
    restored = enforce_clip_consistency(estimates.mean(axis=0), values, status, clip_high, clip_low)
    # Zero where every realisation holds the recorded value, not the rounding of their mean.
    spread = np.where(status != 0, estimates.std(axis=0, ddof=1), 0.0)
    lower, upper = restored - BAND_Z * spread, restored + BAND_Z * spread
    for start, stop in runs_of(status != 0):
        if start == 0 or stop == values.size:   # left at the clip level: beyond it, the record says nothing
            upper[start:stop][status[start:stop] > 0] = np.inf
            lower[start:stop][status[start:stop] < 0] = -np.inf
    lower, upper = clip_bounded(lower, upper, restored, status, clip_high, clip_low)
    return restored, lower, upper, spread


class CWRMethod(RecordByRecord):
    """CWRΔt (after Edwards et al. 2025) as a restoration method with a band."""

    name = "cwr"

    def restore(self, record: ClippedRecord) -> Restoration:
        started = time.perf_counter()
        restored, lower, upper, spread = restore_cwr(record.values, record.status, record.clip_high, record.clip_low)
        return Restoration(restored, self.name, seconds=time.perf_counter() - started, lower=lower, upper=upper,
                           band=BAND, diagnostics={REALISATION_SPREAD: spread})
