"""Classic restorations of clipped samples, to measure the networks against.

A cubic spline across each clipped run, and POCS with a sparse spectrum on each run's
neighbourhood. Both take the recorded values, the status (-1 / 0 / +1) and the two clip levels,
and return an estimate in which only clipped samples differ from the input and every clipped
sample lies at or beyond its clip level. :func:`self_checked` wraps any such method in a check
on the record itself (A-SPADE, and a model with ``--self-check``).
"""

from __future__ import annotations

import numpy as np

from ..bank.clipping import runs_of
from ..sets.channels import SPLINE_NEIGHBOURS, spline_across_runs

#: POCS restores each clipped run from a neighbourhood of this many times the run's length on
#: each side, and at least POCS_NEIGHBOURHOOD_MIN samples (3.2 s at 40 Hz): on generated records
#: a minimum of 64 let one- to six-sample runs of short-period records overshoot, past the error
#: of the clipped input; three or five times the run measured alike.
POCS_NEIGHBOURHOOD_RUNS = 3
POCS_NEIGHBOURHOOD_MIN = 128
#: The hard threshold falls geometrically over the iterations from the largest DFT coefficient
#: to this fraction of it. The projection bounds clipped samples on one side only, so more
#: iterations (or a lower floor) keep fitting finer detail and push them further out, past the truth:
#: 50 measured best at 70 % clipping and within a few percent of the best at 40 %.
POCS_ITERATIONS = 50
POCS_THRESHOLD_FLOOR = 1e-3


#: The self-check clips the record again about as deep as it is clipped: at the level beyond which
#: as many unclipped samples lie as the record has clipped ones, kept between these fractions of
#: its clip levels (about its median).
SELF_CHECK_FRACTIONS = (0.5, 0.8)


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
    each side (:func:`~seisclip.sets.channels.spline_across_runs`); a run touching the record's
    first or last sample stays at its clip level."""
    values = np.asarray(values, dtype=np.float64)
    return enforce_clip_consistency(spline_across_runs(values, status, neighbours), values, status, clip_high, clip_low)


def _pocs_neighbourhoods(status: np.ndarray, run_multiple: int, minimum: int) -> list[tuple[int, int]]:
    """``(first, stop)`` of the stretches POCS restores: each clipped run with ``max(run_multiple`` ×
    its length, ``minimum)`` samples on each side, cut at the record's ends; overlapping ones merged."""
    spans = sorted((max(start - max(run_multiple * (stop - start), minimum), 0),
                    min(stop + max(run_multiple * (stop - start), minimum), status.size))
                   for start, stop in runs_of(status != 0))
    merged: list[tuple[int, int]] = []
    for first, stop in spans:
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((first, stop))
    return merged


