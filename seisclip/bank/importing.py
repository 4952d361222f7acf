"""``seisclip bank import``: seismic data files into a training bank.

Sources are miniSEED, SAC or anything else ObsPy reads (ObsPy is the optional dependency
``seisclip[io]``), and HDF5 files laid out like CREDIT-X1local (events → stations → one
dataset per component, its start time in the attribute ``btime``). Every contiguous run of
valid samples becomes one trace: gaps between ObsPy traces already split them, and masked or
NaN samples split a trace again and never enter the bank. Each run is then checked for
clipping on its raw samples (the ``import`` preset of :func:`~seisclip.bank.clipping.detect_clipping`:
flat runs at its extremes, and back-to-zero clipping),
optionally demeaned or detrended, and resampled to the bank's rate with an anti-alias filter.

Traces that are clipped, constant, too short or slower than the bank's rate are kept out and
listed, with why, in the import report (JSON, written beside the output). The output is an HDF5
bank (the layout of :mod:`seisclip.bank.hdf5`, with per-trace provenance columns) or the user's
ASCII format: one file per trace, one sample per line, and its metadata list in ``wc`` format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import scipy.signal
from tqdm import tqdm

from ..errors import SeisclipError
from ..fsio import atomic_directory, atomic_files, output_lock, refuse_existing, sha256_file
from ..provenance import dump_json, run_record
from .clipping import CLIP_EDGE_STEPS, detect_clipping, runs_of
from .hdf5 import TRACES, write_attributes
from .ingest import StagedTraces
from .readers import RawTrace, read_source, source_files
from .settings import ImportSettings
from .wc_list import format_wc_line

_CODE_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")

EXCLUDED_CLIPPED = "clipped"
EXCLUDED_BACK_TO_ZERO = "back-to-zero clipping (drops to the baseline at the rail)"
EXCLUDED_CONSTANT = "constant (dead channel)"
EXCLUDED_SHORT = "too short"
EXCLUDED_SLOW = "sampling rate below the bank's"
EXCLUDED_DUPLICATE = "duplicate of an imported trace"
EXCLUDED_NOT_NUMERIC = "samples are not numbers"
EXCLUDED_UNREADABLE = "not a waveform file (found in a folder)"


@dataclass
class ImportedTrace:
    name: str
    values: np.ndarray
    raw: RawTrace
    source: int                     # position in the report's sources
    first_source_sample: int        # of the raw trace, where this contiguous run starts
    starttime: dt.datetime
    processing: list[str]
    clipping: dict[str, Any]


@dataclass
class ImportReport:
    settings: ImportSettings
    sources: list[dict[str, Any]] = field(default_factory=list)
    traces: list[ImportedTrace] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    overlaps: list[dict[str, Any]] = field(default_factory=list)
    names_taken: set[str] = field(default_factory=set)

    def exclusions(self) -> Counter:
        return Counter(entry["reason"] for entry in self.excluded)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resampling_ratio(rate: float, target: float) -> Fraction | None:
    """``target / rate`` as a ratio of small integers (up, down), or None if it is not one."""
    ratio = Fraction(target / rate).limit_denominator(10_000)
    return ratio if math.isclose(float(ratio), target / rate, rel_tol=1e-9) else None



# --- from raw traces to bank traces ----------------------------------------------------------

def _code(text: str) -> str:
    """A SEED code as it may appear in a trace name: no dot, slash or white space."""
    return _CODE_CHARACTERS.sub("-", text)


def trace_name(raw: RawTrace, starttime: dt.datetime) -> str:
    """``NET.STA.LOC.CHA.YYYYMMDDThhmmss.ffffffZ``: unique per channel and start time."""
    codes = ".".join(_code(code) for code in (raw.network, raw.station, raw.location, raw.channel))
    return f"{codes}.{starttime:%Y%m%dT%H%M%S.%f}Z"


def valid_runs(values: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of samples that are neither masked nor NaN."""
    valid = ~np.ma.getmaskarray(values)
    data = np.ma.getdata(values)
    if data.dtype.kind == "f":
        valid &= np.isfinite(data)
    return runs_of(valid)


