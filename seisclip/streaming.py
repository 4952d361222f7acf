"""Training pairs made batch by batch, and the ``tf.data`` pipelines that feed them to Keras.

Both training paths go through here, so for the same seed they see the same samples in the
same batches: segments held in memory (the default) or, with ``--stream``, read from an HDF5
bank one batch at a time, so a set larger than memory trains in bounded memory. The batch
order is explicit and seeded: in epoch ``e`` the training positions are permuted by
``numpy.random.default_rng([seed, e])`` and cut into consecutive batches.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import tensorflow as tf

from .datasets import SegmentSet
from .hdf5_bank import BankSource
from .labels import make_training_pairs

#: Batches made ahead of the one being trained on, in a background thread.
PREFETCH_BATCHES = 2


class SegmentPairs:
    """Network inputs and targets for any of a :class:`SegmentSet`'s usable segments, addressed
    by position ``0 .. len(used) - 1`` (the positions :func:`seisclip.training.split_positions` splits)."""

    def __init__(self, segments: SegmentSet, read_segments: Callable[[np.ndarray], np.ndarray], sbrl: bool,
                 normalisation: str):
        self.segment_length = segments.segment_length
        self.sbrl = sbrl
        self.normalisation = normalisation
        self.rscale = segments.index.rscale[segments.used]
        self.read_segments = read_segments   # positions -> unclipped counts (n, L), float64

    @classmethod
    def in_memory(cls, segments: SegmentSet, sbrl: bool, normalisation: str) -> "SegmentPairs":
        """From the segments :func:`seisclip.datasets.load_segments` kept."""
        return cls(segments, lambda positions: segments.segments[positions], sbrl, normalisation)

    @classmethod
    def from_bank(cls, segments: SegmentSet, source: BankSource, sbrl: bool, normalisation: str) -> "SegmentPairs":
        """Read from the bank on demand; only each segment's position in ``/samples`` is held."""
        index, bank = segments.index, source.bank
        trace_offset = {path: int(bank.offsets[source.trace_number(path)]) for path in segments.files}
        starts = np.fromiter((trace_offset[index.paths[position]] for position in segments.used.tolist()),
                             dtype=np.int64, count=len(segments.used)) + index.istart[segments.used]
        length = segments.segment_length
        return cls(segments, lambda positions: bank.read_segments(starts[positions], length).astype(np.float64),
                   sbrl, normalisation)

    def pairs(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Inputs ``(n, L, 2)`` = (clipped, status), packed targets ``(n, L, 2)`` = (truth, status) as the
        losses see them, targets ``(n, L)`` and statuses ``(n, L)``."""
        inputs, targets, status = make_training_pairs(self.read_segments(positions), self.rscale[positions],
                                                      sbrl=self.sbrl, normalisation=self.normalisation)
        return inputs, np.stack([targets, status.astype(np.float32)], axis=-1), targets, status


def epoch_order(positions: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """The training positions in the order epoch ``epoch`` (0-based) visits them."""
    return np.random.default_rng([seed, epoch]).permutation(positions)


def in_batches(order: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    for first in range(0, len(order), batch_size):
        yield order[first:first + batch_size]


def batch_count(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def _dataset(batches: Callable[[], Iterator[np.ndarray]], pairs: SegmentPairs, n_batches: int) -> tf.data.Dataset:
    def generate():
        for batch in batches():
            inputs, packed, _, _ = pairs.pairs(batch)
            yield inputs, packed

    spec = tf.TensorSpec(shape=(None, pairs.segment_length, 2), dtype=tf.float32)
    dataset = tf.data.Dataset.from_generator(generate, output_signature=(spec, spec))
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(PREFETCH_BATCHES)
    return dataset.with_options(_sharded_by_data())


def _sharded_by_data() -> tf.data.Options:
    """Under ``--strategy multiworker`` every worker runs the same generator and keeps its share of
    each batch (DATA: each global batch of ``batch_size`` segments is split over the replicas), so
    a step trains on the same segments as on one device, the steps per epoch stay
    ``batch_count(n, batch_size)`` and each worker's share is fixed by its task index. FILE cannot
    shard a generator, and OFF would give every worker every batch. The cost: each worker makes
    the pairs of the whole batch. Without several workers the option changes nothing."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def training_dataset(pairs: SegmentPairs, positions: np.ndarray, batch_size: int, seed: int,
                     epochs: int, first_epoch: int = 0) -> tf.data.Dataset:
    """The shuffled batches of epochs ``first_epoch .. epochs - 1``, one epoch after another: fit it
    with ``steps_per_epoch=batch_count(len(positions), batch_size)`` (and ``initial_epoch=first_epoch``),
    so Keras keeps one iterator across epochs and epoch ``e`` gets exactly :func:`epoch_order`
    ``(positions, seed, e)``, whichever epoch a resumed run starts at."""
    def batches():
        for epoch in range(first_epoch, epochs):
            yield from in_batches(epoch_order(positions, seed, epoch), batch_size)

    return _dataset(batches, pairs, (epochs - first_epoch) * batch_count(len(positions), batch_size))


def ordered_dataset(pairs: SegmentPairs, positions: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """Batches of ``positions`` in order, the same on every pass (validation)."""
    return _dataset(lambda: in_batches(positions, batch_size), pairs, batch_count(len(positions), batch_size))
