"""``seisclip trace MODEL_DIR``: which segments made a model, and are their sources unchanged?"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..fsio import sha256_file
from ..provenance import read_manifest, without_run_record
from .bundled import SELECTION_COPY
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
    name = directory.name
    recorded = [(path, sha256, what) for path, sha256, what in directory.recorded_sources()
                if not _same_selection_again(directory, path, sha256, what, folder, name)]
    problems = [*(_check_hash(path, sha256, what, folder) for path, sha256, what in recorded), *sources, *definitions]
    problems = [problem for problem in problems if problem]
    rebuild = directory.manifest.rebuild
    if rebuild is not None:
        print(f"trace: {name}: trained on {_training_data(rebuild)}; made again in a clone's root by: "
              + "; ".join(rebuild["commands"]), file=sys.stderr)
    missing = [problem for problem in problems if problem.endswith("waveform file not found")]
    if rebuild is not None and missing and len(missing) == len(files):
        # None of it here yet: one line, not one for each file.
        problems = [problem for problem in problems if problem not in missing]
        problems.append(f"{folder}: none of the {len(files)} waveform files is here: run the commands above first")
    for problem in problems:
        print(problem, file=sys.stderr)
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


def _training_data(rebuild: dict) -> str:
    """What a bundled model's ``rebuild`` entry says it was trained on, in words."""
    made = rebuild["made"]
    bank = made["bank"]
    kind = ("seismograms seisclip generates (seisclip demo-bank)" if bank.get("kind") == "ascii"
            else f"the HDF5 bank {bank.get('path')}")
    packaged = rebuild.get("packaged_waveforms") or []
    return (f"{made['waveform_files']} {kind}, segments {made['index_file']}"
            + (f", {len(packaged)} packaged waveform files" if packaged else ", no packaged waveforms"))


def _same_selection_again(directory, path: str | None, sha256: str | None, what: str, folder: str, name: str) -> bool:
    """Whether ``path`` is a selection manifest made again: its sha256 differs from the record, but
    the copy the model directory keeps matches it and the index file it describes has its recorded
    sha256, so the selection is the same and only how the run is recorded differs (time, host,
    library versions). Told on stderr, with the entries that differ."""
    copy = directory.path / SELECTION_COPY
    here = Path(folder, path or "")
    index = Path(folder, directory.manifest.index_file)
    if what != "selection manifest" or not (copy.is_file() and here.is_file() and index.is_file()):
        return False
    if sha256_file(here) == sha256 or sha256_file(copy) != sha256 or sha256_file(index) != directory.manifest.index_sha256:
        return False
    then, now = without_run_record(read_manifest(copy)), without_run_record(read_manifest(here))
    differing = sorted(key for key in then.keys() | now.keys() if then.get(key) != now.get(key))
    print(f"trace: {name}: {here} was made again and describes the same index file"
          + (f"; besides its run record, {', '.join(differing)} differ" if differing else
             ", its run record aside (time, host, command)"), file=sys.stderr)
    return True


def summarise_model(model_dir: str) -> int:
    """Print what a model is, what trained it and how it scored on its test split (of an adopted
    model: what its manifest records)."""
    for line in open_model(model_dir).summary_lines():
        print(line)
    return 0
