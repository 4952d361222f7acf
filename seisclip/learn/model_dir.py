"""Model directories: ``models/<STEM>_<def>/`` with model.keras, manifest.json and definition.py,
read by restore, evaluate, trace and summary through one object, :class:`ModelDirectory`.

Loading a model directory someone else made is safe unless you trust it: its files must match
the sha256 its manifest records; Keras loads ``model.keras`` with ``safe_mode`` on (no code
inside the file runs); and the directory's ``definition.py`` runs only when it is trusted: it
and every definition script it imports (their copies lie beside it, under their own names) are
byte for byte the ``create_and_train_model_*.py`` of the working folder (or the folder given),
or the user says ``--trust-definition``. It then runs from the model directory's own copies,
whatever the import path holds. A model made of Keras' own layers with built-in inputs and
normalisation never needs it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..bank.settings import DEFAULT_SAMPLING_RATE
from ..errors import SeisclipError
from ..fsio import sha256_file
from ..sets.channels import BUILT_IN, resolve
from ..sets.labels import NORMALISATIONS
from ..sets.pairs import Representation
from ..sets.segments import MAX_SEGMENT_LENGTH
from .definition import load_definition_script
from .manifest import MANIFEST_FILE, ModelManifest, TrainingParameters

MODEL_FILE = "model.keras"
DEFINITION_COPY = "definition.py"


def _one_line(exc: Exception) -> str:
    """An exception from third-party code as one line: its type and its message's first line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


@dataclass(frozen=True)
class LoadedModel:
    """A model directory's network with the functions of its definition that building its inputs
    needs (its own channels or normalisation; empty for built-in ones)."""

    directory: Any     # the ModelHandle (seisclip.learn.models) it was loaded from: this directory or an adopted model
    network: Any
    custom: dict[str, Callable]

    @property
    def manifest(self) -> ModelManifest:
        return self.directory.manifest


