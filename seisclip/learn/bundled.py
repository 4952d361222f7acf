"""Trained models shipped inside the package, taken by name: ``--model reference``,
``seisclip.load_model("reference")``.

Each lies in ``seisclip/pretrained/<name>-v<N>/`` and is a normal model directory (model.keras,
manifest.json, definition.py), checked like any other (sha256 against the manifest, Keras'
``safe_mode``), except that its definition.py never runs: a bundled model is made of seisclip's
own layers and inputs. A name carries its version, so that a recorded restoration names the exact
network; the bare name (``reference``) stands for the newest version.

Its manifest's ``rebuild`` entry says how to make its training data again: the commands, run in
an empty folder, and what they make (the generated bank's seed, any packaged waveforms with their
sha256). Its manifest's ``working_directory`` is ``.``, so ``seisclip trace NAME`` checks the
rebuilt files in the working folder. ``selection.json`` is the selection manifest training read:
rebuilt, the selection manifest differs only in its run record (time, host, command), which
``trace`` tells apart from a different selection.

``python -m seisclip.learn.bundled MODEL_DIR --name NAME-vN --rebuild COMMAND…`` (``make
reference``) makes one from a trained model directory.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import sys
from pathlib import Path

from ..errors import SeisclipError
from ..fsio import atomic_directory, output_lock, refuse_existing, sha256_file
from ..provenance import dump_json
from .manifest import MANIFEST_FILE

#: Where the bundled models lie, inside the installed package.
PRETRAINED = Path(__file__).resolve().parent.parent / "pretrained"
#: The model a restoration uses when none is given.
DEFAULT_MODEL = "reference"
#: The copy of the selection manifest that trained the model.
SELECTION_COPY = "selection.json"
#: The files a bundled model ships: the network, its record and its definition's copy.
SHIPPED_FILES = ("model.keras", MANIFEST_FILE, "definition.py", "history.csv")
_VERSIONED = re.compile(r"(?P<base>[a-z][a-z0-9_]*)-v(?P<version>[1-9][0-9]*)")


def bundled_models() -> dict[str, Path]:
    """Every bundled model by its versioned name (``reference-v1``), oldest version first."""
    found = [(match["base"], int(match["version"]), path) for path in sorted(PRETRAINED.glob("*-v*"))
             if (match := _VERSIONED.fullmatch(path.name)) and (path / MANIFEST_FILE).is_file()]
    return {f"{base}-v{version}": path for base, version, path in sorted(found)}


def aliases() -> dict[str, str]:
    """Each bare name and the versioned name it stands for: the newest version."""
    newest: dict[str, str] = {}
    for name in bundled_models():
        newest[_VERSIONED.fullmatch(name)["base"]] = name
    return newest


def versioned_name(name: str) -> str | None:
    """The versioned name that ``name`` (bare or versioned) gives, None if it names no bundled model."""
    if name in bundled_models():
        return name
    return aliases().get(name)


def known_names() -> list[str]:
    """Every name a bundled model answers to, bare names first."""
    return [*aliases(), *bundled_models()]


def bundle(model_dir: str | os.PathLike, name: str, rebuild: list[str]) -> Path:
    """Copy the trained model directory ``model_dir`` into the package as bundled model ``name``
    (``base-vN``, never an existing one), its manifest given the ``rebuild`` commands and a
    working folder of ``.``; return its folder."""
    from .model_dir import ModelDirectory

    if not _VERSIONED.fullmatch(name):
        raise SeisclipError(f"bundled model name {name!r} must carry its version, such as reference-v1")
    target = PRETRAINED / name
    refuse_existing(target, "bundled model")
    source = ModelDirectory.open(model_dir)
    source.check_files()
    manifest = source.manifest
    selection = Path(manifest.working_directory, manifest.selection_manifest or "")
    if manifest.selection_manifest is None or not selection.is_file():
        raise SeisclipError("the selection manifest that trained it is needed beside its index file", selection)
    if sha256_file(selection) != manifest.selection_manifest_sha256:
        raise SeisclipError("selection manifest changed since training: it is not the one that trained the model",
                            selection)
    bank = manifest.bank or {}
    record = {
        "commands": rebuild,
        "made": {"bank": bank, "index_file": manifest.index_file, "index_sha256": manifest.index_sha256,
                 "waveform_files": len(manifest.files)},
        # Any packaged waveforms among them, with their sha256 (none for a generated bank).
        "packaged_waveforms": bank.get("packaged_waveforms", []),
    }
    bundled = dataclasses.replace(manifest, working_directory=".", index_file_resolved=None, rebuild=record)
    PRETRAINED.mkdir(parents=True, exist_ok=True)
    with output_lock(target, "bundled model"), atomic_directory(target) as work:
        for file in SHIPPED_FILES:
            shutil.copyfile(source.path / file, work / file)
        for entry in manifest.imported_definitions or []:
            shutil.copyfile(source.path / entry["file"], work / entry["file"])
        shutil.copyfile(selection, work / SELECTION_COPY)
        (work / MANIFEST_FILE).write_bytes(dump_json(bundled.to_json()))
    return target


def main(argv: list[str] | None = None) -> int:
    from ..arguments import run_guarded

    parser = argparse.ArgumentParser(prog="python -m seisclip.learn.bundled", description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", help="the trained model directory")
    parser.add_argument("--name", required=True, help="its bundled name with its version, such as reference-v1")
    parser.add_argument("--rebuild", nargs="+", required=True, metavar="COMMAND",
                        help="the commands that make its training data again in an empty folder")
    args = parser.parse_args(argv)

    def run() -> int:
        print(f"bundled {args.model_dir} as {bundle(args.model_dir, args.name, args.rebuild)}", file=sys.stderr)
        return 0

    return run_guarded(run, parser.prog)


if __name__ == "__main__":
    raise SystemExit(main())
