"""The group's own trained models, used for inference: a Keras-2 SavedModel directory (what
``model.save("models/<set>_<def>")`` wrote under TensorFlow 2 with Keras 2) or a legacy ``.h5``
file, neither with a seisclip manifest.

A SavedModel is loaded with Keras 3's ``TFSMLayer``: its TensorFlow graph and variables only, so
no Python from the model directory runs, custom layers (their def002's ``GaussianSmoothing``)
included. A ``.h5`` file is loaded with Keras' legacy HDF5 loader, which knows Keras' own
layers only. The input length L and the channels come from the saved signature.

``seisclip adopt-model`` records how the group's scripts fed the model (``--normalisation peak``:
the record divided by its largest |value|, as their mean scripts did; ``none`` with ``--sbrl``:
in counts, with run-length status, as their sbrl variant did) and the sha256 of every file, in a
manifest with ``"adopted": true`` and no training provenance. Without that manifest a model is
used as the mean scripts used it, with a note.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..bank.settings import DEFAULT_SAMPLING_RATE
from ..errors import SeisclipError
from ..fsio import output_lock, sha256_bytes, sha256_file, write_file_atomic
from ..provenance import check_fields, dump_json, read_manifest, run_record, utc_now
from .model_dir import LoadedModel, representation_of

ADOPTED_KIND = "seisclip adopted model"
SAVED_MODEL_FILE = "saved_model.pb"
H5_SUFFIXES = (".h5", ".hdf5", ".keras_h5")
#: ``--normalisation`` of adopt-model, and the normalisation the restorer applies for it.
NORMALISATION_CHOICES = {"peak": "record_peak", "none": "none"}
#: What the group's mean scripts did, assumed for a model with no manifest.
DEFAULT_NORMALISATION = "record_peak"
#: The inputs of the group's networks by their number of channels: def001's (clipped, status).
INPUTS_BY_CHANNELS = {1: ("clipped",), 2: ("clipped", "status")}
MANIFEST_FIELDS = {"kind": str, "adopted": bool, "model_format": str, "model_name": str, "files": dict,
                   "parameters": dict, "parameters.sbrl": bool,
                   "parameters.channels": int}


def is_adopted_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a SavedModel directory or a legacy HDF5 model file."""
    path = Path(path)
    return (path.is_dir() and (path / SAVED_MODEL_FILE).is_file()) or (path.is_file() and path.suffix in H5_SUFFIXES)


def adopted_manifest_path(path: str | os.PathLike) -> Path:
    """A SavedModel's manifest is ``manifest.json`` inside it; a ``.h5`` file's is beside it, ``NAME.json``."""
    path = Path(path)
    return path / "manifest.json" if path.is_dir() else path.with_suffix(".json")


def model_files(path: Path) -> dict[str, str]:
    """The sha256 of every file of the model, by path relative to it (the manifest and hidden
    lock or temporary files left out)."""
    if path.is_file():
        return {path.name: sha256_file(path)}
    manifest = adopted_manifest_path(path)
    return {file.relative_to(path).as_posix(): sha256_file(file) for file in sorted(path.rglob("*"))
            if file.is_file() and file != manifest
            and not any(part.startswith(".") for part in file.relative_to(path).parts)}


def _one_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


