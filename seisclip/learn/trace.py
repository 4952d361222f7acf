"""``seisclip trace MODEL_DIR``: which segments made a model, and are their sources unchanged?"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import SeisclipError
from ..fsio import sha256_file
from .adopted import AdoptedModel, is_adopted_model
from .model_dir import ModelDirectory


def _refuse_adopted(model_dir: str, command: str) -> None:
    if is_adopted_model(model_dir):
        raise SeisclipError(f"a model of the group's own scripts: nothing recorded which segments trained it, so "
                            f"there is nothing to {command} (restore, evaluate --records and compare use it)", model_dir)


def _check_hash(path: str | None, expected: str | None, what: str, folder: str) -> str | None:
    """A problem line if ``path`` (relative to ``folder``) is gone or its sha256 is not
    ``expected``; None if it matches."""
    if path is None or expected is None:
        return None
    path = os.path.join(folder, path)
    if not os.path.isfile(path):
        return f"{path}: {what} not found"
    actual = sha256_file(path)
    if actual != expected:
        return f"{path}: {what} sha256 {actual} differs from the recorded {expected}"
    return None


def _definitions_checked(directory: ModelDirectory) -> str:
    """What the check of the model directory's definition scripts covered, in words."""
    manifest = directory.manifest
    if manifest.imported_definitions is None:
        return (f"definition.py ({manifest.definition}; made before seisclip recorded the definitions a "
                "definition imports)")
    imported = [entry["file"] for entry in manifest.imported_definitions]
    return (f"definition.py ({manifest.definition})"
            + (f" and the definitions it imports ({', '.join(imported)})" if imported else ""))


def trace_model(model_dir: str, split: str | None = None, check: bool = True) -> int:
    """Print every segment of the model's index file with its split (tab-separated) to stdout;
    report on stderr whether the index and every waveform file still have their recorded hashes."""
    _refuse_adopted(model_dir, "trace")
    directory = ModelDirectory.open(model_dir)
    files = directory.files
    print("# " + "\t".join(["index_line", "split", "istart", "rscale", "path"]))
    for row in directory.segment_rows():
        if split is None or row["split"] == split:
            print(f"{row['index_line']}\t{row['split']}\t{row['istart']}\t{row['rscale']:.3f}\t{row['path']}")
    if not check:
        return 0

    # Relative paths are as the training run saw them, from its working folder.
    folder = directory.working_directory
    bank = directory.bank
    if bank["kind"] == "hdf5":
        # The bank's own hash covers every trace it read: the traces' sources may be long gone.
        sources = [_check_hash(bank["path"], bank["sha256"], "bank", folder)]
        checked = f"the bank {bank['path']} ({len(files)} traces)"
    else:
        sources = [_check_hash(record["path"], record["sha256"], "waveform file", folder) for record in files]
        checked = f"{len(files)} waveform files"
    # The model directory's copies of its definition and of the definitions it imports.
    definitions = [_check_hash(file, sha256, "definition script", str(directory.path))
                   for file, sha256, _ in directory.definition_files()]
    problems = [*(_check_hash(path, sha256, what, folder) for path, sha256, what in directory.recorded_sources()),
                *sources, *definitions]
    problems = [problem for problem in problems if problem]
    for problem in problems:
        print(problem, file=sys.stderr)
    name = Path(model_dir).name
    if directory.manifest.definition_sha256 and not any(definitions):
        print(f"trace: {name}: {_definitions_checked(directory)} match the recorded sha256", file=sys.stderr)
    if problems:
        print(f"trace: {name}: {len(problems)} source(s) changed or missing since training", file=sys.stderr)
        return 1
    print(f"trace: {name}: index file and {checked} match the recorded sha256", file=sys.stderr)
    return 0


def summarise_model(model_dir: str) -> int:
    """Print what a model is, what trained it and how it scored on its test split (of an adopted
    model: what its manifest records)."""
    if is_adopted_model(model_dir):
        adopted = AdoptedModel.open(model_dir)
        if adopted.manifest is None:
            raise SeisclipError("a model of the group's own scripts with no manifest: run `seisclip adopt-model` "
                                "to record how it is fed", model_dir)
        parameters = adopted.manifest["parameters"]
        print(f"{adopted.name}: {adopted.description}, adopted {adopted.manifest.get('adopted_utc')}: "
              f"L={parameters.get('segment_length')}, inputs {', '.join(adopted.inputs)}, "
              f"{adopted.manifest.get('model_parameters')} parameters; no training on record")
        return 0
    directory = ModelDirectory.open(model_dir)
    manifest = directory.manifest
    parameters, counts, metrics = manifest.parameters, manifest.segment_counts, manifest.test_metrics
    print(f"{manifest.model_name}: definition {manifest.definition} on {manifest.index_file}, "
          f"L={parameters.segment_length}, sbrl={parameters.sbrl}, {parameters.epochs} epochs, seed {manifest.seed}")
    augmentation = ", ".join(step.get("step", "?") for step in parameters.augmentation) or "none"
    print(f"  inputs: {', '.join(directory.inputs)}; normalisation {directory.normalisation}; "
          f"augmentation: {augmentation}")
    print(f"  segments: {counts['train']} train, {counts['validation']} validation, {counts['test']} test, "
          f"{counts['index_lines'] - counts['used']} skipped")
    print(f"  test MSE {metrics['mse']:.5f}, MAE {metrics['mae']:.5f}; "
          f"clipped input left unchanged: MSE {metrics['clipped_input_mse']:.5f}")
    return 0
