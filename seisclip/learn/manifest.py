"""A model directory's ``manifest.json``, typed: :class:`ModelManifest` is what training writes
and what restore, evaluate, compare, trace and summary read, through one ``to_json`` and one
``from_json``.

Format 4 adds ``imported_definitions``, the definition scripts the definition took choices from
(name, file and sha256 of each; copied beside ``definition.py``); format 5 adds ``started_from``,
the script ``seisclip new-definition`` copied the definition from (name, file and its sha256 then). Formats 1 to 3 are read too,
their missing entries given as those formats meant them (format 1: def001's inputs and peak
normalisation, no sha256 of ``model.keras``; before format 4: imported definitions not
recorded, None; before format 5 or for a script not made by new-definition: no origin, None).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import SeisclipError
from ..provenance import check_fields, read_manifest
from ..sets.channels import DEFAULT_INPUTS
from .definition import DEFINITION_NAME, script_file_name

MANIFEST_FILE = "manifest.json"
MANIFEST_KIND = "seisclip model"
#: 2: the definition's inputs, normalisation, augmentation and optimizer, and model.keras's sha256.
#: 3: written and read by ModelManifest (the keys of 2).
#: 4: the definition scripts the definition imports, with their sha256 (``imported_definitions``).
#: 5: the script the definition was copied from (``started_from``); a bundled model's ``rebuild``.
MANIFEST_FORMAT_VERSION = 5
#: What every format holds, with its JSON type: checked before anything reads it.
REQUIRED_FIELDS = {
    "kind": str, "model_name": str, "definition": str, "index_file": str, "index_sha256": str, "seed": int,
    "parameters": dict, "parameters.segment_length": int, "parameters.sbrl": bool, "parameters.normalisation": str,
    "parameters.min_peak": (int, float), "parameters.epochs": int,
    "segment_counts": dict,
    **{f"segment_counts.{count}": int for count in ("index_lines", "used", "train", "validation", "test")},
    "test_metrics": dict, **{f"test_metrics.{metric}": (int, float) for metric in ("mse", "mae", "clipped_input_mse")},
    "files": list, "segments": dict, "segments.columns": list, "segments.rows": list,
}


def _json_key(field: dataclasses.Field) -> str:
    """A field's key in the JSON: its own name unless it names a unit the format does not."""
    return field.metadata.get("json", field.name)


def _check_imported(imported: Any, path: str | Path) -> None:
    """``imported_definitions`` names definition scripts beside ``definition.py``, and nothing else:
    loading reads and may run them."""
    if not isinstance(imported, list):
        raise SeisclipError(f"manifest's imported_definitions is {imported!r}, not a list", path)
    for entry in imported:
        fine = (isinstance(entry, dict) and all(isinstance(entry.get(key), str) for key in ("name", "file", "sha256"))
                and DEFINITION_NAME.fullmatch(entry["name"]) and entry["file"] == script_file_name(entry["name"]))
        if not fine:
            raise SeisclipError(f"manifest's imported_definitions entry {entry!r} is not a definition's name, "
                                "script file and sha256", path)


@dataclass(frozen=True, kw_only=True)
class TrainingParameters:
    """How the model was trained and how its windows become its inputs (``parameters``)."""

    segment_length: int
    sbrl: bool
    inputs: list[str]
    normalisation: str                    # "peak", "clip" or the definition's own function's name
    custom_functions: list[str]           # the definition's functions that building the inputs needs
    augmentation: list[dict]
    optimizer_function: str | None
    callbacks_function: str | None
    min_peak_counts: float = dataclasses.field(metadata={"json": "min_peak"})
    clip_level_range: list[float] | None   # [lowest, highest] fraction of the peak
    epochs: int
    batch_size: int | None
    learning_rate: float | None
    optimizer: dict | None
    split_fractions: dict | None
    hyperparameters: dict | None
    strict: bool | None
    stream: bool | None
    sampling_rate: float | None    # Hz; None in manifests made before it was recorded

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "TrainingParameters":
        defaults = {"inputs": list(DEFAULT_INPUTS), "custom_functions": [], "augmentation": []}
        return cls(**{field.name: raw.get(_json_key(field), defaults.get(field.name)) for field in fields(cls)})

    def to_json(self) -> dict[str, Any]:
        return {_json_key(field): getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True, kw_only=True)
