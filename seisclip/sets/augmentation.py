"""Training-time augmentation: small steps applied to the unclipped segments of a training batch
before they are clipped and labelled.

A definition lists its steps (``AUGMENTATION = (PolarityFlip(0.5), AddedNoise(0.02))``); they
run in order on every training batch, never on validation or test segments. Each batch draws
from ``numpy.random.default_rng([seed, epoch, batch, AUGMENTATION_STREAM])``, so a run is
repeatable, and a resumed run augments its remaining epochs exactly as an uninterrupted one.
Each step records its settings in the model's manifest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol, Sequence

import numpy as np
from scipy.interpolate import CubicSpline

#: Keeps augmentation's random numbers apart from the batch order's, which uses [seed, epoch].
AUGMENTATION_STREAM = 0xA06


class AugmentationStep(Protocol):
    def __call__(self, segments: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augmented copies of unclipped segments ``(N, L)`` in counts."""

    def record(self) -> dict:
        """The step's name and settings, for the manifest."""


class _Recorded:
    def record(self) -> dict:
        return {"step": type(self).__name__, **asdict(self)}


@dataclass(frozen=True)
class PolarityFlip(_Recorded):
    """Turn each segment upside down with this probability: clipping is symmetric, seismograms
    have no preferred polarity."""

    probability: float = 0.5

    def __call__(self, segments: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        flip = rng.random(len(segments)) < self.probability
        return np.where(flip[:, None], -segments, segments)


@dataclass(frozen=True)
class RandomGain(_Recorded):
    """Multiply each segment by a gain drawn log-uniformly from [low, high]; it matters to
    networks whose normalisation keeps amplitude (the built-in ones divide it out)."""

    low: float = 0.5
    high: float = 2.0

    def __call__(self, segments: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        gains = np.exp(rng.uniform(np.log(self.low), np.log(self.high), len(segments)))
        return segments * gains[:, None]


@dataclass(frozen=True)
class AddedNoise(_Recorded):
    """Add white Gaussian noise whose standard deviation is ``fraction`` of each segment's peak
    times a factor drawn uniformly from [0, 1]: recording noise over the signal."""

    fraction: float = 0.02

    def __call__(self, segments: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        peaks = np.max(np.abs(segments), axis=1)
        scale = self.fraction * peaks * rng.random(len(segments))
        return segments + rng.standard_normal(segments.shape) * scale[:, None]


@dataclass(frozen=True)
class TimeStretch(_Recorded):
    """Slow segments down: with this probability, a segment is replaced by a stretch of
    ``1 / factor`` of it at a random place holding its peak, interpolated by a cubic spline back to
    the full length, ``factor`` drawn log-uniformly from [1, max_factor]. Periods grow by the
    factor, so runs of clipped samples lengthen: teleseismic records clip in runs of 64 to 600
    samples at 40 Hz, which windows of a bank of mostly short-period records rarely hold (def005
    uses it)."""

    probability: float = 0.5
    max_factor: float = 8.0

    def __call__(self, segments: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        count, length = segments.shape
        stretch = rng.random(count) < self.probability
        factors = np.exp(rng.uniform(0.0, np.log(self.max_factor), count))
        places = rng.random(count)
        samples = np.arange(length)
        peaks = np.argmax(np.abs(segments), axis=1)
        stretched = segments.astype(np.float64)
        for row in np.flatnonzero(stretch):
            # The stretch holds the segment's peak, so it is never empty and still clips where
            # the segment's strongest signal is.
            span = (length - 1) / factors[row]
            earliest, latest = max(0.0, peaks[row] - span), min(float(peaks[row]), length - 1 - span)
            first = earliest + places[row] * (latest - earliest)
            stretched[row] = CubicSpline(samples, segments[row])(first + samples * (span / (length - 1)))
        return stretched


def check_augmentation(steps: Sequence) -> list[str]:
    """The problems of a definition's AUGMENTATION."""
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
        return [f"AUGMENTATION must be a sequence of steps, got {steps!r}"]
    return [f"AUGMENTATION: {step!r} is not a step (a callable with a record() method)" for step in steps
            if not (callable(step) and callable(getattr(step, "record", None)))]


def augment(segments: np.ndarray, steps: Sequence[AugmentationStep], seed: int, epoch: int, batch: int) -> np.ndarray:
    """``segments`` after every step, drawn from the batch's own generator."""
    if not steps:
        return segments
    rng = np.random.default_rng([seed, epoch, batch, AUGMENTATION_STREAM])
    for step in steps:
        segments = step(segments, rng)
    return segments