@dataclass(frozen=True)
class AdoptedModel:
    """A model of the group's scripts, with what the restorer needs to know of it: the same
    properties a seisclip :class:`~seisclip.learn.model_dir.ModelDirectory` has. ``segment_length``
    and ``channels`` are the saved signature's once loaded (None: any length)."""

    path: Path
    model_format: str                  # "savedmodel" or "h5"
    manifest: dict[str, Any] | None
    normalisation: str = DEFAULT_NORMALISATION
    sbrl: bool = False
    segment_length: int | None = None
    channels: int | None = None

    @classmethod
    def open(cls, path: str | os.PathLike) -> "AdoptedModel":
        path = Path(path)
        model_format = "savedmodel" if path.is_dir() else "h5"
        manifest_path = adopted_manifest_path(path)
        if not manifest_path.exists():
            return cls(path, model_format, None)
        manifest = read_manifest(manifest_path)
        check_fields(manifest, manifest_path, MANIFEST_FIELDS)
        if manifest["kind"] != ADOPTED_KIND:
            raise SeisclipError(f"manifest is a {manifest['kind']!r} manifest, not a {ADOPTED_KIND!r} one", manifest_path)
        parameters = manifest["parameters"]
        # Format 1 named the adopt-model choice "scaling" beside the normalisation it meant.
        normalisation = parameters.get("normalisation", NORMALISATION_CHOICES.get(parameters.get("scaling")))
        if normalisation not in NORMALISATION_CHOICES.values():
            raise SeisclipError(f"manifest's normalisation {normalisation!r} is not one of "
                                f"{tuple(NORMALISATION_CHOICES.values())}", manifest_path)
        return cls(path, model_format, manifest, normalisation, parameters["sbrl"],
                   parameters.get("segment_length"), parameters["channels"])

    @property
    def name(self) -> str:
        return self.path.stem if self.model_format == "h5" else self.path.name

    @property
    def manifest_path(self) -> Path | None:
        return adopted_manifest_path(self.path) if self.manifest is not None else None

    @property
    def inputs(self) -> list[str]:
        return list(INPUTS_BY_CHANNELS.get(self.channels or 2, ()))

    @property
    def custom_names(self) -> set[str]:
        """No code of an adopted model ever runs: its inputs are built in."""
        return set()

    @property
    def lowest_clip_level(self) -> float:
        """Used only by seisclip's own peak estimate, which record normalisation does not need."""
        return 0.1

    def representation(self, custom=None):
        """How the group's scripts fed the network (:func:`~seisclip.learn.model_dir.representation_of`)."""
        return representation_of(self, {})

    @property
    def sampling_rate(self) -> float:
        """The group's models were trained on the Borovoye archive, sampled at 40 Hz."""
        return DEFAULT_SAMPLING_RATE

    @property
    def description(self) -> str:
        kind = "SavedModel" if self.model_format == "savedmodel" else "legacy HDF5 model"
        return f"adopted {kind}, {self.normalisation} normalisation{', sbrl' if self.sbrl else ''}"

    @property
    def definition_name(self) -> str:
        """No definition: its name."""
        return self.name

    @property
    def training_data(self) -> str:
        return "not recorded (the group's own scripts)"

    def sha256(self) -> str:
        """The sha256 of the list of its files with theirs."""
        listing = "".join(f"{name}\0{digest}\n" for name, digest in sorted(model_files(self.path).items()))
        return sha256_bytes(listing.encode())

    def files_key(self) -> dict[str, Any]:
        return {"files": model_files(self.path), "normalisation": self.normalisation, "sbrl": self.sbrl}

    def manifest_json(self) -> dict[str, Any]:
        return self.manifest or {}

    def model_columns(self, parameter_count: int | None) -> dict[str, Any]:
        """No training on record: its description only."""
        return {"definition": self.description,
                "parameters": self.manifest_json().get("model_parameters", parameter_count),
                "epochs": None, "training_s": None, "test_mse": None, "test_mae": None, "test_mse_clipped": None}

    def summary_lines(self) -> list[str]:
        """What its manifest records."""
        if self.manifest is None:
            raise SeisclipError("a model of the group's own scripts with no manifest: run `seisclip adopt-model` "
                                "to record how it is fed", self.path)
        parameters = self.manifest["parameters"]
        return [f"{self.name}: {self.description}, adopted {self.manifest.get('adopted_utc')}: "
                f"L={parameters.get('segment_length')}, inputs {', '.join(self.inputs)}, "
                f"{self.manifest.get('model_parameters')} parameters; no training on record"]

    def training_record(self, command: str):
        raise SeisclipError(f"a model of the group's own scripts: nothing recorded which segments trained it, so "
                            f"there is nothing to {command} (restore, evaluate --records and compare use it)", self.path)

    def fed_as_group_scripts(self, sbrl: bool) -> "AdoptedModel":
        """Without a manifest, fed as ``sbrl`` says; with one, as it records, which ``sbrl`` must agree with."""
        if self.manifest is None:
            return replace(self, normalisation="none", sbrl=True) if sbrl else self
        if self.sbrl != sbrl:
            raise SeisclipError(f"{self.manifest_path} says the model was trained {'with' if self.sbrl else 'without'} "
                                f"sbrl; {'add' if self.sbrl else 'drop'} --sbrl", self.path)
        return self

    def check_files(self) -> None:
        """Every file matches the sha256 its manifest records (nothing to check without one)."""
        if self.manifest is None:
            return
        recorded, found = self.manifest["files"], model_files(self.path)
        base = self.path if self.model_format == "savedmodel" else self.path.parent
        for name in sorted(recorded.keys() | found.keys()):
            if name not in found:
                raise SeisclipError("file listed in the manifest is missing", base / name)
            if name not in recorded:
                raise SeisclipError(f"file is not listed in {self.manifest_path}: added after adopt-model", base / name)
            if found[name] != recorded[name]:
                raise SeisclipError("sha256 differs from the manifest's: the file changed after adopt-model", base / name)

    def load(self, trust_definition: bool = False):
        """The network as a Keras model mapping windows ``(N, L, channels)`` to ``(N, L)``, with this
        model's description completed from its signature. (``trust_definition`` is for seisclip's
        own models: no code of an adopted model ever runs.)"""
        self.check_files()
        if self.manifest is None:
            print(f"note: {self.path}: no seisclip manifest: fed with {self.normalisation} normalisation"
                  f"{', with sbrl' if self.sbrl else ''}"
                  f" as the group's {'sbrl' if self.sbrl else 'mean'} scripts fed it, and its files are not checked; "
                  "run `seisclip adopt-model` to record its normalisation and sha256", file=sys.stderr)
        return self.load_network()

    def load_network(self):
        """:meth:`load` without checks or notes."""
        network = self._load_savedmodel() if self.model_format == "savedmodel" else self._load_h5()
        input_shape, output_shape = tuple(network.input_shape), tuple(network.output_shape)
        length, channels = input_shape[1], input_shape[-1]
        if len(input_shape) != 3 or channels not in INPUTS_BY_CHANNELS or output_shape != (None, length):
            raise SeisclipError(f"model maps {input_shape} to {output_shape}: seisclip restores with networks that map "
                                "windows (None, L, 1 or 2 channels: clipped[, status]) to (None, L)", self.path)
        if self.manifest is not None and (self.segment_length, self.channels) != (length, channels):
            raise SeisclipError(f"model takes windows of {length} samples and {channels} channels, its manifest says "
                                f"{self.segment_length} and {self.channels}", self.path)
        return LoadedModel(replace(self, segment_length=length, channels=channels), network, {})

    def _load_savedmodel(self):
        from .quiet_tensorflow import keras, tf

        try:
            signature = tf.saved_model.load(str(self.path)).signatures["serving_default"]
            (input_name, input_spec), = signature.structured_input_signature[1].items()
            (output_name, _), = signature.structured_outputs.items()
            layer = keras.layers.TFSMLayer(str(self.path), call_endpoint="serving_default")
            inputs = keras.Input(shape=tuple(input_spec.shape[1:]), name=input_name)
            return keras.Model(inputs, layer(inputs)[output_name], name=self.name)
        except ValueError as exc:
            if "too many values" in str(exc) or "not enough values" in str(exc):
                raise SeisclipError("SavedModel's serving signature does not take one input and give one output",
                                    self.path) from None
            raise SeisclipError(f"cannot load the SavedModel: {_one_line(exc)}", self.path) from None
        except Exception as exc:   # TensorFlow raises many kinds for a damaged or foreign directory
            raise SeisclipError(f"cannot load the SavedModel: {_one_line(exc)}", self.path) from None

    def _load_h5(self):
        from .quiet_tensorflow import keras

        try:
            return keras.models.load_model(self.path, compile=False, safe_mode=True)
        except Exception as exc:   # Keras raises many kinds for a damaged or foreign file
            raise SeisclipError(f"cannot load the HDF5 model: {_one_line(exc)} (a legacy .h5 model loads with "
                                "Keras' own layers only; save one with custom layers as a SavedModel)", self.path) from None


