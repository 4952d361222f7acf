"""``seisclip adopt INDEX``: the manifest of an index file the group's original selector made.

That selector wrote no manifest, and clip levels with two decimals. Adoption checks every line
against the metadata (or an HDF5 bank) and records what can still be known about the set: the
sha256 of the index file, of the metadata and of every waveform file it names (or the bank's
provenance). ``seisclip verify`` then catches any later change, also to a waveform file's values,
and training, ``trace`` and ``evaluate`` treat the set as a drawn one. Its seed is unknown: the
set can be checked, but not drawn again.
"""

from __future__ import annotations

import os
import posixpath
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from tqdm import tqdm

from ..bank.wc_list import BankEntry, Metadata, read_metadata
from ..errors import SeisclipError
from ..fsio import output_lock, sha256_file, write_file_atomic
from ..provenance import dump_json, manifest_path_for, run_record, utc_now
from .index_file import IndexFile, read_index
from .selection import DEFAULT_CLIP_LEVEL_RANGE, bank_listing, complete_interrupted_commit

#: How the original selector and the wrapper name a set: ``<SETID>_<SEGLEN>_<NUMSEG>.txt``.
_SET_FILE_NAME = re.compile(r"(?P<setid>.+)_(?P<segment_length>[1-9][0-9]*)_(?P<number_of_segments>[1-9][0-9]*)")
SEED_UNKNOWN = ("unknown: drawn by the group's original selector, which recorded no seed; "
                "the set can be verified but not drawn again")
#: The selector's default metadata file.
DEFAULT_METADATA_FILE = "outfiles_contents_reordered.txt"
#: Hashing shows a progress bar only if it lasts longer than this: a few files pass in silence.
PROGRESS_DELAY_S = 1.0


@dataclass(frozen=True)
class AdoptionRequest:
    index_file: str
    metadata_file: str = DEFAULT_METADATA_FILE
    ascii_dir: str | None = None        # the folder the index lines name (default: line 1's)
    bank: str | None = None             # check against this HDF5 bank's traces instead of the metadata's files
    segment_length: int | None = None   # default: SEGLEN of the file name
    progress: bool = True


@dataclass(frozen=True)
class SetFileName:
    """What the name ``<SETID>_<SEGLEN>_<NUMSEG>.txt`` says about a set."""

    segment_length: int
    number_of_segments: int


def parse_set_file_name(index_path: str | os.PathLike) -> SetFileName | None:
    match = _SET_FILE_NAME.fullmatch(Path(index_path).stem)
    if match is None:
        return None
    return SetFileName(int(match["segment_length"]), int(match["number_of_segments"]))


def _segment_length(request: AdoptionRequest, named: SetFileName | None) -> tuple[int, str]:
    """The segment length and where it came from."""
    given = request.segment_length
    if given is not None and given <= 0:
        raise SeisclipError(f"segment length must be a positive integer, got {given}")
    if named is None:
        if given is None:
            raise SeisclipError("the file name is not <SETID>_<SEGLEN>_<NUMSEG>.txt, so it does not say the "
                                "segment length: give --segment-length", request.index_file)
        return given, "given"
    if given is not None and given != named.segment_length:
        raise SeisclipError(f"--segment-length {given} differs from the {named.segment_length} samples the file "
                            "name says", request.index_file)
    return named.segment_length, "given" if given is not None else "from the index file's name"


def clip_level_decimals(levels: np.ndarray) -> int:
    """The fewest decimals that write every clip level exactly (2 for the original selector's).
    Levels are at least 0.1 here, where 17 decimals write any float exactly."""
    distinct = np.unique(levels).tolist()
    return next((decimals for decimals in range(17) if all(round(level, decimals) == level for level in distinct)),
                17)


def _folder(index: IndexFile, given: str | None) -> str:
    """The folder the index lines name, without a trailing slash ("/" for the root)."""
    if given is not None:
        return given.rstrip("/") or "/"
    first = index.paths[0]
    folder = posixpath.dirname(first)
    if not folder:
        raise SeisclipError(f"{first} names no folder: give --ascii-dir", index.path, int(index.line_numbers[0]))
    return folder.rstrip("/") or "/"


def _line_problems(index: IndexFile, folder: str, given_folder: bool, entries: dict[str, BankEntry],
                   listing: str, segment_length: int) -> Iterator[tuple[int, str]]:
    """``(line, problem)`` for each line that does not fit the listing, in file order."""
    prefix = folder + "/" if folder != "/" else "/"
    low, high = DEFAULT_CLIP_LEVEL_RANGE
    named_by = "--ascii-dir" if given_folder else f"line {int(index.line_numbers[0])}"
    for line, start, level, path in zip(index.line_numbers.tolist(), index.istart.tolist(),
                                        index.clip_fraction.tolist(), index.paths):
        if not path.startswith(prefix):
            yield line, (f"{path} is not in the folder {folder} that {named_by} names: all lines must name one "
                         "folder" + ("" if given_folder else " (give --ascii-dir if the names hold folders)"))
            continue
        entry = entries.get(path[len(prefix):])
        if entry is None:
            yield line, f"{path} is not listed in {listing}"
        elif start + segment_length > entry.count:
            yield line, (f"segment [{start}, {start + segment_length}) runs past the {entry.count} samples "
                         f"{listing} lists for {entry.name}")
        elif not low <= level <= high:
            yield line, f"clip level {level} is outside [{low}, {high}], the range the original selector drew from"