def process(values: np.ndarray, rate: float, settings: ImportSettings) -> tuple[np.ndarray, list[str]]:
    """Detrend, then resample to the bank's rate; the values and the steps taken, in words."""
    steps = []
    if settings.detrend != "none":
        values = scipy.signal.detrend(values.astype(np.float64), type="constant" if settings.detrend == "demean"
                                      else "linear")
        steps.append("demeaned" if settings.detrend == "demean" else "linear trend removed")
    if not math.isclose(rate, settings.sampling_rate, rel_tol=1e-9):
        ratio = resampling_ratio(rate, settings.sampling_rate)
        # resample_poly's FIR filter (Kaiser window) is the anti-alias filter, applied with zero
        # phase, so the first sample keeps its time.
        values = scipy.signal.resample_poly(values.astype(np.float64), ratio.numerator, ratio.denominator)
        steps.append(f"resampled {rate:g} -> {settings.sampling_rate:g} Hz (scipy.signal.resample_poly, "
                     f"up {ratio.numerator}, down {ratio.denominator})")
    return values, steps


def import_raw_trace(raw: RawTrace, source: int, report: ImportReport, names: dict[tuple[str, str], str]) -> None:
    """Split one raw trace into contiguous runs and import each, or record why it is left out."""
    settings = report.settings
    if np.ma.getdata(raw.values).dtype.kind not in "iuf":   # e.g. a miniSEED log channel of text
        report.excluded.append({"source": source, "item": raw.item, "id": raw.seed_id, "starttime": _iso(raw.starttime),
                                "reason": EXCLUDED_NOT_NUMERIC})
        return
    for start, stop in valid_runs(raw.values):
        values = np.ma.getdata(raw.values)[start:stop]
        starttime = raw.starttime + dt.timedelta(seconds=start / raw.sampling_rate)
        where = {"source": source, "item": raw.item, "id": raw.seed_id, "starttime": _iso(starttime),
                 "first_source_sample": start, "source_samples": stop - start, "sampling_rate": raw.sampling_rate}
        found = detect_clipping(values, "import", min_run=settings.clip_run)
        clipping = found.evidence()
        reason = None
        if found.constant:
            reason = EXCLUDED_CONSTANT
        elif found.back_to_zero and not settings.keep_clipped:
            reason = EXCLUDED_BACK_TO_ZERO
        elif found.clipped and not settings.keep_clipped:
            reason = EXCLUDED_CLIPPED
        elif raw.sampling_rate < settings.sampling_rate * (1 - 1e-9):
            reason = EXCLUDED_SLOW
        elif resampling_ratio(raw.sampling_rate, settings.sampling_rate) is None:
            reason = f"no rational resampling ratio from {raw.sampling_rate:g} Hz"
        if reason is None:
            values, steps = process(values, raw.sampling_rate, settings)
            if values.size < settings.min_samples:
                reason = EXCLUDED_SHORT
        if reason is not None:
            report.excluded.append({**where, "reason": reason, "clipping": clipping})
            continue
        name = trace_name(raw, starttime)
        digest = hashlib.sha256(np.ascontiguousarray(values, dtype="<f8").tobytes()).hexdigest()
        if (name, digest) in names:   # the same samples of the same channel from the same time
            report.excluded.append({**where, "reason": EXCLUDED_DUPLICATE, "duplicate_of": names[name, digest]})
            continue
        # Other samples under the same channel and start time (another version of the data) get a suffix.
        if name in report.names_taken:
            name = next(f"{name}_{n}" for n in range(2, len(report.names_taken) + 3)
                        if f"{name}_{n}" not in report.names_taken)
        names[trace_name(raw, starttime), digest] = name
        report.names_taken.add(name)
        report.traces.append(ImportedTrace(name=name, values=values, raw=raw, source=source,
                                           first_source_sample=start, starttime=starttime, processing=steps,
                                           clipping=clipping))


