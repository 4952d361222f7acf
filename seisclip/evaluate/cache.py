"""The evaluation cache of ``compare``.

Each evaluation is kept as JSON in the cache folder under the sha256 of everything it depends
on (the model's manifest and network, every record file, the clip fractions, stride and window,
seisclip's own source files, the columns each signal's row holds and the pyRotd that computes
its response spectra), so a rerun on the same inputs reuses it without loading the
model, and a changed record file or code evaluates again.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import version
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import SeisclipError
from ..fsio import sha256_bytes, sha256_file, write_file_atomic
from ..provenance import dump_json, source_sha256
from .metrics import SIGNAL_COLUMNS

DEFAULT_CACHE = os.path.join("evaluations", "compare_cache")


@dataclass(frozen=True)
class Inputs:
    """What every evaluation of one comparison depends on besides the model."""

    families: dict[str, list[str]]
    record_sha256: dict[str, str]
    clip_fractions: list[float]
    stride: int | None
    window: int | None

    def key(self) -> dict[str, Any]:
        return {"seisclip": __version__, "source_sha256": source_sha256(), "row_columns": list(SIGNAL_COLUMNS),
                "pyrotd": version("pyrotd"),
                "records": [[path, self.record_sha256[path]] for paths in self.families.values() for path in paths],
                "clip_fractions": self.clip_fractions, "stride": self.stride, "window": self.window}


def hash_records(paths: list[str]) -> dict[str, str]:
    """Each record file's sha256, every file checked to exist first."""
    for path in paths:
        if not os.path.isfile(path):
            raise SeisclipError("record file not found", path)
    return {path: sha256_file(path) for path in paths}


@dataclass
class Evaluation:
    """One cached evaluation: the signals' rows (:func:`~.metrics.signal_rows`) of each family."""

    path: Path
    key: dict[str, Any]
    rows: dict[str, list[dict]] = field(default_factory=dict)
    network_parameters: int | None = None

    def read(self) -> bool:
        """Whether the cache holds this evaluation (a damaged entry is evaluated again)."""
        if not self.path.is_file():
            return False
        try:
            stored = json.loads(self.path.read_bytes())
        except ValueError:
            print(f"note: {self.path}: cached evaluation is damaged; evaluating again", file=sys.stderr)
            return False
        if not isinstance(stored, dict) or stored.get("key") != self.key:
            return False
        self.rows, self.network_parameters = stored["rows"], stored["network_parameters"]
        return True

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(self.path, dump_json({"kind": "seisclip compare evaluation", "key": self.key,
                                                "rows": self.rows, "network_parameters": self.network_parameters}),
                          overwrite=True)


def cached_evaluation(cache_dir: str, name: str, key: dict[str, Any]) -> Evaluation:
    """The cache entry of the evaluation ``key`` names (read it with :meth:`Evaluation.read`)."""
    digest = sha256_bytes(json.dumps(key, sort_keys=True).encode())
    return Evaluation(Path(cache_dir) / f"{name}.{digest[:32]}.json", key)
