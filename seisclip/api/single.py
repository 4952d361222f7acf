"""``seisclip restore RECORD`` (and restore_clipped_waveform.py): one record restored through the
API's path (:func:`.signals.restore_signals`), its ASCII output, amplitude table and figure written."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from ..bank.clipping import runs_of
from ..errors import SeisclipError
from ..fsio import refuse_existing
from ..restore.inference import ModelRestorer
from ..restore.methods import SELF_CHECK_KEPT, Restoration
from ..restore.naming import ASCII, amplitudes_name, check_output_suffix, restored_name
from ..restore.output import plot_restoration, write_restoration
from ..restore.records import ClippedRecord, read_clipped_record
from ..restore.registry import RECOMMENDED, build_method, method_entry
from .signals import Signal, restore_signals

if TYPE_CHECKING:
    from ..learn.models import ModelHandle


def restore_file(record_path: str, method: str = RECOMMENDED, model_dir: str | None = None, output: str | None = None,
                 plot: str | None = None, stride: int | None = None, combine: str = "median",
                 labelled: bool | None = None, clip_counts: float | None = None, tolerance: float = 0.0,
                 batch_size: int = 256, overwrite: bool = False, trust_definition: bool = False,
                 window: int | None = None, self_check: bool = False, window_length: int | None = None) -> Restoration:
    """Read a clipped record, restore it, write the ASCII output, its amplitude table and the plot;
    print a summary line.
    ``window_length``: the window length the user expects the model to take (checked)."""
    output = output or restored_name(os.path.basename(record_path), ASCII)
    check_output_suffix(output, ASCII)
    plot = plot or f"{os.path.splitext(output)[0]}.png"
    if not overwrite:
        refuse_existing(output, "restored record")
        refuse_existing(amplitudes_name(output), "amplitude table")
        refuse_existing(plot, "plot")
    record = read_clipped_record(record_path, labelled=labelled, clip_counts=clip_counts, tolerance=tolerance)
    restorer = restorer_of(model_for(method, model_dir), model_dir, trust_definition, batch_size, window, self_check,
                           window_length)
    warn_if_resting(record, restorer)
    # An ASCII record carries no rate: it is taken as the model's, and nothing is resampled.
    (restored,) = restore_signals([Signal(record, None, "record", record_path)],
                                  build_method(method, restorer, stride, combine), None)
    restoration = restored.restoration

    name = restorer.name if restorer else method
    figure = plot_restoration(record, restoration, f"{os.path.basename(record_path)} restored by {name}")
    write_restoration(record, restoration, figure, output, plot, overwrite)
    print(summary_line([record], [restoration], name, [output, str(amplitudes_name(output)), plot]), file=sys.stderr)
    return restoration


def model_for(method: str, model_dir: str | None) -> "ModelHandle | None":
    """The model ``method`` restores with, opened but not loaded; None for a method without one."""
    if not method_entry(method).needs_model:
        return None
    if model_dir is None:
        raise SeisclipError(f"method {method!r} needs a model directory (--model)")
    from ..learn.models import open_model

    return open_model(model_dir)


def restorer_of(model: "ModelHandle | None", model_dir: str | None, trust_definition: bool, batch_size: int,
                window: int | None, self_check: bool, window_length: int | None) -> ModelRestorer | None:
    """``model`` loaded for restoring, its window length checked against the one the user expects."""
    if model is None:
        return None
    restorer = ModelRestorer.of(model.load(trust_definition), batch_size=batch_size, window=window,
                                self_check=self_check)
    restorer.check_window_length(window_length, model_dir)
    return restorer


def warn_if_resting(record: ClippedRecord, restorer: ModelRestorer | None) -> None:
    resting = record.resting_clipped_side()
    if restorer and resting:
        # bench/bench_offsets.py: there the network made most generated records worse, POCS and A-SPADE none.
        print(f"warning: {record.path}: {resting[1]:.0%} of its samples are clipped at {resting[0]}, so it rests "
              "beyond its clip level, unlike any window the model trained on: try --method pocs or aspade "
              "(docs/restoration.md)", file=sys.stderr)


def summary_line(records: list[ClippedRecord], restorations: list[Restoration], name: str, outputs: list[str]) -> str:
    """What was restored (of every trace of a seismic file together), by what, and where it went."""
    kept = [restoration.diagnostics[SELF_CHECK_KEPT] for restoration in restorations
            if SELF_CHECK_KEPT in restoration.diagnostics]
    check = f", self-check kept {'/'.join(f'{share:.0%}' for share in kept)}" if kept else ""
    traces = f" in {len(records)} traces" if len(records) > 1 else ""
    return (f"restored {sum(int(record.clipped.sum()) for record in records)} clipped samples in "
            f"{sum(len(runs_of(record.clipped)) for record in records)} runs of "
            f"{sum(record.values.size for record in records)}{traces} with {name}: "
            f"{sum(restoration.windows for restoration in restorations)} windows{check}, "
            f"{sum(restoration.seconds for restoration in restorations):.2f} s -> {', '.join(outputs)}")
