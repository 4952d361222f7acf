"""Network inputs and targets made batch by batch from a set's segments, and the seeded batch
order of each epoch.

Both training paths (segments in memory, or read from an HDF5 bank with ``--stream``) and
``seisclip export`` make their pairs here, so for the same seed they see the same samples in
the same batches. Nothing here needs TensorFlow; :mod:`seisclip.streaming` feeds these batches
to Keras.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from .datasets import SegmentSet
from .hdf5_bank import BankSource
from .labels import make_training_pairs


class SegmentPairs:
    """Network inputs and targets for any of a :class:`SegmentSet`'s usable segments, addressed
    by position ``0 .. len(used) - 1`` (the positions :func:`seisclip.split.split_positions` splits)."""

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
