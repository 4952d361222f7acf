"""Every model restore, evaluate and compare use: a seisclip model directory, or a model of the
group's own scripts (a SavedModel directory or a legacy ``.h5`` file, :mod:`.adopted`)."""

from __future__ import annotations

import os

from .adopted import AdoptedModel, is_adopted_model
from .model_dir import LoadedModel, ModelDirectory


def open_model(path: str | os.PathLike) -> ModelDirectory | AdoptedModel:
    return AdoptedModel.open(path) if is_adopted_model(path) else ModelDirectory.open(path)


def load_any_model(path: str | os.PathLike, trust_definition: bool = False) -> LoadedModel:
    return open_model(path).load(trust_definition)
