"""``seisclip bank ingest``: every trace of a metadata list into one HDF5 bank.

The layout is described in :mod:`seisclip.bank.hdf5`. The sample type is the narrowest
integer type that holds every value of every trace, so it is only known once all files are
parsed: parsed traces wait, as float64 (exact for any integer up to 2**53), in an anonymous
temporary file beside the output, and are then copied into the bank in that type. The bank
itself is written under a hidden temporary name and renamed when complete.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from ..errors import SeisclipError
from ..fsio import atomic_file, output_lock, refuse_existing, temporary_prefix
from ..provenance import run_record
from .ascii import parse_waveform
from .hdf5 import (
    FORMAT,
    FORMAT_VERSION,
    NAME_FIELDS,
    SAMPLES,
    TRACES,
    parse_archive_name,
    values_sha256,
    write_attributes,
)
from .settings import DEFAULT_SAMPLING_RATE
from .wc_list import read_metadata

_INTEGER_TYPES = (np.int8, np.int16, np.int32, np.int64)
#: Parsed values are float64: integers up to this magnitude are exact, and stored as integers.
_MAX_EXACT_INTEGER = 2**53


def sample_dtype(low: float, high: float, integer: bool) -> np.dtype:
    """The narrowest little-endian integer type holding ``[low, high]``, or float64 if not ``integer``."""
    if integer:
        for candidate in _INTEGER_TYPES:
            info = np.iinfo(candidate)
            if info.min <= low and high <= info.max:
                return np.dtype(candidate).newbyteorder("<")
    return np.dtype("<f8")


def ingest_bank(metadata_file: str, ascii_dir: str, out: str, sampling_rate: float = DEFAULT_SAMPLING_RATE,
                overwrite: bool = False, strict: bool = False, progress: bool = True) -> str:
    """Write the bank ``out`` from the waveform files the metadata lists in ``ascii_dir``; a summary line."""
    if not (math.isfinite(sampling_rate) and sampling_rate > 0):
        raise SeisclipError(f"sampling rate must be a positive number, got {sampling_rate}")
    if not os.path.isdir(ascii_dir):
        raise SeisclipError("ASCII waveform folder not found", ascii_dir)
    if not Path(out).parent.is_dir():
        raise SeisclipError("output folder does not exist", Path(out).parent)
    with output_lock(out, "bank"):
        return _ingest_locked(metadata_file, ascii_dir, out, sampling_rate, overwrite, strict, progress)


class StagedTraces:
    """Traces waiting to become a bank's ``/samples``: float64 values in an anonymous temporary file
    beside the bank, until every value is seen and the narrowest sample type is known."""

    def __init__(self, bank_path: str | os.PathLike):
        # Nameless where the system allows; otherwise named like the bank's temporaries for the
        # instant before it is unlinked, so that a kill then leaves nothing the next run misses.
        self.file = tempfile.TemporaryFile(dir=Path(bank_path).parent, prefix=temporary_prefix(Path(bank_path)),
                                           suffix=".tmp")
        self.counts: list[int] = []
        self.low, self.high, self.integer = 0.0, 0.0, True

    def __enter__(self) -> "StagedTraces":
        return self

    def __exit__(self, *exc_info) -> None:
        self.file.close()

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        if values.size:
            self.low, self.high = min(self.low, values.min()), max(self.high, values.max())
            self.integer = self.integer and bool(np.all(values == np.rint(values))
                                                 and max(-self.low, self.high) <= _MAX_EXACT_INTEGER)
        values.tofile(self.file)
        self.counts.append(int(values.size))

    def write_bank(self, path: Path, progress: bool) -> tuple[h5py.File, dict]:
        """Create the bank file ``path`` with ``/samples`` and the ``/traces`` columns of the stored
        values; return it open (for the caller's columns and attributes) and the layout attributes."""
        dtype = sample_dtype(self.low, self.high, self.integer)
        counts = np.array(self.counts, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else counts
        self.file.seek(0)
        bank = h5py.File(path, "w")
        samples = bank.create_dataset(SAMPLES, shape=(int(counts.sum()),), dtype=dtype)  # contiguous, uncompressed
        samples_sha256 = []
        for offset, count in tqdm(zip(offsets.tolist(), counts.tolist()), total=len(counts), desc="writing bank",
                                  unit="trace", disable=not progress, leave=False):
            values = np.fromfile(self.file, dtype=np.float64, count=count).astype(dtype)
            samples[offset:offset + count] = values
            samples_sha256.append(values_sha256(values))
        table = bank.create_group(TRACES)
        table.create_dataset("offset", data=offsets)
        table.create_dataset("count", data=counts)
        table.create_dataset("samples_sha256", data=np.array(samples_sha256, dtype="S64"))
        layout = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "sample_dtype": dtype.str,
            "sample_kind": "integer" if self.integer else "float",
            "samples_sha256_of": "each trace's values as little-endian bytes of sample_dtype",
            "trace_count": len(counts),
            "total_samples": int(counts.sum()),
        }
        return bank, layout


def _ingest_locked(metadata_file: str, ascii_dir: str, out: str, sampling_rate: float, overwrite: bool, strict: bool,
                   progress: bool) -> str:
    if not overwrite:
        refuse_existing(out, "bank")
    metadata = read_metadata(metadata_file, strict=strict)
    if metadata.skipped_total:
        print(f"warning: {metadata.skipped_summary()}", file=sys.stderr)

    sources = []   # (source size, source sha256) per metadata entry
    with StagedTraces(out) as staged:
        for entry in tqdm(metadata.entries, desc="reading waveforms", unit="file", disable=not progress, leave=False):
            path = os.path.join(ascii_dir, entry.name)
            try:
                with open(path, "rb") as handle:
                    raw = handle.read()
            except FileNotFoundError:
                raise SeisclipError(f"waveform file listed on {metadata.path} line {entry.line} not found", path) from None
            except OSError as exc:   # a folder, or a file this user cannot read
                raise SeisclipError(f"cannot read waveform file listed on {metadata.path} line {entry.line}: "
                                    f"{exc.strerror}", path) from None
            values = parse_waveform(raw, path)
            if values.size != entry.count:
                raise SeisclipError(f"{values.size} samples, {metadata.path}:{entry.line} lists {entry.count}", path)
            if entry.nbytes is not None and len(raw) != entry.nbytes:
                raise SeisclipError(f"{len(raw)} bytes, {metadata.path}:{entry.line} lists {entry.nbytes}", path)
            staged.add(values)
            sources.append((len(raw), hashlib.sha256(raw).hexdigest()))

        with atomic_file(out, overwrite=overwrite) as tmp:
            bank, layout = staged.write_bank(tmp, progress)
            with bank:
                _write_trace_table(bank[TRACES], metadata.entries, sources)
                write_attributes(bank, {
                    **layout,
                    "origin": "seisclip bank ingest",
                    "sampling_rate_hz": float(sampling_rate),
                    "ascii_dir": ascii_dir,
                    "ascii_dir_resolved": os.path.realpath(ascii_dir),
                    "metadata_file": metadata.path,
                    "metadata_file_resolved": os.path.realpath(metadata.path),
                    "metadata_sha256": metadata.sha256,
                    "metadata_skipped_lines": dict(metadata.skipped),
                    "working_directory": os.getcwd(),
                    **run_record("numpy", "h5py"),
                })
        size = os.path.getsize(out)
    return (f"{out}: {layout['trace_count']} traces, {layout['total_samples']:,} samples stored as "
            f"{np.dtype(layout['sample_dtype']).name} ({size / 1e6:,.1f} MB) from {ascii_dir}")


def _write_trace_table(table: h5py.Group, entries, sources: list[tuple[int, str]]) -> None:
    """The ``/traces`` columns of ingested ASCII files, one row per trace, in ``/samples`` order."""
    names = [entry.name for entry in entries]
    parsed = [parse_archive_name(name) for name in names]
    text = h5py.string_dtype()
    table.create_dataset("name", data=names, dtype=text)
    table.create_dataset("source_bytes", data=np.array([size for size, _ in sources], dtype=np.int64))
    table.create_dataset("source_sha256", data=np.array([digest for _, digest in sources], dtype="S64"))
    table.create_dataset("metadata_line", data=np.array([entry.line for entry in entries], dtype=np.int64))
    table.create_dataset("name_parsed", data=np.array([fields is not None for fields in parsed]))
    for field in NAME_FIELDS:
        table.create_dataset(field, data=[fields[field] if fields else "" for fields in parsed], dtype=text)
    table.create_dataset("record_offset", data=np.array([fields["record_offset"] if fields else -1 for fields in parsed],
                                                        dtype=np.int64))
