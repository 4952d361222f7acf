"""Every model restore, evaluate, compare, trace and summary use, behind one protocol,
:class:`ModelHandle`: a seisclip model directory (:class:`~.model_dir.ModelDirectory`) or a model
of the group's own scripts (a SavedModel directory or a legacy ``.h5`` file,
:class:`~.adopted.AdoptedModel`). Each kind answers for itself, so callers never ask which it is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Protocol

from ..errors import SeisclipError
from ..sets.pairs import Representation
from .adopted import AdoptedModel, is_adopted_model
from .bundled import aliases, bundled_models, known_names, versioned_name
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
    @property
    def training_data(self) -> str:
        """What it was trained on, in a few words."""

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


def open_model(name_or_path: str | os.PathLike) -> ModelHandle:
    """The model a bundled model's name (``reference``, ``reference-v1``) gives, else the model at
    the path, of the first kind that recognises it, else a seisclip model directory. A path that
    exists wins over a bundled name."""
    path = Path(name_or_path)
    if not os.path.lexists(path):
        versioned = versioned_name(str(name_or_path))
        if versioned is not None:
            return ModelDirectory.open(bundled_models()[versioned], bundled_name=versioned)
        if os.sep not in str(name_or_path) and "/" not in str(name_or_path):
            raise SeisclipError(f"unknown model {str(name_or_path)!r}: no such model directory here, and the bundled "
                                f"models are {', '.join(known_names()) or 'none'}")
    for recognises, open_kind in MODEL_KINDS:
        if recognises(path):
            return open_kind(path)
    return ModelDirectory.open(path)


def model_identity(name_or_path: str | os.PathLike) -> str:
    """What a record of a restoration names the model by: a bundled model's versioned name (never
    the bare name, which moves to newer versions), else the path as given."""
    path = Path(name_or_path)
    return (versioned_name(str(name_or_path)) or str(name_or_path)) if not os.path.lexists(path) else str(name_or_path)


def load_any_model(name_or_path: str | os.PathLike, trust_definition: bool = False) -> LoadedModel:
    return open_model(name_or_path).load(trust_definition)


def model_listing(folder: str | os.PathLike = "models") -> tuple[list[dict[str, Any]], list[str]]:
    """``seisclip models``: a row for each bundled model and each model under ``folder`` (name,
    rate, window length, definition, training data, test MSE), and a line for each entry of
    ``folder`` that is no model one can open."""
    rows, problems = [], []
    candidates = [(name, name) for name in bundled_models()]
    folder = Path(folder)
    if folder.is_dir():
        candidates += [(str(path), str(path)) for path in sorted(folder.iterdir()) if not path.name.startswith(".")
                       and (path.is_dir() or is_adopted_model(path))]
    aliased = {versioned: bare for bare, versioned in aliases().items()}
    for label, where in candidates:
        try:
            handle = open_model(where)
        except SeisclipError as exc:
            problems.append(str(exc))
            continue
        columns = handle.model_columns(None)
        rows.append({"model": label + (f" ({aliased[label]})" if label in aliased else ""),
                     "rate_hz": handle.sampling_rate, "window_samples": handle.segment_length,
                     "definition": columns["definition"], "training_data": handle.training_data,
                     "test_mse": columns["test_mse"]})
    return rows, problems
