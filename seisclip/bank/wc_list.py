"""The bank's metadata list, in ``wc`` format: ``lines words bytes name`` per waveform file.

Only column 1 (sample count) and column 4 (file name) matter to selection; column 3 (bytes)
lets ``verify`` spot a changed or truncated waveform without reading it. Bad lines are
skipped, counted per reason and reported with their line numbers; ``strict`` makes the first
one an error.
"""

from __future__ import annotations

import os
import posixpath
from collections import Counter
from dataclasses import dataclass, field

from ..errors import SeisclipError
from ..fsio import read_input, sha256_bytes

#: Reasons a metadata line is skipped, in the order they are checked.
SKIP_REASONS = (
    "blank line",
    "not 4 columns",
    "count not an integer",
    "negative count",
    "count too large",
    "name escapes the bank folder",
    "name holds a control character",
    "duplicate name",
    "wc total line",
)


@dataclass(frozen=True)
class BankEntry:
    """One waveform file of the bank as the metadata describes it."""

    name: str
    count: int
    nbytes: int | None
    line: int


@dataclass
class Metadata:
    path: str
    sha256: str
    entries: list[BankEntry]
    skipped: Counter = field(default_factory=Counter)
    skipped_lines: dict[str, list[int]] = field(default_factory=dict)
    total_lines: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def by_name(self) -> dict[str, BankEntry]:
        return {entry.name: entry for entry in self.entries}

    def skipped_summary(self) -> str:
        """One line naming each skip reason, its count and its first few line numbers."""
        parts = []
        for reason in SKIP_REASONS:
            if self.skipped[reason]:
                lines = self.skipped_lines[reason]
                shown = ", ".join(str(n) for n in lines[:5]) + (", ..." if len(lines) > 5 else "")
                parts.append(f"{self.skipped[reason]} {reason} (line {shown})")
        return f"{self.path}: skipped {self.skipped_total} of {self.total_lines} lines: " + "; ".join(parts)


def format_wc_line(lines: int, words: int, nbytes: int, name: str) -> str:
    """A metadata line laid out like GNU ``wc`` output for several files."""
    return f"{lines:10d} {words:10d} {nbytes:10d} {name}\n"


def _escapes_bank(name: str) -> bool:
    if name.startswith(("/", "\\")) or "\\" in name or os.path.isabs(name):
        return True
    normalised = posixpath.normpath(name)
    return normalised == ".." or normalised.startswith("../") or normalised == "."


#: Counts and sizes have at most 18 digits, so that they fit int64 arrays.
MAX_DIGITS = 18


def _count_problem(text: str) -> str | None:
    """Why a count (or size) column cannot be used, or None. Plain ASCII digits only: int()
    would also take "1_000" or "١٢"."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not (digits.isascii() and digits.isdigit()):
        return "count not an integer"
    if text.startswith("-") and digits.strip("0"):
        return "negative count"
    if len(digits.lstrip("0")) > MAX_DIGITS:
        return "count too large"
    return None


def read_metadata(path: str | os.PathLike, strict: bool = False) -> Metadata:
    """Parse a metadata file. Raises :class:`SeisclipError` if it is missing, unreadable or empty."""
    path = os.fspath(path)
    raw = read_input(path, "metadata file")
    if not raw.strip():
        raise SeisclipError("metadata file is empty", path)

    meta = Metadata(path=path, sha256=sha256_bytes(raw), entries=[])
    seen: set[str] = set()
    running_total = 0

    def skip(reason: str, number: int) -> None:
        if strict:
            raise SeisclipError(f"bad metadata line ({reason}; --strict is set)", path, number)
        meta.skipped[reason] += 1
        meta.skipped_lines.setdefault(reason, []).append(number)

    lines = raw.splitlines()
    meta.total_lines = len(lines)
    for number, raw_line in enumerate(lines, start=1):
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError:
            raise SeisclipError("metadata line is not UTF-8 text", path, number) from None
        columns = text.split()  # also drops a CRLF's carriage return
        if not columns:  # harmless, so counted but never an error
            meta.skipped["blank line"] += 1
            meta.skipped_lines.setdefault("blank line", []).append(number)
            continue
        if len(columns) != 4:
            skip("not 4 columns", number)
            continue
        problem = _count_problem(columns[0])
        if problem:
            skip(problem, number)
            continue
        count = int(columns[0])
        name = columns[3]
        # `wc FILE...` ends with a total; a file really named "total" is kept.
        if name == "total" and number == len(lines) and count == running_total and meta.entries:
            skip("wc total line", number)
            continue
        if _escapes_bank(name):
            skip("name escapes the bank folder", number)
            continue
        if not name.isprintable():   # e.g. a NUL, which no file name can hold
            skip("name holds a control character", number)
            continue
        if name in seen:
            skip("duplicate name", number)
            continue
        seen.add(name)
        running_total += count
        # The size is only compared with the file's: left out when unusable.
        nbytes = None if _count_problem(columns[2]) else int(columns[2])
        meta.entries.append(BankEntry(name=name, count=count, nbytes=nbytes, line=number))
    if not meta.entries:
        raise SeisclipError(f"metadata file has no usable line ({meta.skipped_total} skipped)", path)
    return meta
