"""A seismic file (miniSEED, SAC, any format ObsPy reads) restored trace by trace and written back
in its own format with its status file, its band's files where the method gives a band, and its
amplitude table: ``seisclip restore FILE`` for one file, and the path the archive (:mod:`.archive`)
takes for each of its seismic records: the traces read as clipped records
(:func:`read_clipped_traces`) and their restorations encoded (:func:`seismic_contents`)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np

from ..fsio import refuse_existing
from ..restore.amplitudes import format_amplitudes
from ..restore.naming import amplitudes_name, band_names, check_output_suffix, restored_name, status_name
from ..restore.output import plot_traces, write_files_and_figure
from ..restore.records import ClippedRecord, clipped_values
from ..restore.registry import RECOMMENDED, build_method
from ..restore.seismic import SeismicTrace, encode_band, encode_restored, read_seismic
from .signals import PlannedSignal, RestoredSignal, Signal, plan, processing_note, restore_planned
from .single import model_for, restorer_of, summary_line, warn_if_resting

#: One seismic read at a time: ObsPy's readers are tried in turn with their warnings caught, and
#: catching warnings is not thread-safe (the archive reads its records in threads).
_SEISMIC_READS = threading.Lock()


def read_clipped_traces(path: str, clip_counts: float | None,
                        tolerance: float) -> tuple[str, list[SeismicTrace], list[ClippedRecord]]:
    """The format ``path``'s restoration is written in, its traces and each trace's clipped samples
    at its own rate (found as in a plain ASCII record)."""
    with _SEISMIC_READS:
        file_format, traces = read_seismic(path)
    return file_format, traces, [clipped_values(trace.values, f"{path}#{trace.seed_id}", clip_counts, tolerance)
                                 for trace in traces]


def planned_traces(path: str, traces: list[SeismicTrace], records: list[ClippedRecord], model_rate_hz: float | None,
                   output_rate: str) -> list[PlannedSignal]:
    """Each trace planned for restoration (:func:`.signals.plan`): a rate the model does not serve
    is refused here, before anything is restored."""
    return [plan(Signal(record, trace.sampling_rate, f"trace {trace.seed_id}", path), model_rate_hz, output_rate)
            for trace, record in zip(traces, records)]


def seismic_contents(output: Path, file_format: str, traces: list[SeismicTrace], restored: list[RestoredSignal],
                     method: str, model_dir: str | None, model_sha256: str | None) -> dict[Path, bytes]:
    """A seismic file's outputs by path, the restored file at ``output`` first: its status file,
    its band's lower and upper files (where a trace's restoration gives a band) and its amplitude
    table. Each trace is written at its output rate (its own, or the model's with
    ``--output-rate model``), marked as restored (:func:`seisclip.restore.seismic.encode_restored`),
    with the note of what restored it."""
    note = processing_note(method, Path(model_dir).name if model_dir else None, model_sha256)
    written = [trace if one.rates.output_hz == one.rates.record_hz else trace.with_samples(one.output.values,
                                                                                            one.rates.output_hz)
               for trace, one in zip(traces, restored)]
    data, status = encode_restored(file_format, written, [one.restoration.restored for one in restored],
                                   [one.output.status for one in restored], note)
    contents = {output: data, status_name(output): status}
    band = encode_band(file_format, written, [bounds_of(one) for one in restored], note)
    if band is not None:
        contents.update(zip(band_names(output), band))
    contents[amplitudes_name(output)] = format_amplitudes(
        [(trace.seed_id, one.amplitudes(trace.stats.starttime.datetime)) for trace, one in zip(traces, restored)])
    return contents


def bounds_of(restored: RestoredSignal) -> tuple[np.ndarray, np.ndarray] | None:
    """A restored signal's band, ``(lower, upper)``, or None for a method without one."""
    restoration = restored.restoration
    return None if restoration.lower is None or restoration.upper is None else (restoration.lower, restoration.upper)


def companion_names(output: str | Path) -> list[Path]:
    """Every file a seismic output may have beside it: its status file, its band's two files and
    its amplitude table."""
    return [status_name(output), *band_names(output), amplitudes_name(output)]


def restore_seismic_file(record_path: str, method: str = RECOMMENDED, model_dir: str | None = None,
                         output: str | None = None, plot: str | None = None, stride: int | None = None,
                         combine: str = "median", clip_counts: float | None = None, tolerance: float = 0.0,
                         batch_size: int = 256, overwrite: bool = False, trust_definition: bool = False,
                         window: int | None = None, self_check: bool = False, output_rate: str = "record",
                         window_length: int | None = None) -> list[RestoredSignal]:
    """Restore every trace of a seismic file; write the restored file and its status file in the
    file's format (default ``NAME.restored.mseed`` and ``NAME.restored.status.mseed`` here, for
    NAME.mseed) and one figure of every trace; print a summary line. Returns each trace restored."""
    model = model_for(method, model_dir)
    file_format, traces, records = read_clipped_traces(record_path, clip_counts, tolerance)
    planned = planned_traces(record_path, traces, records, model.sampling_rate if model else None, output_rate)
    output = output or restored_name(os.path.basename(record_path), file_format)
    check_output_suffix(output, file_format)
    plot = plot or f"{os.path.splitext(output)[0]}.png"
    companions = companion_names(output)
    if not overwrite:
        refuse_existing(output, "restored record")
        for path, what in zip(companions, ("status file", "lower bound file", "upper bound file", "amplitude table")):
            refuse_existing(path, what)
        refuse_existing(plot, "plot")
    restorer = restorer_of(model, model_dir, trust_definition, batch_size, window, self_check, window_length)
    for record in records:
        warn_if_resting(record, restorer)
    restored = restore_planned(planned, build_method(method, restorer, stride, combine))

    name = restorer.name if restorer else method
    contents = seismic_contents(Path(output), file_format, traces, restored, method, model_dir,
                                model.sha256() if model else None)
    outputs = [one.output for one in restored]
    restorations = [one.restoration for one in restored]
    figure = plot_traces(outputs, restorations, [trace.seed_id for trace in traces],
                         f"{os.path.basename(record_path)} restored by {name}")
    write_files_and_figure(contents, figure, plot, overwrite)
    # With --overwrite, a band an earlier restoration wrote beside this output is not this one's.
    for stale in companions:
        if stale not in contents and stale.exists():
            stale.unlink()
    print(summary_line(outputs, restorations, name, [*map(str, contents), plot]), file=sys.stderr)
    return restored
