"""Seeded selection of training segments: which file, which start, which clip level.

For each segment a file is drawn uniformly among the eligible files (at least L samples), a
start uniformly in ``[0, count - L]`` and a clip level uniformly in the clip-level range,
rounded to 3 decimals. All draws come from one ``numpy.random.Generator(PCG64)`` seeded
explicitly, so the same metadata, arguments and seed give a byte-identical index file.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..bank.hdf5 import Bank
from ..bank.wc_list import BankEntry, Metadata, read_metadata
from ..errors import SeisclipError
from ..fsio import (
    atomic_files,
    fsync_directory,
    output_lock,
    refuse_existing,
    remove_stale_temporaries,
    sha256_bytes,
    sha256_file,
    stale_temporaries,
)
from ..provenance import dump_json, manifest_path_for, run_record
from .index_file import RSCALE_DECIMALS, format_index

DEFAULT_CLIP_LEVEL_RANGE = (0.1, 1.0)
#: More segments than this would need tens of GB to write out; split such a set instead.
MAX_SEGMENTS = 20_000_000
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class SelectionRequest:
    segment_length: int
    number_of_segments: int
    ascii_dir: str
    metadata_file: str
    output_file: str
    seed: int | None = None
    clip_level_range: tuple[float, float] = DEFAULT_CLIP_LEVEL_RANGE
    overwrite: bool = False
    strict: bool = False
    bank: str | None = None    # draw from this HDF5 bank's traces instead of the metadata's files


def derive_seed(stem: str, bits: int = 63) -> int:
    """A stable seed from a name: the first ``bits`` bits of the SHA-256 of ``stem``."""
    return int.from_bytes(hashlib.sha256(stem.encode("utf-8")).digest()[:8], "big") >> (64 - bits)


def check_clip_level_range(low: float, high: float) -> None:
    if not (0.0 < low <= high <= 1.0):
        raise SeisclipError(f"clip-level range [{low}, {high}] must satisfy 0 < low <= high <= 1")


def draw_segments(
    counts: np.ndarray, segment_length: int, number_of_segments: int, seed: int,
    clip_level_range: tuple[float, float] = DEFAULT_CLIP_LEVEL_RANGE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """File numbers, starts and clip levels (in thousandths) of the drawn segments.

    ``counts`` are the sample counts of the eligible files, each at least ``segment_length``.
    """
    rng = np.random.default_rng(seed)
    file_index = rng.integers(0, len(counts), size=number_of_segments)
    istart = rng.integers(0, counts[file_index] - segment_length, endpoint=True)
    low, high = clip_level_range
    scale = 10**RSCALE_DECIMALS
    rscale_thousandths = np.rint(rng.uniform(low, high, size=number_of_segments) * scale).astype(np.int64)
    return file_index, istart, rscale_thousandths


def _validate(request: SelectionRequest) -> None:
    if request.segment_length <= 0:
        raise SeisclipError(f"number_of_consecutive_samples must be a positive integer, got {request.segment_length}")
    if request.number_of_segments <= 0:
        raise SeisclipError(f"number_of_training_segments must be a positive integer, got {request.number_of_segments}")
    if request.number_of_segments > MAX_SEGMENTS:
        raise SeisclipError(
            f"number_of_training_segments {request.number_of_segments} is over the limit of {MAX_SEGMENTS}; "
            "make several sets instead"
        )
    if request.seed is not None and not 0 <= request.seed <= MAX_SEED:
        raise SeisclipError(f"seed must be an integer in [0, 2**63 - 1], got {request.seed}")
    check_clip_level_range(*request.clip_level_range)
    # The folder is written into every index line, which white space would split.
    if not request.ascii_dir or not request.ascii_dir.isprintable() or " " in request.ascii_dir:
        raise SeisclipError(f"ASCII_file_dir {request.ascii_dir!r} must be a folder name without white space "
                            "or control characters: it is written into every index line")
    if Path(request.output_file).suffix == ".json":
        raise SeisclipError("output file must not end in .json: that name is kept for its manifest", request.output_file)


def complete_interrupted_commit(index_path: Path, manifest_path: Path) -> None:
    """Finish a run killed between naming the index file and naming its manifest.

    The index file takes its name first; such a run leaves the manifest, complete, under its
    temporary name. It is put in place if it describes the index file as it is now. Call this
    holding the index file's lock.
    """
    if not index_path.is_file():
        return
    index_sha256 = sha256_file(index_path)
    for temporary in stale_temporaries(manifest_path):
        try:
            manifest = json.loads(temporary.read_bytes())
        except (OSError, ValueError):
            continue
        if (isinstance(manifest, dict) and manifest.get("index_file") == index_path.name
                and manifest.get("index_sha256") == index_sha256):
            os.replace(temporary, manifest_path)
            fsync_directory(manifest_path.parent)
            print(f"note: {manifest_path} put in place: a run interrupted while naming its outputs "
                  f"had written it completely", file=sys.stderr)
            break


def select_segments(request: SelectionRequest) -> dict[str, Any]:
    """Draw the segments, write the index file and its manifest; return the manifest.

    Holds the index file's lock from the existence check to the last write; the index file and
    the manifest are both written before either takes its name."""
    _validate(request)
    output = Path(request.output_file)
    manifest_path = manifest_path_for(output)
    metadata, eligible, bank = _eligible_files(request)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(output, "index file"):
        complete_interrupted_commit(output, manifest_path)
        remove_stale_temporaries(manifest_path)
        if not request.overwrite:
            refuse_existing(output, "index file")
            refuse_existing(manifest_path, "manifest")
        return _draw_and_write(request, output, manifest_path, metadata, eligible, bank)


def bank_listing(path: str) -> tuple[Metadata, dict[str, Any]]:
    """An HDF5 bank's traces as metadata entries (line = row + 1 of its trace table), and its provenance."""
    with Bank(path) as bank:
        problems = bank.layout_problems()
        if problems:
            raise SeisclipError(f"bank is damaged ({problems[0]}); run 'seisclip bank verify'", path)
        entries = [BankEntry(name=name, count=int(count), nbytes=None, line=row + 1)
                   for row, (name, count) in enumerate(zip(bank.names, bank.counts.tolist()))]
        provenance = bank.provenance()
    return Metadata(path=path, sha256=provenance["sha256"], entries=entries), provenance


