"""Model directories: ``models/<STEM>_<def>/`` with model.keras, manifest.json and definition.py."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from .datasets import MAX_SEGMENT_LENGTH
from .errors import SeisclipError
from .labels import NORMALISATIONS
from .provenance import check_fields, read_manifest

MODEL_FILE = "model.keras"
MANIFEST_FILE = "manifest.json"
DEFINITION_COPY = "definition.py"
MANIFEST_KIND = "seisclip model"
#: What restore, evaluate, trace and summary read from a model manifest, with its JSON type.
MANIFEST_FIELDS = {
    "kind": str, "model_name": str, "definition": str, "index_file": str, "index_sha256": str, "seed": int,
    "parameters": dict, "parameters.segment_length": int, "parameters.sbrl": bool, "parameters.normalisation": str,
    "parameters.min_peak": (int, float), "parameters.epochs": int,
    "segment_counts": dict,
    **{f"segment_counts.{count}": int for count in ("index_lines", "used", "train", "validation", "test")},
    "test_metrics": dict, **{f"test_metrics.{metric}": (int, float) for metric in ("mse", "mae", "clipped_input_mse")},
    "files": list, "segments": dict, "segments.columns": list, "segments.rows": list,
}


def _one_line(exc: Exception) -> str:
    """An exception from third-party code as one line: its type and its message's first line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def register_definition(model_dir: str | os.PathLike) -> None:
    """Import the model's own copy of its definition script, so that any custom layer it
    registered with Keras is known before the model is loaded (its ``__main__`` block does not run)."""
    source = Path(model_dir) / DEFINITION_COPY
    if not source.is_file():
        raise SeisclipError(f"model directory has no {DEFINITION_COPY}", model_dir)
    # One import per definition: two model directories of the same name (models/x and
    # models_again/x), or a definition changed since, must not share one.
    key = hashlib.sha256(str(source.resolve()).encode() + b"\0" + source.read_bytes()).hexdigest()[:16]
    module_name = f"seisclip_definition_{key}"
    if module_name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(module_name, source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:   # whatever the script raises, it is this model directory's problem
        del sys.modules[module_name]
        raise SeisclipError(f"cannot import the model's definition: {_one_line(exc)}", source) from None


def read_model_manifest(model_dir: str | os.PathLike) -> dict[str, Any]:
    """A model directory's manifest, checked to hold what the commands read from it."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise SeisclipError("model directory not found", model_dir)
    path = model_dir / MANIFEST_FILE
    manifest = read_manifest(path)
    check_fields(manifest, path, MANIFEST_FIELDS)
    if manifest["kind"] != MANIFEST_KIND:
        raise SeisclipError(f"manifest is a {manifest['kind']!r} manifest, not a {MANIFEST_KIND!r} one", path)
    parameters = manifest["parameters"]
    if not 0 < parameters["segment_length"] <= MAX_SEGMENT_LENGTH:
        raise SeisclipError(f"manifest's segment length {parameters['segment_length']} is not a window length", path)
    if parameters["normalisation"] not in NORMALISATIONS:
        raise SeisclipError(f"manifest's normalisation {parameters['normalisation']!r} is not one of {NORMALISATIONS}", path)
    return manifest


def load_model(model_dir: str | os.PathLike):
    """The trained Keras model of a model directory and its manifest, checked to agree: the
    model maps windows ``(L, 2)`` to ``(L,)`` for the manifest's segment length L."""
    from .quiet_tensorflow import keras

    manifest = read_model_manifest(model_dir)
    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        raise SeisclipError(f"model directory has no {MODEL_FILE}", model_dir)
    register_definition(model_dir)
    try:
        model = keras.models.load_model(path)
    except Exception as exc:   # Keras raises many kinds for a damaged or foreign file
        raise SeisclipError(f"cannot load the model: {_one_line(exc)}", path) from None
    length = manifest["parameters"]["segment_length"]
    shapes = (getattr(model, "input_shape", None), getattr(model, "output_shape", None))
    if shapes != ((None, length, 2), (None, length)):
        raise SeisclipError(f"model maps {shapes[0]} to {shapes[1]}, but its manifest's segment length {length} "
                            f"needs {(None, length, 2)} to {(None, length)}", path)
    return model, manifest
