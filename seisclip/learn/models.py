"""Every model restore, evaluate, compare, trace and summary use, behind one protocol,
:class:`ModelHandle`: a seisclip model directory (:class:`~.model_dir.ModelDirectory`) or a model
of the group's own scripts (a SavedModel directory or a legacy ``.h5`` file,
:class:`~.adopted.AdoptedModel`). Each kind answers for itself, so callers never ask which it is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Protocol

from ..sets.pairs import Representation
from .adopted import AdoptedModel, is_adopted_model
from .model_dir import LoadedModel, ModelDirectory


class ModelHandle(Protocol):
    """What the commands read of a model, whatever made it."""

    @property
    def path(self) -> Path: ...
    @property
    def name(self) -> str: ...
    @property
    def manifest_path(self) -> Path | None:
        """Its manifest, None for a model that has none."""
    @property
    def normalisation(self) -> str: ...
    @property
    def inputs(self) -> list[str]: ...
    @property
    def sbrl(self) -> bool: ...
    @property
    def segment_length(self) -> int | None:
        """The window length L it takes (None: not known before it is loaded)."""
    @property
    def sampling_rate(self) -> float:
        """Hz, of the waveforms it was trained on."""
    @property
    def lowest_clip_level(self) -> float:
        """The lowest clip level (fraction of the peak) it was trained for."""
    @property
    def custom_names(self) -> set[str]:
        """The functions of its definition that building its inputs needs."""
    @property
    def description(self) -> str:
        """A few words on what it is."""
    @property
    def definition_name(self) -> str:
        """What compare labels it by: its definition."""

    def representation(self, custom: dict[str, Callable] | None = None) -> Representation: ...
    def check_files(self) -> None:
        """Its files match the sha256 its manifest records; raises SeisclipError if not."""
    def load(self, trust_definition: bool = False) -> LoadedModel: ...
    def sha256(self) -> str:
        """What identifies the network a restoration used."""
    def files_key(self) -> dict[str, Any]:
        """What an evaluation of it depends on, by sha256 (compare's cache key)."""
    def manifest_json(self) -> dict[str, Any]:
        """Its manifest as JSON (``{}`` without one)."""
    def model_columns(self, parameter_count: int | None) -> dict[str, Any]:
        """compare's columns of it: definition, parameters, epochs, training_s and test metrics."""
    def summary_lines(self) -> list[str]:
        """``seisclip summary``'s lines: what it is, what trained it and how it scored."""
    def training_record(self, command: str) -> ModelDirectory:
        """The model directory recording the segments that trained it, for ``command`` (trace,
        evaluate on its test split); raises SeisclipError where nothing recorded them."""
    def fed_as_group_scripts(self, sbrl: bool) -> "ModelHandle":
        """The model fed as the group's prediction scripts fed it (``sbrl``: their sbrl variant)."""


#: The kinds of model besides seisclip's model directories: how each is recognised by its path,
#: and opened. A new kind of model is a class implementing ModelHandle and an entry here.
MODEL_KINDS: list[tuple[Callable[[Path], bool], Callable[[Path], ModelHandle]]] = [
    (is_adopted_model, AdoptedModel.open),
]


def open_model(path: str | os.PathLike) -> ModelHandle:
    """The model at ``path``, of the first kind that recognises it, else a seisclip model directory."""
    for recognises, open_kind in MODEL_KINDS:
        if recognises(Path(path)):
            return open_kind(Path(path))
    return ModelDirectory.open(path)


def load_any_model(path: str | os.PathLike, trust_definition: bool = False) -> LoadedModel:
    return open_model(path).load(trust_definition)