def find_overlaps(traces: list[ImportedTrace], rate: float) -> list[dict[str, Any]]:
    """Imported traces of one channel whose times overlap (the same data from two files, say): they
    stay in the bank, but are listed, since segments from both would repeat a signal."""
    overlaps = []
    by_channel = sorted(traces, key=lambda trace: (trace.raw.seed_id, trace.starttime))
    for earlier, later in zip(by_channel, by_channel[1:]):
        if earlier.raw.seed_id != later.raw.seed_id:
            continue
        end = earlier.starttime + dt.timedelta(seconds=earlier.values.size / rate)
        if later.starttime < end:
            overlaps.append({"trace": later.name, "overlaps": earlier.name,
                             "seconds": round((end - later.starttime).total_seconds(), 6)})
    return overlaps


def read_all(sources: list[str], settings: ImportSettings, progress: bool) -> ImportReport:
    """Every trace of every source, imported or left out, with the report of why."""
    report = ImportReport(settings=settings)
    names: dict[tuple[str, str], str] = {}   # (name, sha256 of the values) -> name given: spots data read twice
    files = list(source_files(sources))
    if not files:
        raise SeisclipError(f"no file to import in {', '.join(sources)}")
    for path, in_folder in tqdm(files, desc="reading sources", unit="file", disable=not progress, leave=False):
        reader_warnings: list[str] = []
        try:
            raw_traces = read_source(path, settings, reader_warnings)
        except SeisclipError as exc:
            if not in_folder or settings.strict or "not a waveform file" not in str(exc):
                raise
            report.sources.append({"path": path, "format": None, "skipped": EXCLUDED_UNREADABLE})
            report.excluded.append({"source": len(report.sources) - 1, "reason": EXCLUDED_UNREADABLE})
            continue
        source = len(report.sources)
        before = (len(report.traces), len(report.excluded))
        for raw in raw_traces:
            import_raw_trace(raw, source, report, names)
        report.sources.append({
            "path": path, "path_resolved": os.path.realpath(path), "sha256": sha256_file(path),
            "bytes": os.path.getsize(path), "format": sorted({raw.source_format for raw in raw_traces}),
            "traces_read": len(raw_traces), "imported": len(report.traces) - before[0],
            "excluded": len(report.excluded) - before[1], "reader_warnings": reader_warnings})
    report.overlaps = find_overlaps(report.traces, settings.sampling_rate)
    if not report.traces:
        reasons = ", ".join(f"{count} {reason}" for reason, count in report.exclusions().most_common())
        raise SeisclipError(f"no trace left to import ({reasons or 'the sources hold no trace'})")
    return report


# --- writing the bank and the report ---------------------------------------------------------

def _trace_record(trace: ImportedTrace) -> dict[str, Any]:
    raw = trace.raw
    return {"name": trace.name, "count": int(trace.values.size), "source": trace.source, "item": raw.item,
            "id": raw.seed_id, "starttime": _iso(trace.starttime), "first_source_sample": trace.first_source_sample,
            "original_sampling_rate": raw.sampling_rate, "rate_source": raw.rate_source,
            "processing": trace.processing, "clipping": trace.clipping}


def report_json(report: ImportReport, output: dict[str, Any]) -> bytes:
    settings = report.settings
    return dump_json({
        "kind": "seisclip import report",
        "format_version": 1,
        "output": output,
        "settings": {"sampling_rate_hz": settings.sampling_rate, "detrend": settings.detrend,
                     "min_samples": settings.min_samples, "clip_run": settings.clip_run,
                     "clip_edge_steps": CLIP_EDGE_STEPS, "keep_clipped": settings.keep_clipped,
                     "hdf5_rate_hz": settings.hdf5_rate, "strict": settings.strict},
        "summary": {"sources": len(report.sources), "imported_traces": len(report.traces),
                    "imported_samples": int(sum(trace.values.size for trace in report.traces)),
                    "excluded": dict(report.exclusions()), "overlapping_traces": len(report.overlaps)},
        "sources": report.sources,
        "traces": [_trace_record(trace) for trace in report.traces],
        "excluded": report.excluded,
        "overlaps": report.overlaps,
        "working_directory": os.getcwd(),
        **run_record("numpy", "scipy", "h5py", "obspy"),
    })


