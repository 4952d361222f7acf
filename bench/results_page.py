"""The one writer of the pages in docs/results/.

A page begins with the command that writes it, then a header naming what its figures depend
on: each model with the sha256 of its network, the development set's manifest sha256, the
machine (CPU, cores, Python, TensorFlow) and the date. The tables follow as the bench printed
them, so that a rerun on the same models and records differs from the page in its date alone
(and the machine, on another one). The bench scripts that write a page import this module
(``python bench/NAME.py`` puts bench/ on the import path) and take ``--page PATH``.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from importlib import metadata
from pathlib import Path

from seisclip.fsio import sha256_bytes, sha256_file, write_file_atomic
from seisclip.learn.models import open_model
from seisclip.provenance import utc_now

DEVELOPMENT_MANIFEST = os.path.join("dev_records", "manifest.json")
#: The TensorFlow distributions seisclip installs: the CPU build, or the one with CUDA.
_TENSORFLOW_DISTRIBUTIONS = ("tensorflow-cpu", "tensorflow")


def command_line(argv: list[str] | None = None) -> str:
    """How the running bench was started, as one would type it from the repository's root."""
    argv = sys.argv if argv is None else argv
    return shlex.join(["python", os.path.relpath(argv[0]), *argv[1:]])


def cpu_model() -> str:
    """The CPU's model name as Linux reports it, or what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def tensorflow_version() -> str:
    """The installed TensorFlow's version, read without importing it."""
    for distribution in _TENSORFLOW_DISTRIBUTIONS:
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def machine() -> str:
    return (f"{cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"TensorFlow {tensorflow_version()}")


def files_sha256(paths: list[str]) -> str:
    """One sha256 for a list of files: that of the lines ``path NUL sha256`` in the list's order."""
    return sha256_bytes("".join(f"{path}\0{sha256_file(path)}\n" for path in paths).encode())


def development_set() -> dict[str, str]:
    """The development set as a page names it: its manifest and the manifest's sha256."""
    return {f"development set `{DEVELOPMENT_MANIFEST}`": sha256_file(DEVELOPMENT_MANIFEST)}


def header(command: str, models: list[str], records: dict[str, str]) -> list[str]:
    """The page's first lines: the command that writes it, then what its figures depend on."""
    lines = ["```sh", command, "```", ""]
    for path in models:
        lines.append(f"* model `{path}`: network sha256 `{open_model(path).sha256()}`")
    lines += [f"* {what}: sha256 `{digest}`" for what, digest in records.items()]
    lines += [f"* machine: {machine()}", f"* date: {utc_now()}", ""]
    return lines


def write_page(path: str | os.PathLike, title: str, body: str, models: list[str],
               records: dict[str, str] | None = None, command: str | None = None) -> None:
    """Write the page atomically: the header, its title, then ``body`` (the bench's tables in
    Markdown). ``records`` names the records measured, each with a sha256 (default: the
    development set). An existing page is replaced: a page is the latest run of its command."""
    records = development_set() if records is None else records
    lines = [*header(command or command_line(), models, records), f"# {title}", "", body.rstrip("\n")]
    write_file_atomic(path, ("\n".join(lines) + "\n").encode(), overwrite=True)
    print(f"-> {path}", file=sys.stderr)
