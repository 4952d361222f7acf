"""Network inputs and targets made batch by batch from a set's segments, and the seeded batch
order of each epoch.

Both training paths (segments in memory, or read from an HDF5 bank with ``--stream``) and
``seisclip export`` make their pairs here, so for the same seed they see the same samples in
the same batches. Nothing here needs TensorFlow; :mod:`seisclip.learn.pipeline` feeds these batches
to Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np

from ..bank.hdf5 import BankSource
from .augmentation import AugmentationStep, augment
from .channels import DEFAULT_INPUTS, network_inputs, resolve
from .labels import Normalisation, clip_and_label
from .segments import SegmentSet


@dataclass(frozen=True)
class Representation:
    """How segments become what a network sees and learns: the normalisation, the status scaled
    by run length or not, the input channels (functions of :mod:`seisclip.sets.channels`) and the
    augmentation of training batches, seeded by ``seed``. The default is def001's."""

    sbrl: bool = False
    normalisation: Normalisation = "peak"
    channels: Sequence[Callable] = tuple(resolve(DEFAULT_INPUTS))
    augmentation: Sequence[AugmentationStep] = ()
    seed: int = 0


class Batch(NamedTuple):
    inputs: np.ndarray           # (n, L, channels) float32
    packed_targets: np.ndarray   # (n, L, 2) = (truth, status), as the losses see them
    targets: np.ndarray          # (n, L) float32, normalised truth
    status: np.ndarray           # (n, L) int32
    clipped: np.ndarray          # (n, L) float32, normalised clipped samples


class SegmentPairs:
    """Network inputs and targets for any of a :class:`SegmentSet`'s usable segments, addressed
    by position ``0 .. len(used) - 1`` (the positions :func:`seisclip.sets.split.split_positions` splits)."""

    def __init__(self, segments: SegmentSet, read_segments: Callable[[np.ndarray], np.ndarray],
                 representation: Representation):
        self.segment_length = segments.segment_length
        self.representation = representation
        self.clip_fraction = segments.index.clip_fraction[segments.used]
        self.read_segments = read_segments   # positions -> unclipped counts (n, L), float64

    @classmethod
    def in_memory(cls, segments: SegmentSet, representation: Representation) -> "SegmentPairs":
        """From the segments :func:`seisclip.sets.segments.load_segments` kept."""
        return cls(segments, lambda positions: segments.segments[positions], representation)

    @classmethod
    def from_bank(cls, segments: SegmentSet, source: BankSource, representation: Representation) -> "SegmentPairs":
        """Read from the bank on demand; only each segment's position in ``/samples`` is held."""
        index, bank = segments.index, source.bank
        trace_offset = {path: int(bank.offsets[source.trace_number(path)]) for path in segments.files}
        starts = np.fromiter((trace_offset[index.paths[position]] for position in segments.used.tolist()),
                             dtype=np.int64, count=len(segments.used)) + index.istart[segments.used]
        length = segments.segment_length
        return cls(segments, lambda positions: bank.read_segments(starts[positions], length).astype(np.float64),
                   representation)

    @property
    def channel_count(self) -> int:
        return len(self.representation.channels)

    @property
    def normalisation(self) -> Normalisation:
        return self.representation.normalisation

    def pairs(self, positions: np.ndarray, training_batch: tuple[int, int] | None = None) -> Batch:
        """The batch of ``positions``; ``training_batch`` = (epoch, batch number) marks a training
        batch, which is augmented."""
        recipe = self.representation
        segments = self.read_segments(positions)
        if training_batch is not None:
            segments = augment(segments, recipe.augmentation, recipe.seed, *training_batch)
        return labelled_batch(segments, self.clip_fraction[positions], recipe)


def labelled_batch(segments: np.ndarray, clip_fraction: np.ndarray, representation: Representation = Representation()
                   ) -> Batch:
    """Unclipped segments in counts ``(n, L)``, each clipped at its ``clip_fraction`` of its peak,
    as ``representation`` makes them a network's inputs and targets (def001's by default)."""
    labelled = clip_and_label(segments, clip_fraction, representation.sbrl, representation.normalisation)
    targets = labelled.targets.astype(np.float32)
    return Batch(inputs=network_inputs(labelled.windows, representation.channels),
                 packed_targets=np.stack([targets, labelled.status.astype(np.float32)], axis=-1),
                 targets=targets, status=labelled.status, clipped=labelled.clipped.astype(np.float32))


def epoch_order(positions: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """The training positions in the order epoch ``epoch`` (0-based) visits them."""
    return np.random.default_rng([seed, epoch]).permutation(positions)


def in_batches(order: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    for first in range(0, len(order), batch_size):
        yield order[first:first + batch_size]


def batch_count(n: int, batch_size: int) -> int:
    return -(-n // batch_size)