def _write_provenance_columns(table: h5py.Group, report: ImportReport) -> None:
    """``/traces`` columns of imported traces, one row per trace in ``/samples`` order."""
    text = h5py.string_dtype()
    traces, sources = report.traces, report.sources
    columns = {
        "name": [trace.name for trace in traces],
        "seed_id": [trace.raw.seed_id for trace in traces],
        "network": [trace.raw.network for trace in traces],
        "station": [trace.raw.station for trace in traces],
        "location": [trace.raw.location for trace in traces],
        "channel": [trace.raw.channel for trace in traces],
        "starttime": [_iso(trace.starttime) for trace in traces],
        "source_path": [sources[trace.source]["path"] for trace in traces],
        "source_format": [trace.raw.source_format for trace in traces],
        "source_item": [trace.raw.item for trace in traces],
        "processing": ["; ".join(trace.processing) for trace in traces],
    }
    for column, values in columns.items():
        table.create_dataset(column, data=values, dtype=text)
    table.create_dataset("source_bytes", data=np.array([sources[t.source]["bytes"] for t in traces], dtype=np.int64))
    table.create_dataset("source_sha256", data=np.array([sources[t.source]["sha256"] for t in traces], dtype="S64"))
    table.create_dataset("first_source_sample", data=np.array([t.first_source_sample for t in traces], dtype=np.int64))
    table.create_dataset("original_sampling_rate", data=np.array([t.raw.sampling_rate for t in traces]))
    table.create_dataset("clipped", data=np.array([t.clipping["clipped"] for t in traces]))
    table.create_dataset("clipped_samples", data=np.array([t.clipping["clipped_samples"] for t in traces],
                                                          dtype=np.int64))


def _ascii_text(values: np.ndarray) -> bytes:
    """One value per line: integers as integers, anything else with 10 significant digits."""
    if np.all(values == np.rint(values)) and np.abs(values).max(initial=0) < 2**53:
        return "".join(f"{value}\n" for value in values.astype(np.int64).tolist()).encode()
    return "".join(f"{value:.10g}\n" for value in values.tolist()).encode()


def warn_of_clipped(report: ImportReport, report_file: Path, shown: int = 10) -> None:
    """One warning line per clipped trace found (the first ``shown``), naming its source."""
    clipped = [entry for entry in report.excluded if entry["reason"] in (EXCLUDED_CLIPPED, EXCLUDED_BACK_TO_ZERO)]
    kept = [trace for trace in report.traces if trace.clipping["clipped"]]
    verdict = "imported, flagged" if kept else "left out"
    for entry in clipped[:shown] or [_trace_record(trace) for trace in kept[:shown]]:
        evidence = entry["clipping"]
        if evidence["back_to_zero_runs"]:
            found = (f"back-to-zero clipping, {evidence['back_to_zero_runs']} runs of "
                     f"{evidence['back_to_zero_samples']} samples dropped to the baseline at the rail")
        else:
            found = f"{evidence['clipped_runs']} flat runs, {evidence['clipped_samples']} samples at its extremes"
        print(f"warning: clipped, {verdict}: {entry['id']} from {entry['starttime']} "
              f"({report.sources[entry['source']]['path']}, {entry['item']}): {found}", file=sys.stderr)
    more = max(len(clipped), len(kept)) - shown
    if more > 0:
        print(f"warning: {more} more clipped traces are listed in {report_file}", file=sys.stderr)


def report_path_for(output: str | os.PathLike) -> Path:
    """The import report beside the bank or metadata file: ``bank.h5`` → ``bank.import.json``."""
    output = Path(output)
    return output.with_name(f"{output.stem}.import.json")


