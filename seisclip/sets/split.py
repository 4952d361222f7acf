"""The split of a set's usable segments into train, validation and test, and the names and seeds
that fix it.

Training and ``seisclip export`` both split here, so an exported set's ``split`` column is the
split a model trained on the same index with the same seed uses. Nothing here needs TensorFlow.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..errors import SeisclipError
from ..fsio import sha256_file
from ..provenance import manifest_path_for, read_manifest
from .selection import derive_seed

SPLIT_NAMES = ("train", "validation", "test")
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
MAX_TRAINING_SEED = 2**32


def model_name(segdefname: str, definition: str, sbrl: bool) -> str:
    return f"{segdefname}_sbrl_{definition}" if sbrl else f"{segdefname}_{definition}"


def default_seed(model: str) -> int:
    """The training seed when none is given: derived from the model name, in TensorFlow's 32-bit range."""
    return derive_seed(model, bits=32)


def split_positions(n: int, seed: int) -> dict[str, np.ndarray]:
    """Positions 0..n-1 shuffled with ``seed`` and cut 70/15/15; each part sorted."""
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(SPLIT_FRACTIONS[0] * n))
    n_validation = int(round(SPLIT_FRACTIONS[1] * n))
    parts = (order[:n_train], order[n_train:n_train + n_validation], order[n_train + n_validation:])
    return {name: np.sort(part) for name, part in zip(SPLIT_NAMES, parts)}


def read_selection_manifest(index_path: Path, index_sha256: str, segment_length: int) -> tuple[dict | None, str | None]:
    """The index file's selection manifest, checked against the index; ``(None, None)`` if there is none."""
    path = manifest_path_for(index_path)
    if not path.exists():
        print(f"warning: {path} not found: the model's provenance stops at the index file", file=sys.stderr)
        return None, None
    manifest = read_manifest(path)
    if manifest.get("index_sha256") != index_sha256:
        raise SeisclipError(f"index file changed after its manifest {path} was written (sha256 differs); "
                            "draw a new set instead of editing one", index_path)
    made_with = manifest.get("segment_length")
    if made_with != segment_length:
        raise SeisclipError(f"index file was drawn with segments of {made_with} samples, "
                            f"not the {segment_length} asked for", index_path)
    return manifest, sha256_file(path)
