"""``seisclip restore RECORD`` (and restore_clipped_waveform.py): one record restored through the
API's path (:func:`.signals.restore_signals`), its ASCII output and figure written."""

from __future__ import annotations

import os
import sys

from ..bank.clipping import runs_of
from ..errors import SeisclipError
from ..fsio import refuse_existing
from ..restore.inference import ModelRestorer
from ..restore.methods import SELF_CHECK_KEPT, Restoration
from ..restore.output import plot_restoration, write_restoration
from ..restore.records import read_clipped_record
from ..restore.registry import RECOMMENDED, build_method, method_entry
from .signals import Signal, restore_signals


def restore_file(record_path: str, method: str = RECOMMENDED, model_dir: str | None = None, output: str | None = None,
                 plot: str | None = None, stride: int | None = None, combine: str = "median",
                 labelled: bool | None = None, clip_counts: float | None = None, tolerance: float = 0.0,
                 batch_size: int = 256, overwrite: bool = False, trust_definition: bool = False,
                 window: int | None = None, self_check: bool = False, window_length: int | None = None) -> Restoration:
    """Read a clipped record, restore it, write the ASCII output and the plot; print a summary line.
    ``window_length``: the window length the user expects the model to take (checked)."""
    from ..learn.models import load_any_model

    output = output or f"{os.path.basename(record_path)}.restored.txt"
    plot = plot or f"{os.path.splitext(output)[0]}.png"
    if not overwrite:
        refuse_existing(output, "restored record")
        refuse_existing(plot, "plot")
    record = read_clipped_record(record_path, labelled=labelled, clip_counts=clip_counts, tolerance=tolerance)
    entry = method_entry(method)
    restorer = None
    if entry.needs_model:
        if model_dir is None:
            raise SeisclipError(f"method {method!r} needs a model directory (--model)")
        restorer = ModelRestorer.of(load_any_model(model_dir, trust_definition), batch_size=batch_size,
                                    window=window, self_check=self_check)
        restorer.check_window_length(window_length, model_dir)
    resting = record.resting_clipped_side()
    if restorer and resting:
        # bench/bench_offsets.py: there the network made most generated records worse, POCS and A-SPADE none.
        print(f"warning: {record_path}: {resting[1]:.0%} of its samples are clipped at {resting[0]}, so it rests "
              "beyond its clip level, unlike any window the model trained on: try --method pocs or aspade "
              "(docs/restoration.md)", file=sys.stderr)
    # An ASCII record carries no rate: it is taken as the model's, and nothing is resampled.
    (restored,) = restore_signals([Signal(record, None, "record", record_path)],
                                  build_method(method, restorer, stride, combine), None)
    restoration = restored.restoration

    name = restorer.name if restorer else method
    figure = plot_restoration(record, restoration, f"{os.path.basename(record_path)} restored by {name}")
    write_restoration(record, restoration, figure, output, plot, overwrite)
    check = (f", self-check kept {restoration.diagnostics[SELF_CHECK_KEPT]:.0%}"
             if SELF_CHECK_KEPT in restoration.diagnostics else "")
    print(f"restored {int(record.clipped.sum())} clipped samples in {len(runs_of(record.clipped))} runs of "
          f"{record.values.size} with {name}: {restoration.windows} windows{check}, {restoration.seconds:.2f} s "
          f"-> {output}, {plot}", file=sys.stderr)
    return restoration
