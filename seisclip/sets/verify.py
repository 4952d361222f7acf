"""``seisclip verify INDEX``: does an index file still match its manifest, metadata and bank?"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from pathlib import Path
from typing import Callable

from ..bank.verify import report
from ..bank.wc_list import read_metadata
from ..errors import SeisclipError
from ..provenance import check_fields, manifest_path_for, read_manifest
from .index_file import read_index
from .selection import bank_listing

_CHUNK = 1 << 20
#: What verify reads from a selection manifest, with its JSON type.
SELECTION_MANIFEST_FIELDS = {"index_sha256": str, "number_of_segments": int, "segment_length": int,
                             "clip_level_range": list, "ASCII_file_dir": str}
#: ... and what it names the traces were drawn from: a metadata file, or an HDF5 bank.
METADATA_FIELDS = {"metadata_file": str}
BANK_FIELDS = {"bank": dict}
#: An adopted set's manifest also holds the sha256 of each waveform file, by its path in the index.
WAVEFORM_HASH_FIELDS = {"waveform_sha256": dict}


def count_samples(path: str | os.PathLike, on_chunk: Callable[[bytes], None] | None = None) -> int:
    """Number of lines in a waveform file, a last line without newline included; each chunk read
    also goes to ``on_chunk`` when given (a digest's ``update``), so that a file is counted and
    hashed in one read."""
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            if on_chunk is not None:
                on_chunk(chunk)
    return lines + (last != b"\n")


def _metadata_path(manifest: dict, given: str | None) -> str:
    if given is not None:
        return given
    recorded = manifest.get("metadata_file", "")
    if os.path.exists(recorded):
        return recorded
    return manifest.get("metadata_file_resolved", recorded)


def _bank_path(manifest: dict, given: str | None) -> str:
    if given is not None:
        return given
    recorded = manifest["bank"].get("path", "")
    if os.path.exists(recorded):
        return recorded
    return manifest["bank"].get("path_resolved", recorded)


def _listing(manifest: dict, manifest_path, metadata_path: str | None, bank_path: str | None,
             problems: list[str]) -> tuple[str, dict]:
    """Where the set was drawn from (a metadata file or a bank) and its entries by name; a changed
    source is a problem."""
    if "bank" in manifest:
        check_fields(manifest, manifest_path, BANK_FIELDS)
        source = _bank_path(manifest, bank_path)
        listing, _ = bank_listing(source)
        recorded = manifest["bank"].get("sha256")
        changed = "the bank changed"
    else:
        check_fields(manifest, manifest_path, METADATA_FIELDS)
        source = _metadata_path(manifest, metadata_path)
        listing = read_metadata(source)
        recorded = manifest.get("metadata_sha256")
        changed = "the metadata changed"
    if listing.sha256 != recorded:
        problems.append(f"{source}: sha256 {listing.sha256} differs from the manifest's {recorded} ({changed})")
    return source, listing.by_name()


def _file_problems(segment_end: dict[str, int], entries: dict, prefix: str, metadata_file: str,
                   recorded_sha256: dict[str, str]) -> list[str]:
    """Each waveform file against its metadata line, the segments drawn from it and its recorded
    sha256 if the manifest has one."""
    problems: list[str] = []
    for path, end in sorted(segment_end.items()):
        entry = entries[path[len(prefix):]]
        digest = hashlib.sha256() if path in recorded_sha256 else None
        try:
            size = os.path.getsize(path)
            samples = count_samples(path, digest.update if digest is not None else None)
        except FileNotFoundError:
            problems.append(f"{path}: waveform file not found (relative to {os.getcwd()})")
            continue
        except OSError as exc:
            problems.append(f"{path}: cannot read waveform file: {exc.strerror}")
            continue
        if entry.nbytes is not None and size != entry.nbytes:
            problems.append(f"{path}: {size} bytes, {metadata_file}:{entry.line} lists {entry.nbytes}")
        if samples != entry.count:
            problems.append(f"{path}: {samples} samples, {metadata_file}:{entry.line} lists {entry.count}")
        if samples < end:
            problems.append(f"{path}: {samples} samples, too short for segments ending at sample {end}")
        if digest is not None and digest.hexdigest() != recorded_sha256[path]:
            problems.append(f"{path}: sha256 {digest.hexdigest()} differs from the manifest's {recorded_sha256[path]} "
                            "(the waveform file changed after its hash was recorded)")

    return problems


def verify_index(index_path: str | os.PathLike, manifest_path: str | os.PathLike | None = None,
                 metadata_path: str | None = None, bank_path: str | None = None) -> tuple[list[str], str]:
    """Every mismatch found, one line each, and a summary of what was checked. A set drawn from an
    HDF5 bank is checked against the bank's trace table (its values are ``bank verify``'s to check)."""
    index_path = os.fspath(index_path)
    manifest_path = manifest_path or manifest_path_for(index_path)
    manifest = read_manifest(manifest_path)
    check_fields(manifest, manifest_path, SELECTION_MANIFEST_FIELDS)
    problems: list[str] = []

    line_problems: list[tuple[int, str]] = []
    index = read_index(index_path, problems=line_problems)
    problems += [f"{index_path}:{line}: {message}" for line, message in line_problems]
    if index.sha256 != manifest.get("index_sha256"):
        problems.append(f"{index_path}: sha256 {index.sha256} differs from the manifest's "
                        f"{manifest.get('index_sha256')} (the index changed after it was made)")
    expected = manifest.get("number_of_segments")
    total_lines = len(index) + len(line_problems)
    if total_lines != expected:
        problems.append(f"{index_path}: {total_lines} lines, the manifest says {expected}")

    metadata_file, entries = _listing(manifest, manifest_path, metadata_path, bank_path, problems)
    from_bank = "bank" in manifest
    length = manifest["segment_length"]
    try:
        low, high = (float(level) for level in manifest["clip_level_range"])
    except (TypeError, ValueError):
        raise SeisclipError(f"manifest's 'clip_level_range' {manifest['clip_level_range']} is not two numbers",
                            manifest_path) from None
    folder = manifest["ASCII_file_dir"].rstrip("/") or "/"
    prefix = folder + "/" if folder != "/" else "/"

    segment_end: dict[str, int] = defaultdict(int)
    for line, start, level, path in zip(index.line_numbers.tolist(), index.istart.tolist(),
                                        index.clip_fraction.tolist(), index.paths):
        where = f"{index_path}:{line}"
        if not low - 5e-4 <= level <= high + 5e-4:
            problems.append(f"{where}: clip level {level} outside the manifest's range [{low}, {high}]")
        if not path.startswith(prefix):
            problems.append(f"{where}: {path} is not in ASCII_file_dir {folder}")
            continue
        entry = entries.get(path[len(prefix):])
        if entry is None:
            problems.append(f"{where}: {path} is not listed in {metadata_file}")
            continue
        if start + length > entry.count:
            problems.append(f"{where}: segment [{start}, {start + length}) runs past the {entry.count} samples "
                            f"{metadata_file} lists for {entry.name}")
        segment_end[path] = max(segment_end[path], start + length)

    if not from_bank:
        if "waveform_sha256" in manifest:
            check_fields(manifest, manifest_path, WAVEFORM_HASH_FIELDS)
        recorded_sha256 = manifest.get("waveform_sha256", {})
        problems += _file_problems(segment_end, entries, prefix, metadata_file, recorded_sha256)
    hashes = ", each file also against its recorded sha256" if "waveform_sha256" in manifest else ""
    summary = (f"{len(index)} segments of {length} samples from {len(segment_end)} files checked against "
               f"{Path(manifest_path)}, {metadata_file} and the bank{hashes}" if not from_bank else
               f"{len(index)} segments of {length} samples from {len(segment_end)} traces checked against "
               f"{Path(manifest_path)} and the trace table of the bank {metadata_file}")
    return problems, summary


def run_verify(index_path: str, manifest_path: str | None = None, metadata_path: str | None = None,
               bank_path: str | None = None) -> int:
    return report("verify", *verify_index(index_path, manifest_path, metadata_path, bank_path))