class ModelManifest:
    """Everything a model directory records about its training, in ``manifest.json``'s order."""

    model_name: str
    definition: str
    definition_file: str | None
    definition_sha256: str | None
    #: {"name", "file", "sha256"} of each definition script the definition took choices from;
    #: None before format 4, which did not record them.
    imported_definitions: list[dict] | None
    #: {"name", "file", "sha256"} of the script new-definition copied the definition from, as it
    #: was then; None for a script written otherwise or before format 5.
    started_from: dict | None = None
    model_sha256: str | None              # set once model.keras is written; None before format 2
    set_name: str | None = dataclasses.field(metadata={"json": "segdefname"})
    index_file: str
    index_file_resolved: str | None
    index_sha256: str
    selection_manifest: str | None
    selection_manifest_sha256: str | None
    selection_seed: int | None
    bank: dict | None              # the HDF5 bank's provenance, or {"kind": "ascii", …}
    parameters: TrainingParameters
    seed: int
    seed_source: str | None
    determinism: str | None
    batch_order: str | None
    distribution: dict | None
    segment_counts: dict
    skipped: dict | None
    history: dict | None
    epochs_trained: int | None
    resumed_after_epochs: list[int] | None
    test_metrics: dict
    model_parameters: int | None
    working_directory: str
    #: A bundled model's way to make its training data again (seisclip.learn.bundled): the
    #: commands, what they make, any packaged waveforms with their sha256; None otherwise.
    rebuild: dict | None = None
    #: The run's provenance (library versions, git state, command, host, time): every key the
    #: manifest holds that no field above names.
    run: dict = dataclasses.field(metadata={"json": None})
    wall_time_s: float | None
    files: list[dict]
    segments: dict
    format_version: int = MANIFEST_FORMAT_VERSION

    @classmethod
    def read(cls, path: str | Path) -> "ModelManifest":
        return cls.from_json(read_manifest(path), path)

    @classmethod
    def from_json(cls, raw: dict[str, Any], path: str | Path) -> "ModelManifest":
        """The manifest of any format; a missing or mistyped required entry, or another kind of
        manifest, is one error naming ``path``."""
        check_fields(raw, path, REQUIRED_FIELDS)
        if raw["kind"] != MANIFEST_KIND:
            raise SeisclipError(f"manifest is a {raw['kind']!r} manifest, not a {MANIFEST_KIND!r} one", path)
        known = {_json_key(field) for field in fields(cls)} | {"kind"}
        values = {field.name: raw.get(_json_key(field)) for field in fields(cls)}
        values["run"] = {key: value for key, value in raw.items() if key not in known}
        values["parameters"] = TrainingParameters.from_json(raw["parameters"])
        values["format_version"] = raw.get("format_version", 1)
        values["working_directory"] = raw.get("working_directory", ".")
        if values["imported_definitions"] is not None:
            _check_imported(values["imported_definitions"], path)
        return cls(**values)

    @classmethod
    def untrained(cls, model_name: str, parameters: dict[str, Any], bank: dict | None = None) -> "ModelManifest":
        """The manifest of a network built but not trained by seisclip (the benchmarks' seeded
        networks): its name and how its windows become inputs, with no training on record."""
        empty = {field.name: None for field in fields(cls) if field.name != "format_version"}
        return cls(**empty | {
            "model_name": model_name, "definition": model_name, "index_file": "", "index_sha256": "",
            "parameters": TrainingParameters.from_json(parameters), "bank": bank, "seed": 0,
            "segment_counts": {}, "test_metrics": {}, "working_directory": ".", "run": {}, "files": [],
            "segments": {"columns": [], "rows": []}})

    def to_json(self) -> dict[str, Any]:
        """The JSON object, keys in the order of the fields (``kind`` and ``format_version`` first)."""
        out: dict[str, Any] = {"kind": MANIFEST_KIND, "format_version": self.format_version}
        for field in fields(self):
            if field.name == "format_version":
                continue
            value = getattr(self, field.name)
            if field.name == "run":
                out.update(value)
            else:
                out[_json_key(field)] = value.to_json() if isinstance(value, TrainingParameters) else value
        return out
