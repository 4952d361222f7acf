"""The HDF5 waveform bank: its layout, and reading segments from it.

One file holds every trace of a metadata list (see ``seisclip bank ingest``):

* ``/samples``: all traces concatenated in metadata order, one 1-D dataset stored contiguously
  and uncompressed in the narrowest integer type that holds every value (float64 if a value
  is not an integer), so a segment is one plain read at a computable file position;
* ``/traces/<column>``: one row per trace (name, offset into ``/samples``, count, the source
  file's size and sha256, the sha256 of the stored values, fields parsed from the name);
* root attributes: format, sampling rate, sample type, where the traces came from.

Index lines name ``<ASCII_file_dir>/<name>``; :class:`BankSource` finds the trace by name, so
an index file reads the same arrays from the bank as from the ASCII folder.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import posixpath
import re
from typing import Any

import h5py
import numpy as np

from ..errors import SeisclipError
from ..fsio import sha256_file

FORMAT = "seisclip waveform bank"
FORMAT_VERSION = 1
SAMPLES = "samples"
TRACES = "traces"
#: Columns of ``/traces`` written from the trace's name; empty (or -1) when the name does not parse.
NAME_FIELDS = ("date", "time", "station", "instrument", "channel")

#: Reads of nearby segments are merged when the gap between them is at most this many samples:
#: reading a few KB more is cheaper than another HDF5 read call (~10 us).
READ_GAP = 4096
#: A merged read never starts segments in two different blocks of this many samples, which
#: bounds each read (and the memory it takes) to about one block.
READ_BLOCK = 1 << 20

# 19830924.0500.BRV.SKM.s09E0.024.txtseg00000000: date, time, station, instrument, channel,
# and the segment's sample offset in its original record.
_ARCHIVE_NAME = re.compile(r"(?P<date>\d{8})\.(?P<time>\d{4})\.(?P<station>[A-Za-z0-9]+)\."
                           r"(?P<instrument>[A-Za-z0-9]+)\.(?P<channel>[A-Za-z0-9]+\.[A-Za-z0-9]+)"
                           r"\.txtseg(?P<record_offset>\d+)")


def parse_archive_name(name: str) -> dict[str, Any] | None:
    """Date (YYYY-MM-DD), time (HH:MM), station, instrument, channel and record offset of an
    archive-style name such as ``19830924.0500.BRV.SKM.s09E0.024.txtseg00000000``; None otherwise."""
    match = _ARCHIVE_NAME.fullmatch(posixpath.basename(name))
    if match is None:
        return None
    try:
        moment = datetime.datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M")
    except ValueError:
        return None
    return {"date": f"{moment:%Y-%m-%d}", "time": f"{moment:%H:%M}", "station": match["station"],
            "instrument": match["instrument"], "channel": match["channel"],
            "record_offset": int(match["record_offset"])}


def values_sha256(values: np.ndarray) -> str:
    """sha256 of a trace's stored values as little-endian bytes of the bank's sample type."""
    little_endian = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<"))
    return hashlib.sha256(little_endian.tobytes()).hexdigest()


def write_attributes(node: h5py.HLObject, values: dict[str, Any]) -> None:
    """Strings and numbers as plain HDF5 attributes; anything else (dicts, lists, null) as JSON text."""
    for key, value in values.items():
        node.attrs[key] = value if isinstance(value, (str, bool, int, float)) else json.dumps(value)


class Bank:
    """An HDF5 bank opened for reading: its trace table in memory, samples read on demand."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        try:
            self.file = h5py.File(self.path, "r")
        except FileNotFoundError:
            raise SeisclipError("bank file not found", self.path) from None
        except OSError as exc:
            raise SeisclipError(f"cannot open the bank as HDF5 ({exc})", self.path) from None
        if self.file.attrs.get("format") != FORMAT:
            raise SeisclipError(f"not a {FORMAT} (its 'format' attribute is not {FORMAT!r})", self.path)
        if self.file.attrs.get("format_version") != FORMAT_VERSION:
            raise SeisclipError(f"bank format version {self.file.attrs.get('format_version')} is not "
                                f"the {FORMAT_VERSION} this seisclip reads", self.path)
        try:
            self.samples = self.file[SAMPLES]
            table = self.file[TRACES]
            self.names = [str(name) for name in table["name"].asstr()[()]]
            self.offsets = table["offset"][()].astype(np.int64)
            self.counts = table["count"][()].astype(np.int64)
            self.source_sha256 = [digest.decode() for digest in table["source_sha256"][()]]
            self.samples_sha256 = [digest.decode() for digest in table["samples_sha256"][()]]
            self.source_bytes = table["source_bytes"][()].astype(np.int64)
        except KeyError as exc:
            raise SeisclipError(f"bank lacks {exc.args[0]}", self.path) from None
        self.number_of = {name: number for number, name in enumerate(self.names)}

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> "Bank":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def sampling_rate(self) -> float:
        return float(self.file.attrs["sampling_rate_hz"])

    def table_problems(self) -> list[str]:
        """Columns of ``/traces`` whose length differs from the names', one line each."""
        columns = {"source_sha256": self.source_sha256, "samples_sha256": self.samples_sha256,
                   "offset": self.offsets, "count": self.counts, "source_bytes": self.source_bytes}
        return [f"{self.path}: /{TRACES}/{column} has {len(values)} rows, /{TRACES}/name {len(self.names)}"
                for column, values in columns.items() if len(values) != len(self.names)]

    def layout_problems(self) -> list[str]:
        """What makes the trace table and ``/samples`` disagree, one line each (none for a sound bank)."""
        problems = self.table_problems()
        if problems:
            return problems
        if len(self.number_of) != len(self.names):
            problems.append(f"{self.path}: trace names are not unique")
        expected_offsets = np.concatenate([[0], np.cumsum(self.counts)[:-1]]) if len(self.counts) else self.counts
        if np.any(self.counts < 0) or not np.array_equal(self.offsets, expected_offsets):
            problems.append(f"{self.path}: /{TRACES}/offset does not follow from /{TRACES}/count")
        total = int(self.counts.sum())
        if self.samples.shape != (total,):
            problems.append(f"{self.path}: /{SAMPLES} has shape {self.samples.shape}, the traces add up to ({total},)")
        if self.file.attrs.get("sample_dtype") != self.samples.dtype.str:
            problems.append(f"{self.path}: /{SAMPLES} is {self.samples.dtype.str}, "
                            f"the 'sample_dtype' attribute says {self.file.attrs.get('sample_dtype')}")
        return problems

    def trace_values(self, number: int) -> np.ndarray:
        """The stored values of one trace, in the bank's sample type (shorter if ``/samples`` is truncated)."""
        offset = int(self.offsets[number])
        return self.samples[offset:offset + int(self.counts[number])]

    def read_segments(self, starts: np.ndarray, length: int) -> np.ndarray:
        """Rows ``/samples[start:start + length]`` for each start, in the bank's sample type.

        Reads go in order of position, segments closer than :data:`READ_GAP` samples sharing one
        read, so a dense set costs a few large reads and a sparse one a read per segment.
        """
        starts = np.asarray(starts, dtype=np.int64)
        rows = np.empty((starts.size, length), dtype=self.samples.dtype)
        if not starts.size:
            return rows
        order = np.argsort(starts, kind="stable")
        sorted_starts = starts[order]
        reach = np.maximum.accumulate(sorted_starts + length)   # end of everything read so far
        new_read = np.ones(starts.size, dtype=bool)
        new_read[1:] = ((sorted_starts[1:] > reach[:-1] + READ_GAP)
                        | (sorted_starts[1:] // READ_BLOCK != sorted_starts[:-1] // READ_BLOCK))
        bounds = np.append(np.flatnonzero(new_read), starts.size)
        columns = np.arange(length)
        for first, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            low, high = int(sorted_starts[first]), int(reach[stop - 1])
            block = self.samples[low:high]
            rows[order[first:stop]] = block[(sorted_starts[first:stop] - low)[:, None] + columns]
        return rows

    def provenance(self) -> dict[str, Any]:
        """Which bank this is, for a manifest or an exported set: path, sha256 of its bytes, origin."""
        attrs = self.file.attrs
        return {
            "kind": "hdf5",
            "path": self.path,
            "path_resolved": os.path.realpath(self.path),
            "sha256": sha256_file(self.path),
            "format_version": int(attrs["format_version"]),
            "traces": len(self.names),
            "sample_dtype": str(attrs["sample_dtype"]),
            "sampling_rate_hz": self.sampling_rate,
            # An ingested bank came from ASCII files and their metadata, an imported one from the
            # sources its import report lists.
            "origin": str(attrs.get("origin", "seisclip bank ingest")),
            **{key: str(attrs[key]) for key in ("ascii_dir", "metadata_file", "metadata_sha256", "import_report",
                                                "import_report_sha256") if key in attrs},
            "created_utc": str(attrs["created_utc"]),
        }


class BankTrace:
    """One trace of a bank, as :func:`seisclip.sets.segments.load_segments` reads it."""

    def __init__(self, bank: Bank, number: int):
        self.bank = bank
        self.offset = int(bank.offsets[number])
        self.samples = int(bank.counts[number])
        self.sha256 = bank.source_sha256[number]

    def segments(self, starts: np.ndarray, length: int) -> np.ndarray:
        return self.bank.read_segments(self.offset + starts, length).astype(np.float64)


class BankSource:
    """Index lines read from an HDF5 bank instead of the ASCII files they name.

    A path ``<ASCII_file_dir>/<name>`` is the trace called by its longest trailing part that is
    a trace name (``outfiles/sub/x`` is ``sub/x`` if the bank has it, else ``x``), whatever
    folder the index was drawn with.
    """

    def __init__(self, path: str | os.PathLike):
        self.bank = Bank(path)
        problems = self.bank.layout_problems()
        if problems:
            raise SeisclipError(f"bank is damaged ({problems[0]}); run 'seisclip bank verify'", self.bank.path)

    def trace_number(self, path: str) -> int | None:
        parts = posixpath.normpath(path).split("/")
        for first in range(len(parts)):
            number = self.bank.number_of.get("/".join(parts[first:]))
            if number is not None:
                return number
        return None

    def open_trace(self, path: str) -> BankTrace | None:
        number = self.trace_number(path)
        return None if number is None else BankTrace(self.bank, number)