def _summary_line(report: ImportReport, written: str) -> str:
    excluded = report.exclusions()
    left_out = "; ".join(f"{count} {reason}" for reason, count in excluded.most_common())
    return (f"{written}: {len(report.traces)} traces, "
            f"{sum(trace.values.size for trace in report.traces):,} samples at {report.settings.sampling_rate:g} Hz "
            f"from {len(report.sources)} files" + (f"; left out: {left_out}" if left_out else "")
            + (f"; {len(report.overlaps)} overlap an earlier trace of their channel" if report.overlaps else ""))


def import_to_bank(sources: list[str], out: str, settings: ImportSettings, report_file: str | None = None,
                   overwrite: bool = False, progress: bool = True) -> str:
    """Import into the HDF5 bank ``out``; its report goes to ``report_file`` (default beside it)."""
    settings.check()
    report_file = Path(report_file) if report_file else report_path_for(out)
    for folder in {Path(out).parent, report_file.parent}:
        if not folder.is_dir():
            raise SeisclipError("output folder does not exist", folder)
    with output_lock(out, "bank"):
        if not overwrite:
            refuse_existing(out, "bank")
            refuse_existing(report_file, "import report")
        report = read_all(sources, settings, progress)
        with StagedTraces(out) as staged:
            for trace in report.traces:
                staged.add(trace.values)
            with atomic_files([out, report_file], overwrite=overwrite) as (bank_temporary, report_temporary):
                bank, layout = staged.write_bank(bank_temporary, progress)
                with bank:
                    _write_provenance_columns(bank[TRACES], report)
                    write_attributes(bank, {
                        **layout,
                        "origin": "seisclip bank import",
                        "sampling_rate_hz": float(settings.sampling_rate),
                        "import_report": str(report_file),
                        "sources": len(report.sources),
                        "working_directory": os.getcwd(),
                        **run_record("numpy", "scipy", "h5py", "obspy"),
                    })
                report_temporary.write_bytes(report_json(report, {"kind": "hdf5", "bank": out,
                                                                  "sample_dtype": layout["sample_dtype"]}))
    warn_of_clipped(report, report_file)
    return _summary_line(report, out) + f" (report: {report_file})"


def import_to_ascii(sources: list[str], ascii_dir: str, metadata_file: str, settings: ImportSettings,
                    report_file: str | None = None, overwrite: bool = False, progress: bool = True) -> str:
    """Import into the user's format: the folder ``ascii_dir`` of one-value-per-line files and
    their metadata list ``metadata_file`` in ``wc`` format; the report beside the metadata."""
    settings.check()
    report_file = Path(report_file) if report_file else report_path_for(metadata_file)
    for folder in {Path(ascii_dir).parent, Path(metadata_file).parent, report_file.parent}:
        if not folder.is_dir():
            raise SeisclipError("output folder does not exist", folder)
    with output_lock(ascii_dir, "waveform folder"), output_lock(metadata_file, "metadata file"):
        if not overwrite:
            for path, what in ((ascii_dir, "waveform folder"), (metadata_file, "metadata file"),
                               (report_file, "import report")):
                refuse_existing(path, what)
        report = read_all(sources, settings, progress)
        lines = []
        # The folder takes its name first: metadata listing files not yet in place would be worse
        # than a folder no metadata lists yet.
        with atomic_directory(ascii_dir, overwrite=overwrite) as building:
            for trace in tqdm(report.traces, desc="writing waveforms", unit="trace", disable=not progress,
                              leave=False):
                text = _ascii_text(trace.values)
                (building / trace.name).write_bytes(text)
                lines.append(format_wc_line(trace.values.size, trace.values.size, len(text), trace.name))
        with atomic_files([metadata_file, report_file], overwrite=overwrite) as (metadata_temporary, report_temporary):
            metadata_temporary.write_text("".join(lines))
            report_temporary.write_bytes(report_json(report, {"kind": "ascii", "ASCII_file_dir": ascii_dir,
                                                              "metadata_file": metadata_file}))
    warn_of_clipped(report, report_file)
    return _summary_line(report, f"{ascii_dir} + {metadata_file}") + f" (report: {report_file})"

