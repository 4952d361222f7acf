"""The ``tf.data`` pipelines that feed the training pairs of :mod:`seisclip.sets.pairs` to Keras.

Both training paths go through here, so for the same seed they see the same samples in the
same batches: segments held in memory (the default) or, with ``--stream``, read from an HDF5
bank one batch at a time, so a set larger than memory trains in bounded memory. The batch
order is explicit and seeded: in epoch ``e`` the training positions are permuted by
``numpy.random.default_rng([seed, e])`` and cut into consecutive batches.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from ..sets.pairs import SegmentPairs, batch_count, epoch_order, in_batches
from .quiet_tensorflow import tf

#: Batches made ahead of the one being trained on, in a background thread.
PREFETCH_BATCHES = 2


def _dataset(batches: Callable[[], Iterator[tuple[np.ndarray, tuple[int, int] | None]]], pairs: SegmentPairs,
             n_batches: int) -> tf.data.Dataset:
    """``batches`` yields each batch's positions and, for a training batch, its (epoch, number)."""
    def generate():
        for positions, training_batch in batches():
            batch = pairs.pairs(positions, training_batch)
            yield batch.inputs, batch.packed_targets

    input_spec = tf.TensorSpec(shape=(None, pairs.segment_length, pairs.channel_count), dtype=tf.float32)
    target_spec = tf.TensorSpec(shape=(None, pairs.segment_length, 2), dtype=tf.float32)
    dataset = tf.data.Dataset.from_generator(generate, output_signature=(input_spec, target_spec))
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
            for number, batch in enumerate(in_batches(epoch_order(positions, seed, epoch), batch_size)):
                yield batch, (epoch, number)

    return _dataset(batches, pairs, (epochs - first_epoch) * batch_count(len(positions), batch_size))


def ordered_dataset(pairs: SegmentPairs, positions: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """Batches of ``positions`` in order, the same on every pass (validation)."""
    return _dataset(lambda: ((batch, None) for batch in in_batches(positions, batch_size)), pairs,
                    batch_count(len(positions), batch_size))
