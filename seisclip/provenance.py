"""What every manifest records about the code and the machine that made an output."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .errors import SeisclipError
from .fsio import read_input

_PACKAGE_DIR = Path(__file__).resolve().parent


def git_state(folder: str | os.PathLike = _PACKAGE_DIR) -> dict[str, Any]:
    """Commit and dirtiness of the checkout holding ``folder``, or nulls outside a checkout."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": commit, "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def source_sha256() -> str:
    """The sha256 of seisclip's own source files, names and contents: it changes with any change
    to the code, committed or not, which a version number or a commit alone would miss."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def library_versions(*modules: str) -> dict[str, str]:
    versions = {"python": platform.python_version(), "seisclip": __version__}
    for name in modules:
        try:
            module = sys.modules.get(name) or __import__(name)
        except ImportError:   # an optional dependency, such as ObsPy
            versions[name] = "not installed"
            continue
        versions[name] = getattr(module, "__version__", "unknown")
    return versions


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def run_record(*modules: str) -> dict[str, Any]:
    """Code version, library versions, command line, host and time of this run."""
    return {
        "versions": library_versions(*modules),
        **git_state(),
        "command": sys.argv,
        "host": platform.node(),
        "created_utc": utc_now(),
    }


#: What :func:`run_record` adds to a manifest, and what else depends on where and when a run
#: happened rather than on what it made: the same output made again differs only in these.
RUN_RECORD_KEYS = frozenset({"versions", "git_commit", "git_dirty", "command", "host", "created_utc",
                             "working_directory"})


def without_run_record(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` without its run record and its absolute paths (keys ending ``_resolved``)."""
    return {key: value for key, value in manifest.items()
            if key not in RUN_RECORD_KEYS and not key.endswith("_resolved")}


def manifest_path_for(index_path: str | os.PathLike) -> Path:
    """The selection manifest lives beside its index file: ``set.txt`` → ``set.json``."""
    return Path(index_path).with_suffix(".json")


def _is_flat(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(item, (dict, list)) for item in value)


def _to_json(value: Any, indent: str) -> str:
    """Indented JSON in which lists of numbers or strings take one line, so a table of
    thousands of rows stays one row per line."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(str(key))}: {_to_json(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and value and not _is_flat(value):
        items = [f"{inner}{_to_json(item, inner)}" for item in value]
        return "[\n" + ",\n".join(items) + f"\n{indent}]"
    return json.dumps(value)


def dump_json(data: dict[str, Any]) -> bytes:
    return (_to_json(data, "") + "\n").encode()


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    raw = read_input(path, "manifest")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SeisclipError("manifest is not UTF-8 text", path) from None
    except json.JSONDecodeError as exc:
        raise SeisclipError(f"manifest is not valid JSON ({exc.msg})", path, exc.lineno) from None
    if not isinstance(data, dict):
        raise SeisclipError("manifest is not a JSON object", path)
    return data


_JSON_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
                    list: "a list", dict: "an object"}


def check_fields(manifest: dict[str, Any], path: str | os.PathLike, fields: dict[str, type | tuple[type, ...]]) -> None:
    """Fail naming the first of ``fields`` (dotted for nested ones, e.g. ``parameters.sbrl``) that
    ``manifest`` lacks or holds with another JSON type, so that a damaged or hand-edited
    manifest is one clear error instead of a KeyError where a field is used."""
    for key, expected in fields.items():
        value: Any = manifest
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise SeisclipError(f"manifest lacks '{key}'", path)
            value = value[part]
        expected = expected if isinstance(expected, tuple) else (expected,)
        if isinstance(value, bool) != (bool in expected) or not isinstance(value, expected):
            wanted = " or ".join(_JSON_TYPE_NAMES[kind] for kind in expected)
            raise SeisclipError(f"manifest's '{key}' is {json.dumps(value)[:40]}, not {wanted}", path)
