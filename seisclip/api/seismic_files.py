"""A seismic file (miniSEED, SAC, any format ObsPy reads) restored trace by trace and written back
in its own format with its status file: ``seisclip restore FILE`` for one file, and the path the
archive (:mod:`.archive`) takes for each of its seismic records: the traces read as clipped
records (:func:`read_clipped_traces`) and their restorations encoded (:func:`encoded_restoration`)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np

from .. import __version__
from ..fsio import refuse_existing
from ..restore.methods import Restoration
from ..restore.naming import check_output_suffix, restored_name, status_name
from ..restore.output import plot_traces, write_files_and_figure
from ..restore.records import ClippedRecord, clipped_values
from ..restore.registry import RECOMMENDED, build_method
from ..restore.seismic import SeismicTrace, check_rate, encode_restored, read_seismic, resampled
from .single import model_for, restorer_of, summary_line, warn_if_resting

#: One seismic read at a time: ObsPy's readers are tried in turn with their warnings caught, and
#: catching warnings is not thread-safe (the archive reads its records in threads).
_SEISMIC_READS = threading.Lock()


def read_clipped_traces(path: str, clip_counts: float | None, tolerance: float, model_rate: float | None,
                        resample: bool) -> tuple[str, list[SeismicTrace], list[ClippedRecord]]:
    """The format ``path``'s restoration is written in, its traces and each trace's clipped samples
    (found as in a plain ASCII record), at ``model_rate`` where given: a trace at another rate is
    refused unless ``resample``."""
    with _SEISMIC_READS:
        file_format, read = read_seismic(path)
    traces, records = [], []
    for trace in read:
        record = clipped_values(trace.values, f"{path}#{trace.seed_id}", clip_counts, tolerance)
        if model_rate is not None and check_rate(trace.sampling_rate, model_rate, path, trace.seed_id, resample):
            trace, record = _resampled_with_status(trace, record, model_rate)
        traces.append(trace)
        records.append(record)
    return file_format, traces, records


def _resampled_with_status(trace: SeismicTrace, record: ClippedRecord, rate: float) -> tuple[SeismicTrace, ClippedRecord]:
    """The trace at ``rate`` and its clipped samples there. The clipping is found before resampling,
    whose anti-alias filter would round off the flat runs: a new sample is clipped where the nearest
    recorded one is, and holds that side's clip level, as a digitiser at that rate would have recorded."""
    trace = resampled(trace, rate)
    times = np.arange(trace.values.size) * (record.values.size / trace.values.size)
    status = record.status[np.minimum(np.rint(times).astype(np.int64), record.status.size - 1)]
    values = np.where(status > 0, record.clip_high, np.where(status < 0, record.clip_low, trace.values))
    trace.values = values
    return trace, ClippedRecord(record.path, values, status, record.clip_high, record.clip_low)


def encoded_restoration(file_format: str, traces: list[SeismicTrace], records: list[ClippedRecord],
                        restorations: list[Restoration], method: str, model_dir: str | None,
                        model_sha256: str | None) -> tuple[bytes, bytes]:
    """The restored file's bytes and its status file's, in ``file_format``, marked as restored
    (:func:`seisclip.restore.seismic.encode_restored`), with the note of what restored them."""
    note = (f"restored by seisclip {__version__}, method {method}"
            + (f", model {Path(model_dir).name} (sha256 {model_sha256})" if model_sha256 else ""))
    return encode_restored(file_format, traces, [restoration.restored for restoration in restorations],
                           [record.status for record in records], note)


def restore_seismic_file(record_path: str, method: str = RECOMMENDED, model_dir: str | None = None,
                         output: str | None = None, plot: str | None = None, stride: int | None = None,
                         combine: str = "median", clip_counts: float | None = None, tolerance: float = 0.0,
                         batch_size: int = 256, overwrite: bool = False, trust_definition: bool = False,
                         window: int | None = None, self_check: bool = False, resample: bool = False,
                         window_length: int | None = None) -> list[Restoration]:
    """Restore every trace of a seismic file; write the restored file and its status file in the
    file's format (default ``NAME.restored.mseed`` and ``NAME.restored.status.mseed`` here, for
    NAME.mseed) and one figure of every trace; print a summary line. Returns a restoration per trace."""
    model = model_for(method, model_dir)
    file_format, traces, records = read_clipped_traces(record_path, clip_counts, tolerance,
                                                       model.sampling_rate if model else None, resample)
    output = output or restored_name(os.path.basename(record_path), file_format)
    check_output_suffix(output, file_format)
    status_output = str(status_name(output))
    plot = plot or f"{os.path.splitext(output)[0]}.png"
    if not overwrite:
        refuse_existing(output, "restored record")
        refuse_existing(status_output, "status file")
        refuse_existing(plot, "plot")
    restorer = restorer_of(model, model_dir, trust_definition, batch_size, window, self_check, window_length)
    for record in records:
        warn_if_resting(record, restorer)
    restorations = build_method(method, restorer, stride, combine).restore_all(records)

    name = restorer.name if restorer else method
    data, status = encoded_restoration(file_format, traces, records, restorations, method, model_dir,
                                       model.sha256() if model else None)
    figure = plot_traces(records, restorations, [trace.seed_id for trace in traces],
                         f"{os.path.basename(record_path)} restored by {name}")
    write_files_and_figure({output: data, status_output: status}, figure, plot, overwrite)
    print(summary_line(records, restorations, name, [output, status_output, plot]), file=sys.stderr)
    return restorations