@dataclass(frozen=True)
class ModelDirectory:
    path: Path
    manifest: ModelManifest
    #: The name of a model shipped with seisclip (seisclip.learn.bundled), whose definition.py
    #: never runs; None for any other model directory.
    bundled_name: str | None = None

    @classmethod
    def open(cls, path: str | os.PathLike, bundled_name: str | None = None) -> "ModelDirectory":
        """A model directory whose manifest holds what the commands read from it."""
        path = Path(path)
        if not path.is_dir():
            raise SeisclipError("model directory not found", path)
        manifest_path = path / MANIFEST_FILE
        directory = cls(path, ModelManifest.read(manifest_path), bundled_name)
        if not 0 < directory.segment_length <= MAX_SEGMENT_LENGTH:
            raise SeisclipError(f"manifest's segment length {directory.segment_length} is not a window length",
                                manifest_path)
        if directory.normalisation not in NORMALISATIONS and directory.normalisation not in directory.custom_names:
            raise SeisclipError(f"manifest's normalisation {directory.normalisation!r} is not one of {NORMALISATIONS} "
                                "nor a function of its definition", manifest_path)
        unknown = [name for name in directory.inputs if name not in BUILT_IN and name not in directory.custom_names]
        if unknown:
            raise SeisclipError(f"manifest's input channel {unknown[0]!r} is neither built in nor a function of its "
                                "definition", manifest_path)
        return directory

    @property
    def name(self) -> str:
        return self.bundled_name or self.manifest.model_name

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_FILE

    @property
    def parameters(self) -> TrainingParameters:
        return self.manifest.parameters

    @property
    def segment_length(self) -> int:
        return self.parameters.segment_length

    @property
    def sbrl(self) -> bool:
        return self.parameters.sbrl

    @property
    def normalisation(self) -> str:
        """"peak", "clip", or the name of the definition's own normalisation function."""
        return self.parameters.normalisation

    @property
    def inputs(self) -> list[str]:
        """The channels the network sees, in order (models before format 2: def001's)."""
        return list(self.parameters.inputs)

    @property
    def custom_names(self) -> set[str]:
        """The definition's own functions that building the inputs needs."""
        return set(self.parameters.custom_functions)

    @property
    def lowest_clip_level(self) -> float:
        """The lowest clip level the model was trained for (0.1, the selection's default, for
        models whose manifest does not say)."""
        return float((self.parameters.clip_level_range or [0.1])[0])

    @property
    def sampling_rate(self) -> float:
        """The rate of the waveforms the model was trained on (Hz). Older manifests do not say it:
        their HDF5 bank's rate, else the ASCII bank's 40 Hz."""
        recorded = self.parameters.sampling_rate
        return float(recorded if recorded is not None else self.bank.get("sampling_rate_hz", DEFAULT_SAMPLING_RATE))

    def representation(self, custom: dict[str, Callable] | None = None) -> Representation:
        """How the model's windows become its inputs, as training made them (``custom``: the
        definition's own functions its inputs or normalisation need)."""
        return representation_of(self, custom or {})

    @property
    def description(self) -> str:
        kind = f"bundled seisclip model {self.bundled_name}" if self.bundled_name else "seisclip model"
        return f"{kind} of definition {self.manifest.definition}"

    @property
    def definition_name(self) -> str:
        return self.manifest.definition

    @property
    def training_data(self) -> str:
        bank, files = self.bank, len(self.manifest.files)
        source = (f"{files} traces of the HDF5 bank {Path(bank.get('path') or '?').name}" if bank["kind"] == "hdf5"
                  else f"{files} ASCII files of {bank.get('ASCII_file_dir') or '?'}")
        if self.manifest.rebuild is not None:
            source = f"{files} generated seismograms (seisclip demo-bank)"
        return f"{source}, {self.manifest.segment_counts['train']} training segments"

    def sha256(self) -> str:
        """The sha256 of ``model.keras``."""
        return sha256_file(self.path / MODEL_FILE)

    def files_key(self) -> dict[str, Any]:
        return {"manifest_sha256": sha256_file(self.manifest_path), "model_sha256": self.sha256()}

    def manifest_json(self) -> dict[str, Any]:
        return self.manifest.to_json()

    def model_columns(self, parameter_count: int | None) -> dict[str, Any]:
        manifest, metrics = self.manifest, self.test_metrics
        return {
            "definition": manifest.definition,
            "parameters": parameter_count if manifest.model_parameters is None else manifest.model_parameters,
            "epochs": manifest.parameters.epochs if manifest.epochs_trained is None else manifest.epochs_trained,
            "training_s": manifest.wall_time_s,
            "test_mse": metrics["mse"],
            "test_mae": metrics["mae"],
            "test_mse_clipped": metrics.get("mse_clipped_samples"),
        }

    def summary_lines(self) -> list[str]:
        manifest = self.manifest
        parameters, counts, metrics = manifest.parameters, manifest.segment_counts, manifest.test_metrics
        augmentation = ", ".join(step.get("step", "?") for step in parameters.augmentation) or "none"
        origin = f" (a copy of {manifest.started_from['name']})" if manifest.started_from else ""
        trained_as = f" (bundled with seisclip; trained as {manifest.model_name})" if self.bundled_name else ""
        return [f"{self.name}{trained_as}: definition {manifest.definition}{origin} on {manifest.index_file}, "
                f"L={parameters.segment_length}, sbrl={parameters.sbrl}, {parameters.epochs} epochs, seed {manifest.seed}",
                f"  inputs: {', '.join(self.inputs)}; normalisation {self.normalisation}; augmentation: {augmentation}",
                f"  segments: {counts['train']} train, {counts['validation']} validation, {counts['test']} test, "
                f"{counts['index_lines'] - counts['used']} skipped",
                f"  test MSE {metrics['mse']:.5f}, MAE {metrics['mae']:.5f}; "
                f"clipped input left unchanged: MSE {metrics['clipped_input_mse']:.5f}"]

    def training_record(self, command: str) -> "ModelDirectory":
        return self

    def fed_as_group_scripts(self, sbrl: bool) -> "ModelDirectory":
        """Its manifest says how it is fed: ``sbrl`` must agree."""
        if self.sbrl != sbrl:
            raise SeisclipError(f"{self.manifest_path} says the model was trained {'with' if self.sbrl else 'without'} "
                                f"sbrl; {'add' if self.sbrl else 'drop'} --sbrl", self.path)
        return self

    @property
    def test_metrics(self) -> dict[str, Any]:
        return self.manifest.test_metrics

    @property
    def bank(self) -> dict[str, Any]:
        """Where the training samples came from: ``{"kind": "ascii", …}`` or the HDF5 bank's provenance."""
        return self.manifest.bank or {"kind": "ascii"}

    @property
    def working_directory(self) -> str:
        """The folder training ran in: relative paths of the manifest are relative to it."""
        return self.manifest.working_directory

    @property
    def files(self) -> list[dict[str, Any]]:
        """The waveform files (or bank traces) training read: path, sha256 and samples of each."""
        return self.manifest.files

    def segment_rows(self) -> list[dict[str, Any]]:
        """Every index line: index_line, istart, rscale, split (or skip reason) and the path as the
        index names it."""
        table, files = self.manifest.segments, self.files
        rows = [dict(zip(table["columns"], row)) for row in table["rows"]]
        return [{**row, "path": files[row["file"]]["path"]} for row in rows]

    def segments_of(self, split: str) -> list[dict[str, Any]]:
        """The index lines of one split."""
        return [row for row in self.segment_rows() if row["split"] == split]

    def recorded_sources(self) -> list[tuple[str | None, str | None, str]]:
        """(path, sha256, what) of the index file and its selection manifest, as training read them."""
        manifest = self.manifest
        return [(manifest.index_file, manifest.index_sha256, "index file"),
                (manifest.selection_manifest, manifest.selection_manifest_sha256, "selection manifest")]

    def definition_files(self) -> list[tuple[str, str | None, str]]:
        """(file in the model directory, recorded sha256, the manifest's key for it) of its
        definition.py and of every definition script that definition imports."""
        imported = self.manifest.imported_definitions or []
        return [(DEFINITION_COPY, self.manifest.definition_sha256, "definition_sha256"),
                *((entry["file"], entry["sha256"], f"imported_definitions sha256 of {entry['name']}")
                  for entry in imported)]

    def check_files(self) -> None:
        """model.keras, definition.py and the imported definitions exist and match the manifest's sha256."""
        for file, recorded, key in ((MODEL_FILE, self.manifest.model_sha256, "model_sha256"),
                                    *self.definition_files()):
            path = self.path / file
            if not path.is_file():
                raise SeisclipError(f"model directory has no {file}", self.path)
            if recorded is None and file == MODEL_FILE and self.manifest.format_version < 2:
                print(f"warning: {self.path / MANIFEST_FILE}: made before seisclip recorded the sha256 of "
                      f"{MODEL_FILE}; it is loaded unchecked", file=sys.stderr)
                continue
            if sha256_file(path) != recorded:
                raise SeisclipError(f"sha256 differs from the manifest's {key}: the file changed after training",
                                    path)

    def trusted_script(self, folder: str | os.PathLike | None = None) -> Path | None:
        """The definition script of ``folder`` (default: the working folder) that definition.py is
        byte for byte, if any. If there is one, every definition script it imports must be there
        byte for byte too: one changed or missing since training is refused."""
        folder = Path.cwd() if folder is None else Path(folder)
        recorded = self.manifest.definition_sha256
        script = next((script for script in sorted(folder.glob("create_and_train_model_*.py"))
                       if sha256_file(script) == recorded), None)
        if script is None:
            return None
        for file, sha256, _ in self.definition_files()[1:]:
            here = folder / file
            state = ("is missing" if not here.is_file() else
                     "changed since training" if sha256_file(here) != sha256 else None)
            if state:
                raise SeisclipError(f"the model's definition {script.name} imports this script, which {state}: it "
                                    "is not the one that trained the model (put it back as it was, or add "
                                    "--trust-definition to run the model directory's copy)", here)
        return script

    def load(self, trust_definition: bool = False, definitions_folder: str | os.PathLike | None = None) -> LoadedModel:
        """The network, checked to agree with the manifest: windows ``(L, channels)`` to ``(L,)``, or
        of any length for a fully convolutional network. ``definitions_folder``: where the definition
        scripts to trust lie (default: the working folder)."""
        from . import layers  # noqa: F401  (registers seisclip's own layers, which safe_mode then loads)
        from .quiet_tensorflow import keras

        self.check_files()
        needs_code = sorted(self.custom_names)
        if self.bundled_name is not None:
            # Shipped inside the package, it is made of seisclip's own layers and inputs: no code of it runs.
            trusted = False
            if needs_code:
                raise SeisclipError(f"bundled model {self.bundled_name} needs {', '.join(needs_code)} from its "
                                    f"{DEFINITION_COPY}, and a bundled model runs no code of its own", self.path)
        else:
            trusted = trust_definition or self.trusted_script(definitions_folder) is not None
        if needs_code and not trusted:
            raise SeisclipError(f"the model's inputs need {', '.join(needs_code)} from its {DEFINITION_COPY}, which "
                                "matches no definition script here: add --trust-definition if you trust its code",
                                self.path)
        module = self._import_definition() if trusted else None
        path = self.path / MODEL_FILE
        try:
            network = keras.models.load_model(path, safe_mode=True)
        except Exception as exc:   # Keras raises many kinds for a damaged or foreign file
            advice = ("" if trusted else f"; if it needs its {DEFINITION_COPY}'s code (a custom layer), add "
                      "--trust-definition if you trust it")
            raise SeisclipError(f"cannot load the model: {_one_line(exc)}{advice}", path) from None
        length, channels = self.segment_length, len(self.inputs)
        shapes = (getattr(network, "input_shape", None), getattr(network, "output_shape", None))
        # A fully convolutional network takes windows of any length: (None, None, channels).
        if shapes not in (((None, length, channels), (None, length)), ((None, None, channels), (None, None))):
            raise SeisclipError(f"model maps {shapes[0]} to {shapes[1]}, but its manifest needs "
                                f"{(None, length, channels)} to {(None, length)}", path)
        custom = {name: getattr(module, name) for name in needs_code}
        return LoadedModel(self, network, custom)

    def _import_definition(self):
        """Import the model's own copy of its definition script, so that what it registers with
        Keras (custom layers) is known; its ``__main__`` block does not run. The definitions it
        imports come from their copies beside it (checked by :meth:`check_files`)."""
        source = self.path / DEFINITION_COPY
        try:
            module = load_definition_script(source, "model's definition")
        except SeisclipError as exc:
            if self.manifest.imported_definitions is None and "create_and_train_model_" in exc.message:
                # Models of manifest formats before 4 did not record nor copy what they import.
                raise SeisclipError(f"{exc.message} (the model was trained before seisclip recorded the definitions a "
                                    "definition imports: retrain it to load its code)", source) from None
            raise
        missing = [name for name in self.custom_names if not callable(getattr(module, name, None))]
        if missing:
            raise SeisclipError(f"definition has no function {missing[0]!r}, which the model's inputs need", source)
        return module


def representation_of(model, custom: dict[str, Callable]) -> Representation:
    """The :class:`Representation` a model directory (or an adopted model) records: its sbrl,
    normalisation and input channels, its definition's own functions taken from ``custom``."""
    normalisation = custom.get(model.normalisation, model.normalisation)
    return Representation(sbrl=model.sbrl, normalisation=normalisation, channels=tuple(resolve(model.inputs, custom)))


def load_model(model_dir: str | os.PathLike, trust_definition: bool = False) -> LoadedModel:
    return ModelDirectory.open(model_dir).load(trust_definition)
