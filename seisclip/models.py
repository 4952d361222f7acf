"""Model directories: ``models/<STEM>_<def>/`` with model.keras, manifest.json and definition.py."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from .errors import SeisclipError
from .provenance import read_manifest

MODEL_FILE = "model.keras"
MANIFEST_FILE = "manifest.json"
DEFINITION_COPY = "definition.py"


def register_definition(model_dir: str | os.PathLike) -> None:
    """Import the model's own copy of its definition script, so that any custom layer it
    registered with Keras is known before the model is loaded (its ``__main__`` block does not run)."""
    source = Path(model_dir) / DEFINITION_COPY
    if not source.is_file():
        raise SeisclipError(f"model directory has no {DEFINITION_COPY}", model_dir)
    module_name = f"seisclip_definition_{Path(model_dir).resolve().name}"
    if module_name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(module_name, source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)


def read_model_manifest(model_dir: str | os.PathLike) -> dict[str, Any]:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise SeisclipError("model directory not found", model_dir)
    return read_manifest(model_dir / MANIFEST_FILE)


def load_model(model_dir: str | os.PathLike):
    """The trained Keras model of a model directory and its manifest."""
    import keras

    manifest = read_model_manifest(model_dir)
    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        raise SeisclipError(f"model directory has no {MODEL_FILE}", model_dir)
    register_definition(model_dir)
    return keras.models.load_model(path), manifest
