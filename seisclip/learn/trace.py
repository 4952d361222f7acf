"""``seisclip trace MODEL_DIR``: which segments made a model, and are their sources unchanged?"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..fsio import sha256_file
from .models import open_model


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
    directory = open_model(model_dir).training_record("trace")
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
    origin = directory.manifest.started_from
    if origin is not None:
        # History, not code the model runs: told, never a reason to fail.
        now = Path(folder, origin["file"])
        state = (f"no longer in {folder}" if not now.is_file() else
                 "unchanged since" if sha256_file(now) == origin["sha256"] else "changed since")
        print(f"trace: {name}: the definition started as a copy of {origin['name']} (sha256 {origin['sha256']}), "
              f"{state}", file=sys.stderr)
    if problems:
        print(f"trace: {name}: {len(problems)} source(s) changed or missing since training", file=sys.stderr)
        return 1
    print(f"trace: {name}: index file and {checked} match the recorded sha256", file=sys.stderr)
    return 0


def summarise_model(model_dir: str) -> int:
    """Print what a model is, what trained it and how it scored on its test split (of an adopted
    model: what its manifest records)."""
    for line in open_model(model_dir).summary_lines():
        print(line)
    return 0
