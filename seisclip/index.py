"""Index files: one segment per line, ``<istart> <rscale> <ASCII_file_dir>/<name>``.

``istart`` is the 0-based first sample of the segment, ``rscale`` the clip level as a
fraction of the segment's peak, and the path is read as the user's tools read it: relative
to the current folder unless absolute.
"""

from __future__ import annotations

import math
import os
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import SeisclipError
from .fsio import sha256_bytes

RSCALE_DECIMALS = 3


@dataclass
class IndexFile:
    path: str
    sha256: str
    line_numbers: np.ndarray  # 1-based line of each segment in the file
    istart: np.ndarray
    rscale: np.ndarray
    paths: list[str]

    def __len__(self) -> int:
        return len(self.paths)


def format_index(istart: np.ndarray, rscale_thousandths: np.ndarray, file_index: np.ndarray, file_paths: list[str]) -> bytes:
    """Index text for segments given as integer starts, clip levels in thousandths and file numbers."""
    # At most 1001 distinct clip levels: format each once instead of once per line.
    levels = [f"{k / 10**RSCALE_DECIMALS:.{RSCALE_DECIMALS}f}" for k in range(10**RSCALE_DECIMALS + 1)]
    lines = [
        f"{start} {levels[k]} {file_paths[f]}\n"
        for start, k, f in zip(istart.tolist(), rscale_thousandths.tolist(), file_index.tolist())
    ]
    return "".join(lines).encode()


def _parse_line(text: str) -> tuple[int, float, str]:
    fields = text.split()
    if len(fields) != 3:
        raise ValueError(f"expected 3 fields 'istart rscale path', found {len(fields)}")
    try:
        istart = int(fields[0])
    except ValueError:
        raise ValueError(f"start {fields[0]!r} is not an integer") from None
    if istart < 0:
        raise ValueError(f"start {istart} is negative")
    try:
        rscale = float(fields[1])
    except ValueError:
        raise ValueError(f"clip level {fields[1]!r} is not a number") from None
    if not (math.isfinite(rscale) and 0.0 < rscale <= 1.0):
        raise ValueError(f"clip level {fields[1]} is outside (0, 1]")
    return istart, rscale, fields[2]


def read_index(path: str | os.PathLike, problems: list[tuple[int, str]] | None = None) -> IndexFile:
    """Parse an index file.

    A malformed line raises :class:`SeisclipError` naming it, unless ``problems`` is given:
    then each bad line is appended there as ``(line, message)`` and left out.
    """
    path = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise SeisclipError("index file not found", path) from None
    except OSError as exc:
        raise SeisclipError(f"cannot read index file: {exc.strerror}", path) from None
    # Typed arrays and one string per distinct path: a million-line index names only a few
    # thousand files, and is then held in a few tens of MB (streamed training keeps it).
    numbers, starts, levels, paths = array("q"), array("q"), array("d"), []
    distinct_paths: dict[str, str] = {}
    for number, raw_line in enumerate(raw.splitlines(), start=1):
        try:
            istart, rscale, segment_path = _parse_line(raw_line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            message = "line is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
            if problems is None:
                raise SeisclipError(message, path, number) from None
            problems.append((number, message))
            continue
        numbers.append(number)
        starts.append(istart)
        levels.append(rscale)
        paths.append(distinct_paths.setdefault(segment_path, segment_path))
    if not paths and problems is None:
        raise SeisclipError("index file has no segments", path)
    return IndexFile(
        path=path,
        sha256=sha256_bytes(raw),
        line_numbers=np.asarray(numbers, dtype=np.int64),
        istart=np.asarray(starts, dtype=np.int64),
        rscale=np.asarray(levels, dtype=np.float64),
        paths=paths,
    )
