"""Every model restore, evaluate and compare use: a seisclip model directory, or a model of the
group's own scripts (a SavedModel directory or a legacy ``.h5`` file, :mod:`.adopted`)."""

from __future__ import annotations

import os

from ..fsio import sha256_bytes, sha256_file
from .adopted import AdoptedModel, is_adopted_model, model_files
from .model_dir import MODEL_FILE, LoadedModel, ModelDirectory


def open_model(path: str | os.PathLike) -> ModelDirectory | AdoptedModel:
    return AdoptedModel.open(path) if is_adopted_model(path) else ModelDirectory.open(path)


def load_any_model(path: str | os.PathLike, trust_definition: bool = False) -> LoadedModel:
    return open_model(path).load(trust_definition)


def model_sha256(model: ModelDirectory | AdoptedModel) -> str:
    """What identifies the network a restoration used: the sha256 of a seisclip model's
    ``model.keras``, or of the list of an adopted model's files with theirs."""
    if isinstance(model, AdoptedModel):
        listing = "".join(f"{name}\0{digest}\n" for name, digest in sorted(model_files(model.path).items()))
        return sha256_bytes(listing.encode())
    return sha256_file(model.path / MODEL_FILE)