def _eligible_files(request: SelectionRequest) -> tuple[Metadata, list[BankEntry], dict[str, Any] | None]:
    """The traces to draw from (the metadata's files, or the bank's traces), those long enough for
    the segment length, and the bank's provenance if drawn from a bank. Bad metadata is an error
    here, before any output folder or file is made."""
    bank = None
    if request.bank is not None:
        metadata, bank = bank_listing(request.bank)
    else:
        metadata = read_metadata(request.metadata_file, strict=request.strict)
    if metadata.skipped_total:
        print(f"warning: {metadata.skipped_summary()}", file=sys.stderr)
    length = request.segment_length
    eligible = [entry for entry in metadata.entries if entry.count >= length]
    if not eligible:
        longest = max(entry.count for entry in metadata.entries)
        raise SeisclipError(
            f"no file has at least {length} samples (the longest has {longest}); "
            "choose a shorter number_of_consecutive_samples",
            metadata.path,
        )
    return metadata, eligible, bank


def _draw_and_write(request: SelectionRequest, output: Path, manifest_path: Path, metadata: Metadata,
                    eligible: list[BankEntry], bank: dict[str, Any] | None) -> dict[str, Any]:
    length = request.segment_length
    if bank is None and not os.path.isdir(request.ascii_dir):
        print(f"warning: ASCII_file_dir {request.ascii_dir} is not a folder here; "
              "the index is written all the same (run `seisclip verify` once the bank is in place)", file=sys.stderr)

    if request.seed is None:
        seed, seed_source = derive_seed(output.stem), f"derived from the output file stem {output.stem!r}"
    else:
        seed, seed_source = request.seed, "given"
    counts = np.array([entry.count for entry in eligible], dtype=np.int64)
    file_index, istart, rscale_thousandths = draw_segments(
        counts, length, request.number_of_segments, seed, request.clip_level_range)
    folder = request.ascii_dir.rstrip("/") or "/"
    file_paths = [f"{folder}/{entry.name}" if folder != "/" else f"/{entry.name}" for entry in eligible]
    text = format_index(istart, rscale_thousandths, file_index, file_paths)

    manifest = {
        "kind": "seisclip selection",
        "format_version": 1,
        "index_file": output.name,
        "index_sha256": sha256_bytes(text),
        "seed": seed,
        "seed_source": seed_source,
        "random_generator": f"numpy.random.Generator(PCG64), numpy {np.__version__}",
        "segment_length": length,
        "number_of_segments": request.number_of_segments,
        "clip_level_range": list(request.clip_level_range),
        "clip_level_decimals": RSCALE_DECIMALS,
        "ASCII_file_dir": request.ascii_dir,
        "ASCII_file_dir_resolved": os.path.realpath(request.ascii_dir),
        **({"metadata_file": request.metadata_file,
            "metadata_file_resolved": os.path.realpath(request.metadata_file),
            "metadata_sha256": metadata.sha256} if bank is None else {"bank": bank}),
        "metadata_entries": len(metadata.entries),
        "eligible_files": len(eligible),
        "too_short_files": len(metadata.entries) - len(eligible),
        "skipped_metadata_lines": dict(metadata.skipped),
        "files_used": int(np.unique(file_index).size),
        "working_directory": os.getcwd(),
        **run_record("numpy"),
    }
    with atomic_files([output, manifest_path], overwrite=request.overwrite) as (index_temporary, manifest_temporary):
        index_temporary.write_bytes(text)
        manifest_temporary.write_bytes(dump_json(manifest))
    print(
        f"selected {request.number_of_segments} segments of {length} samples from {len(eligible)} eligible files "
        f"({manifest['too_short_files']} too short) with seed {seed} -> {output} (+ {manifest_path.name})",
        file=sys.stderr,
    )
    return manifest
