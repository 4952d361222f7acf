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

import numpy as np

from ..errors import SeisclipError
from ..fsio import read_input, sha256_bytes

RSCALE_DECIMALS = 3
#: A start has at most 18 digits, so that it fits the int64 arrays it is held in.
MAX_START_DIGITS = 18


@dataclass
class IndexFile:
    path: str
    sha256: str
    line_numbers: np.ndarray  # 1-based line of each segment in the file
    istart: np.ndarray
    clip_fraction: np.ndarray   # the rscale column: the clip level as a fraction of the segment's peak
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


def _start_problem(start: str) -> str:
    if start.startswith("-") and start[1:].isascii() and start[1:].isdigit():
        return f"start {start} is negative"
    if start.isascii() and start.isdigit():
        return f"start {start} has more than {MAX_START_DIGITS} digits: beyond any waveform file"
    return f"start {start!r} is not an integer"


def _parse_line(text: str) -> tuple[int, float, str]:
    fields = text.split()
    if len(fields) != 3:
        raise ValueError(f"expected 3 fields 'istart rscale path', found {len(fields)}")
    start, level, segment_path = fields
    # Plain ASCII digits only: int() and float() would also take "1_000" or non-ASCII digits.
    if not (start.isascii() and start.isdigit() and len(start) <= MAX_START_DIGITS):
        raise ValueError(_start_problem(start))
    try:
        if not level.isascii() or "_" in level:
            raise ValueError
        rscale = float(level)
    except ValueError:
        raise ValueError(f"clip level {level!r} is not a number") from None
    if not (math.isfinite(rscale) and 0.0 < rscale <= 1.0):
        raise ValueError(f"clip level {level} is outside (0, 1]")
    if not segment_path.isprintable():
        raise ValueError(f"path {segment_path!r} holds a control character")
    return int(start), rscale, segment_path


def read_index(path: str | os.PathLike, problems: list[tuple[int, str]] | None = None) -> IndexFile:
    """Parse an index file.

    A malformed line raises :class:`SeisclipError` naming it, unless ``problems`` is given:
    then each bad line is appended there as ``(line, message)`` and left out.
    """
    path = os.fspath(path)
    raw = read_input(path, "index file")
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
        clip_fraction=np.asarray(levels, dtype=np.float64),
        paths=paths,
    )
