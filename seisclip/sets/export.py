"""``seisclip export INDEX --bank BANK --out SET.h5``: a training set materialised as plain HDF5.

One row per usable segment of the index file, in index order, with exactly what training
would feed the network (:class:`seisclip.sets.pairs.SegmentPairs`) and the split training would
use (:func:`seisclip.sets.split.split_positions` with the training seed), so any framework can
train on it without this package. Rows are computed and written a block at a time, so a set of
any size exports in bounded memory. The layout is documented in the README.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from ..bank.hdf5 import BankSource, write_attributes
from ..errors import SeisclipError
from ..fsio import atomic_file, output_lock, refuse_existing
from ..provenance import check_fields, manifest_path_for, read_manifest, run_record
from .index_file import read_index
from .labels import DEFAULT_MIN_PEAK
from .pairs import Representation, SegmentPairs, in_batches
from .segments import check_segment_length, load_segments
from .split import SPLIT_FRACTIONS, SPLIT_NAMES, default_seed, model_name, read_selection_manifest, split_positions

FORMAT = "seisclip training set"
FORMAT_VERSION = 1
#: Rows computed and written at a time.
BLOCK_ROWS = 8192

#: dtype, whether a row holds one value per sample (shape (N, L)) or one value (shape (N,)), and meaning.
COLUMNS = {
    "clipped": ("<f4", True, "network input channel 0: the target clipped to the clip level"),
    "status": ("<i4", True, "network input channel 1: +1 above the clip level, -1 below minus it, 0 within "
                           "(with sbrl, times the length of its run)"),
    "target": ("<f4", True, "what the network should output: the unclipped segment divided by its scale "
                           "(peak normalisation: its peak |count|; clip: clip_fraction times that)"),
    "istart": ("<i8", False, "first sample of the segment in its trace (0-based)"),
    "rscale": ("<f8", False, "clip level as a fraction of the segment's peak |count|"),
    "trace_name": (h5py.string_dtype(), False, "the trace (waveform file name) the segment comes from"),
    "index_line": ("<i8", False, "line of the index file that drew the segment (1-based)"),
    "split": (h5py.string_dtype(), False, "train, validation or test"),
}


@dataclass(frozen=True)
class ExportRequest:
    index: str
    bank: str
    out: str
    segment_length: int | None = None     # default: the selection manifest's
    sbrl: bool = False
    normalisation: str = "peak"
    min_peak: float = DEFAULT_MIN_PEAK
    seed: int | None = None               # default: the training seed of `definition`'s model
    definition: str = "def001"
    strict: bool = False
    overwrite: bool = False
    progress: bool = True


def _segment_length(request: ExportRequest) -> int:
    if request.segment_length is not None:
        check_segment_length(request.segment_length)
        return request.segment_length
    manifest = manifest_path_for(request.index)
    if not manifest.exists():
        raise SeisclipError(f"no selection manifest {manifest} to take the segment length from; give --segment-length",
                            request.index)
    selection = read_manifest(manifest)
    check_fields(selection, manifest, {"segment_length": int})
    return selection["segment_length"]


def export_set(request: ExportRequest) -> str:
    """Write the exported set, holding its name's lock; a summary line."""
    with output_lock(request.out, "exported set"):
        return _export_locked(request)


def _split_seed(request: ExportRequest) -> tuple[int, str]:
    """The seed of the split and where it came from."""
    if request.seed is not None:
        return request.seed, "given"
    name = model_name(Path(request.index).stem, request.definition, request.sbrl)
    return default_seed(name), f"derived from the model name {name!r}, as training would"


def _write_pairs(out: h5py.File, pairs: SegmentPairs, used: int, progress: bool) -> None:
    """The per-sample columns, a block of rows at a time."""
    for block in tqdm(in_batches(np.arange(used), BLOCK_ROWS), total=-(-used // BLOCK_ROWS), desc="writing set",
                      unit="block", disable=not progress, leave=False):
        batch = pairs.pairs(block)
        rows_of_block = slice(int(block[0]), int(block[-1]) + 1)
        out["clipped"][rows_of_block] = batch.clipped
        out["status"][rows_of_block] = batch.status
        out["target"][rows_of_block] = batch.targets


def _export_locked(request: ExportRequest) -> str:
    if not request.overwrite:
        refuse_existing(request.out, "exported set")
    index = read_index(request.index)
    length = _segment_length(request)
    selection, selection_sha256 = read_selection_manifest(Path(request.index), index.sha256, length)
    source = BankSource(request.bank)
    segments = load_segments(index, length, min_peak=request.min_peak, strict=request.strict,
                             progress=request.progress, source=source, keep_segments=False)
    used = len(segments.used)
    if not used:
        raise SeisclipError(f"no usable segment ({segments.summary()})", request.index)
    seed, seed_source = _split_seed(request)
    split = np.empty(used, dtype=object)
    for part, positions in split_positions(used, seed).items():
        split[positions] = part
    pairs = SegmentPairs.from_bank(segments, source, Representation(request.sbrl, request.normalisation))
    rows = {
        "istart": index.istart[segments.used],
        "rscale": pairs.clip_fraction,
        "trace_name": [source.bank.names[source.trace_number(index.paths[p])] for p in segments.used.tolist()],
        "index_line": index.line_numbers[segments.used],
        "split": split,
    }

    with atomic_file(request.out, overwrite=request.overwrite) as tmp, h5py.File(tmp, "w") as out:
        for column, (dtype, per_sample, description) in COLUMNS.items():
            dataset = out.create_dataset(column, shape=(used, length) if per_sample else (used,), dtype=dtype)
            dataset.attrs["description"] = description
            if column in rows:
                dataset[...] = rows[column]
        _write_pairs(out, pairs, used, request.progress)
        bank = source.bank.provenance()
        write_attributes(out, {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "segment_length": length,
            "sbrl": request.sbrl,
            "normalisation": request.normalisation,
            "min_peak": float(request.min_peak),
            "strict": request.strict,
            "seed": seed,
            "seed_source": seed_source,
            "split_method": "seisclip.sets.split.split_positions: numpy.random.default_rng(seed).permutation(N) of "
                            "the row numbers, cut in order into train, validation and test by split_fractions",
            "split_fractions": dict(zip(SPLIT_NAMES, SPLIT_FRACTIONS)),
            "segments_used": used,
            "index_lines": len(index),
            "skipped": dict(segments.skipped),
            "index_file": request.index,
            "index_file_resolved": os.path.realpath(request.index),
            "index_sha256": index.sha256,
            "selection_manifest": str(manifest_path_for(request.index)) if selection else None,
            "selection_manifest_sha256": selection_sha256,
            "selection_seed": selection.get("seed") if selection else None,
            **{f"bank_{key}": value for key, value in bank.items() if key != "kind"},
            "working_directory": os.getcwd(),
            **run_record("numpy", "h5py"),
        })
    return (f"{request.out}: {used} segments of {length} samples ({segments.summary()}), "
            f"split with seed {seed}, from bank {request.bank}")