def adopt_model(path: str | os.PathLike, normalisation: str, sbrl: bool = False) -> Path:
    """Write the manifest of a model of the group's scripts: how they fed it, the sha256 of every
    file, ``"adopted": true``, and no training provenance. An existing manifest is kept.
    ``normalisation`` is adopt-model's word for it (a key of NORMALISATION_CHOICES)."""
    path = Path(path)
    if not path.exists():
        raise SeisclipError("model not found", path)
    if not is_adopted_model(path):
        raise SeisclipError(f"not a SavedModel directory (no {SAVED_MODEL_FILE}) nor a legacy HDF5 model "
                            f"({', '.join(H5_SUFFIXES)})", path)
    if normalisation not in NORMALISATION_CHOICES:
        raise SeisclipError(f"normalisation must be one of {tuple(NORMALISATION_CHOICES)}, got {normalisation!r}")
    manifest_path = adopted_manifest_path(path)
    if manifest_path.exists():
        raise SeisclipError("manifest already exists and is kept: the model is adopted already (remove the manifest "
                            "to adopt it again)", manifest_path)
    model = AdoptedModel(path, "savedmodel" if path.is_dir() else "h5", None, NORMALISATION_CHOICES[normalisation], sbrl)
    loaded = model.load_network()
    manifest = {
        "kind": ADOPTED_KIND,
        # 2: the normalisation alone, under that name (1 also held adopt-model's word as "scaling").
        "format_version": 2,
        "adopted": True,
        "adopted_utc": utc_now(),
        "model_name": model.name,
        "model_format": model.model_format,
        "files": model_files(path),
        "parameters": {"segment_length": loaded.directory.segment_length, "channels": loaded.directory.channels,
                       "inputs": loaded.directory.inputs, "normalisation": model.normalisation, "sbrl": sbrl},
        "training": None,
        "provenance": "made by the group's own training scripts: no record of the segments, seed or code that trained it",
        "model_parameters": int(loaded.network.count_params()),
        **run_record("numpy", "keras", "tensorflow"),
    }
    with output_lock(manifest_path, "manifest"):
        write_file_atomic(manifest_path, dump_json(manifest))
    return manifest_path