def linear_trends(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Each row's least-squares line through its ``known`` samples, over the whole row; a row with
    fewer than two known samples gets their mean (or zero)."""
    t = np.arange(values.shape[-1], dtype=np.float64)
    weight = known.astype(np.float64)
    s0, s1, s2 = weight.sum(-1), weight @ t, weight @ t ** 2
    sy, sty = (weight * values).sum(-1), (weight * values) @ t
    determinant = s0 * s2 - s1 ** 2
    line = determinant > 0
    slope = np.where(line, (s0 * sty - s1 * sy) / np.where(line, determinant, 1.0), 0.0)
    intercept = np.where(s0 > 0, (sy - slope * s1) / np.maximum(s0, 1.0), 0.0)
    return intercept[:, None] + slope[:, None] * t


def pocs_rows(values: np.ndarray, status: np.ndarray, high: np.ndarray, low: np.ndarray, iterations: int,
               threshold_floor: float) -> np.ndarray:
    """POCS with a decreasing hard threshold on every row at once. ``status`` 0 holds a row's
    samples (its padding included, recorded as zero) as they are."""
    estimate = values
    largest = np.abs(np.fft.rfft(values, axis=-1)).max(axis=-1, keepdims=True)
    above, below = status > 0, status < 0
    known = ~(above | below)
    high, low = np.broadcast_to(high, values.shape), np.broadcast_to(low, values.shape)
    for iteration in range(iterations):
        spectrum = np.fft.rfft(estimate, axis=-1)
        threshold = largest * threshold_floor ** (iteration / max(iterations - 1, 1))
        np.copyto(spectrum, 0.0, where=np.abs(spectrum) < threshold)
        estimate = np.fft.irfft(spectrum, n=values.shape[-1], axis=-1)
        # The projection in place, each sample set once: 2.5 times faster than nested np.where.
        np.maximum(estimate, high, out=estimate, where=above)
        np.minimum(estimate, low, out=estimate, where=below)
        np.copyto(estimate, values, where=known)
    return estimate


def pocs_spans(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
               spans: np.ndarray, iterations: int = POCS_ITERATIONS,
               threshold_floor: float = POCS_THRESHOLD_FLOOR, padded_length: int | None = None) -> list[np.ndarray]:
    """Each ``(first, stop)`` stretch of the record restored by POCS on its own, as one array a
    stretch: less the least-squares line through its unclipped samples, zero-padded to a power of
    two of at least twice its length, then ``iterations`` times: keep the DFT coefficients above a
    threshold falling geometrically from the largest coefficient of the clipped stretch to
    ``threshold_floor`` of it, invert, and project on the signals consistent with the record
    (unclipped samples as recorded, clipped ones at or beyond their clip level, padding zero).
    Stretches padded to the same length are iterated together, as one array; ``padded_length``
    (at least twice the longest stretch) pads every stretch to that length, so that stretches of
    a few lengths are iterated as one array, not one array a length."""
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    lengths = spans[:, 1] - spans[:, 0]
    padded = 2 ** np.ceil(np.log2(2 * lengths)).astype(int) if padded_length is None else \
        np.full(len(spans), padded_length)
    restored_spans: list[np.ndarray] = [np.empty(0)] * len(spans)
    for size in np.unique(padded):
        rows = np.flatnonzero(padded == size)
        offsets = np.arange(size)
        inside = offsets < lengths[rows, None]
        positions = np.minimum(spans[rows, :1] + offsets, values.size - 1)
        row_status = np.where(inside, status[positions], 0)
        trend = linear_trends(values[positions], inside & (row_status == 0))
        row_values = np.where(inside, values[positions] - trend, 0.0)
        restored = pocs_rows(row_values, row_status, clip_high - trend, clip_low - trend, iterations,
                             threshold_floor) + trend
        for row, estimate, length in zip(rows, restored, lengths[rows]):
            restored_spans[row] = estimate[:length]
    return restored_spans


def restore_pocs(values: np.ndarray, status: np.ndarray, clip_high: float, clip_low: float,
                 iterations: int = POCS_ITERATIONS, threshold_floor: float = POCS_THRESHOLD_FLOOR,
                 run_multiple: int = POCS_NEIGHBOURHOOD_RUNS, minimum: int = POCS_NEIGHBOURHOOD_MIN) -> np.ndarray:
    """Projection onto convex sets with a sparse spectrum (Zhang et al. 2016, Sci. Rep. 6:39056),
    run on each clipped run's neighbourhood (see :func:`_pocs_neighbourhoods`) rather than the
    whole record, each neighbourhood by :func:`pocs_spans`.
    A run at the record's first or last sample stays at its clip level, as the spline leaves it:
    known on one side only, it lies next to the padding the DFT wraps round onto it, and on
    generated records its estimate overshot to several times the clipped input's error."""
    values = np.asarray(values, dtype=np.float64)
    status = np.asarray(status)
    if not np.any(status):
        return values.copy()
    spans = np.array(_pocs_neighbourhoods(status, run_multiple, minimum))
    estimate = values.copy()
    for (first, stop), restored in zip(spans, pocs_spans(values, status, clip_high, clip_low, spans, iterations,
                                                         threshold_floor)):
        estimate[first:stop] = restored
    return enforce_clip_consistency(keep_end_runs(estimate, values, status), values, status, clip_high, clip_low)


def keep_end_runs(estimate: np.ndarray, values: np.ndarray, status: np.ndarray) -> np.ndarray:
    """``estimate`` with a clipped run at the record's first or last sample put back as recorded,
    at its clip level (see :func:`restore_pocs`)."""
    estimate = estimate.copy()
    for start, stop in runs_of(status != 0):
        if start == 0 or stop == values.size:
            estimate[start:stop] = values[start:stop]
    return estimate


def self_checked(restore, values: np.ndarray, status: np.ndarray, clip_high, clip_low) -> np.ndarray:
    """``restore(values, status, clip_high, clip_low)``, shrunk towards the clipped input by
    :func:`self_check_factor`. ``values`` and ``status`` are one record ``(L,)`` or rows of
    windows ``(N, L)`` with their clip levels ``(N,)``, which ``restore`` then takes as such."""
    values = np.asarray(values, dtype=np.float64)
    restored = restore(values, status, clip_high, clip_low)
    factor = self_check_factor(restore, values, status, clip_high, clip_low)
    return values + (factor[:, None] if values.ndim == 2 else factor) * (restored - values)


def self_check_factor(restore, values: np.ndarray, status: np.ndarray, clip_high, clip_low) -> np.ndarray | float:
    """How much of ``restore``'s departure from the clipped input a check on the record itself
    keeps: 1 (all of it) to 0 (the input as recorded), per row of windows ``(N, L)`` or for one
    record ``(L,)``.

    The record is clipped again below its clip levels, about as deep as it is clipped (see
    SELF_CHECK_FRACTIONS), which clips samples whose true values the record shows, and restored.
    If the restoration of those samples is closer to them than the twice-clipped record is, the
    factor is 1; otherwise it is the least-squares factor in [0, 1] that fits them best.
    """
    values = np.asarray(values, dtype=np.float64)
    rows = values.ndim == 2
    values2, status2 = np.atleast_2d(values), np.atleast_2d(np.asarray(status))
    high, low = self_check_levels(values2, status2, np.asarray(clip_high, dtype=np.float64).reshape(-1, 1),
                                   np.asarray(clip_low, dtype=np.float64).reshape(-1, 1))
    check_status = (values2 >= high).astype(np.int8) - (values2 <= low).astype(np.int8)
    known = (check_status != 0) & (status2 == 0)
    check_values = np.clip(values2, low, high)
    checked = restore(check_values, check_status, high[:, 0], low[:, 0]) if rows else \
        restore(check_values[0], check_status[0], high[0, 0], low[0, 0])
    departure = np.where(known, np.atleast_2d(checked) - check_values, 0.0)
    wanted = np.where(known, values2 - check_values, 0.0)
    helps = np.sum((departure - wanted) ** 2, axis=1) < np.sum(wanted**2, axis=1)
    size = np.sum(departure**2, axis=1)
    fit = np.clip(np.sum(departure * wanted, axis=1) / np.where(size > 0, size, 1.0), 0.0, 1.0)
    factor = np.where(helps | (size == 0), 1.0, fit)
    return factor if rows else float(factor[0])


def self_check_levels(values: np.ndarray, status: np.ndarray, clip_high: np.ndarray,
                       clip_low: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the clip levels of the self-check, ``(N, 1)`` each."""
    low_fraction, high_fraction = SELF_CHECK_FRACTIONS
    fractions = np.empty((len(values), 1))
    centres = np.empty((len(values), 1))
    for row, (samples, state, high, low) in enumerate(zip(values, status, clip_high[:, 0], clip_low[:, 0])):
        unclipped = samples[state == 0]
        centre = float(np.median(unclipped)) if unclipped.size else 0.0
        # Each unclipped sample's height as a fraction of its side's clip level.
        height = np.where(unclipped >= centre, (unclipped - centre) / max(high - centre, 1e-300),
                          (centre - unclipped) / max(centre - low, 1e-300))
        clipped_count = int(np.count_nonzero(state))
        deep_enough = np.sort(height)[-clipped_count] if 0 < clipped_count <= height.size else low_fraction
        fractions[row], centres[row] = np.clip(deep_enough, low_fraction, high_fraction), centre
    return centres + fractions * (clip_high - centres), centres + fractions * (clip_low - centres)