def _check_lines(index: IndexFile, parse_problems: list[tuple[int, str]], folder: str, given_folder: bool,
                 listing: Metadata, segment_length: int) -> None:
    """Fail naming the first bad line, whether it does not parse or does not fit the listing."""
    first_misfit = next(_line_problems(index, folder, given_folder, listing.by_name(), listing.path,
                                       segment_length), None)
    first = min((problem for problem in (*parse_problems[:1], first_misfit) if problem is not None), default=None)
    if first is not None:
        line, message = first
        raise SeisclipError(message, index.path, line)


def _waveform_sha256(paths: list[str], progress: bool) -> dict[str, str]:
    """The sha256 of each waveform file, each read once; a missing or unreadable one is an error."""
    hashes = {}
    for path in tqdm(paths, desc="hashing waveforms", unit="file", disable=not progress, leave=False,
                     delay=PROGRESS_DELAY_S):
        try:
            hashes[path] = sha256_file(path)
        except FileNotFoundError:
            raise SeisclipError(f"waveform file not found (relative to {os.getcwd()})", path) from None
        except OSError as exc:
            raise SeisclipError(f"cannot read waveform file: {exc.strerror}", path) from None
    return hashes


def _listing(request: AdoptionRequest) -> tuple[Metadata, dict[str, Any]]:
    """The traces the lines are checked against, and the manifest fields naming where they came from."""
    if request.bank is not None:
        listing, bank = bank_listing(request.bank)
        return listing, {"bank": bank}
    listing = read_metadata(request.metadata_file)
    if listing.skipped_total:
        print(f"warning: {listing.skipped_summary()}", file=sys.stderr)
    return listing, {"metadata_file": request.metadata_file,
                     "metadata_file_resolved": os.path.realpath(request.metadata_file),
                     "metadata_sha256": listing.sha256}


def adopt_index(request: AdoptionRequest) -> dict[str, Any]:
    """Check an index file made without a manifest and write its manifest; return the manifest.

    Holds the index file's lock throughout, so that no selection replaces the index file while
    its manifest is made; an existing manifest is never replaced."""
    index_path = Path(request.index_file)
    manifest_path = manifest_path_for(index_path)
    named = parse_set_file_name(index_path)
    segment_length, length_source = _segment_length(request, named)
    with output_lock(index_path, "index file"):
        complete_interrupted_commit(index_path, manifest_path)
        if os.path.lexists(manifest_path):
            raise SeisclipError("manifest already exists: the set has one, and adopt never replaces it", manifest_path)
        parse_problems: list[tuple[int, str]] = []
        index = read_index(index_path, problems=parse_problems)
        if not len(index):
            line, message = parse_problems[0] if parse_problems else (None, "index file has no segments")
            raise SeisclipError(message, index_path, line)
        folder = _folder(index, request.ascii_dir)
        listing, source = _listing(request)
        _check_lines(index, parse_problems, folder, request.ascii_dir is not None, listing, segment_length)
        if named is not None and named.number_of_segments != len(index):
            raise SeisclipError(f"index file has {len(index)} lines, its name says {named.number_of_segments}: "
                                "an interrupted selection?", index_path)

        files = sorted(set(index.paths))
        # A bank's own sha256 covers its traces; ASCII files are each hashed.
        file_hashes = {} if request.bank is not None else {"waveform_sha256": _waveform_sha256(files, request.progress)}
        eligible = sum(entry.count >= segment_length for entry in listing.entries)
        decimals = clip_level_decimals(index.clip_fraction)
        manifest = {
            "kind": "seisclip selection",
            "format_version": 1,
            "adopted": True,
            "adopted_utc": utc_now(),
            "index_file": index_path.name,
            "index_sha256": index.sha256,
            "seed": None,
            "seed_source": SEED_UNKNOWN,
            "segment_length": segment_length,
            "segment_length_source": length_source,
            "number_of_segments": len(index),
            "clip_level_range": list(DEFAULT_CLIP_LEVEL_RANGE),
            "clip_level_decimals": decimals,
            "ASCII_file_dir": folder,
            "ASCII_file_dir_resolved": os.path.realpath(folder),
            **source,
            "metadata_entries": len(listing.entries),
            "eligible_files": eligible,
            "too_short_files": len(listing.entries) - eligible,
            "skipped_metadata_lines": dict(listing.skipped),
            "files_used": len(files),
            **file_hashes,
            "working_directory": os.getcwd(),
            **run_record("numpy"),
        }
        write_file_atomic(manifest_path, dump_json(manifest))
    print(f"adopted {len(index)} segments of {segment_length} samples from {len(files)} "
          f"{'traces' if request.bank is not None else 'files'} (clip levels with {decimals} decimals, seed unknown) "
          f"-> {manifest_path}; check the set with `seisclip verify {index_path}`", file=sys.stderr)
    return manifest
