"""The group's prediction commands, as they type them, run through seisclip's restoration:

    python predict_clipped_real_data_mean.py --number_of_consecutive_samples 256 --modeldir models \\
        --modelname set00001_256_40000_def001 --ASCIIlabelledwaveform FILE
    python predict_clipped_real_data_mean_heatmap.py   (the same flags)

As their scripts did: a labelled record (a header line, then ``index value status``) is
restored by the network alone, with windows of L samples every STRIDE samples over every window
holding a clipped sample, and each clipped sample the mean of the windows covering it. The record
is divided by its largest |value| (``--sbrl``: left in counts, with run-length status, every
SBRL_STRIDE samples). Unlike their scripts, the plot is written to a PNG beside the record
(``--show`` opens it too) and so are the restored record, ``index value status restored lower
upper`` (the network alone gives no band: its bounds are ``nan``), and its amplitude table.
The heatmap variant also draws, at each clipped sample, the histogram of the windows'
predictions: HEATMAP_BINS bins over the record's range, red dots whose opacity grows with the count.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import numpy as np

from ..arguments import ArgumentParser, positive_int, run_guarded

STRIDE = 20
SBRL_STRIDE = 10
HEATMAP_BINS = 100


def add_group_model_flags(parser: argparse.ArgumentParser, required: bool) -> None:
    """The group's flags naming the window length and the model: ``--modeldir`` (default models)
    and ``--modelname``."""
    parser.add_argument("--number_of_consecutive_samples", type=positive_int, required=required, metavar="L",
                        help="window length L the model was trained with (checked against the model)")
    parser.add_argument("--modeldir", default="models", help="folder of the models (default models)")
    parser.add_argument("--modelname", required=required, default=None,
                        help="model under --modeldir: a seisclip model directory, a SavedModel directory or a .h5 file")


def group_model_path(modeldir: str, modelname: str) -> str:
    path = os.path.join(modeldir, modelname)
    if not os.path.exists(path) and os.path.exists(path + ".h5"):
        return path + ".h5"
    return path


def open_group_model(model_path: str, sbrl: bool):
    """The model, fed as the group's mean scripts fed it or, with ``sbrl``, as their sbrl variant did.
    A model with a manifest says how it is fed; ``--sbrl`` must agree with it."""
    from ..learn.models import open_model

    return open_model(model_path).fed_as_group_scripts(sbrl)


def add_heatmap(figure, record, stacked: np.ndarray) -> None:
    """Red dots at each clipped sample: the histogram of the windows' predictions of it, in
    HEATMAP_BINS bins over the range of the record and the predictions, opacity growing with the count."""
    clipped = np.flatnonzero(record.clipped)
    predictions = stacked[:, clipped]
    low = min(float(record.values.min()), float(np.nanmin(predictions)))
    high = max(float(record.values.max()), float(np.nanmax(predictions)))
    edges = np.linspace(low, high if high > low else low + 1.0, HEATMAP_BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    counts = np.stack([np.histogram(column[~np.isnan(column)], bins=edges)[0] for column in predictions.T])
    sample, bin_number = np.nonzero(counts)
    colours = np.zeros((sample.size, 4))
    colours[:, 0] = 1.0
    colours[:, 3] = counts[sample, bin_number] / counts.max()
    for axis in figure.axes:
        first, last = axis.get_xlim()
        shown = (clipped[sample] >= first) & (clipped[sample] <= last)
        axis.scatter(clipped[sample][shown], centres[bin_number][shown], s=6, c=colours[shown], linewidths=0,
                     zorder=3, label="windows' predictions (histogram)" if axis is figure.axes[0] else None)
    figure.axes[0].legend(loc="upper right", fontsize=8)


def predict_like_the_group(record_path: str, model_path: str, length: int | None, sbrl: bool = False,
                           heatmap: bool = False, show: bool = False, overwrite: bool = False) -> tuple[str, str]:
    """Restore a labelled record as the group's prediction scripts did; write the restored record
    and the PNG beside it; return their paths."""
    from ..fsio import refuse_existing
    from .records import read_clipped_record
    from .inference import ModelRestorer, combine_window_estimates
    from .naming import amplitudes_name
    from .output import plot_restoration, write_restoration

    model = open_group_model(model_path, sbrl)
    stem = f"{record_path}.{model.name}.{'mean_heatmap' if heatmap else 'mean'}"
    output, plot = f"{stem}.restored.txt", f"{stem}.png"
    if not overwrite:
        refuse_existing(output, "restored record")
        refuse_existing(amplitudes_name(output), "amplitude table")
        refuse_existing(plot, "plot")
    record = read_clipped_record(record_path, labelled=True)
    restorer = ModelRestorer.of(model.load())
    restorer.check_window_length(length, model_path)
    stacked, windows = restorer.window_estimates(record, SBRL_STRIDE if sbrl else STRIDE)
    restoration = combine_window_estimates(record, stacked, windows, "mean")
    figure = plot_restoration(record, restoration, f"{os.path.basename(record_path)} restored by {model.name} "
                                                   f"(mean of {windows} windows)")
    if heatmap and windows:
        add_heatmap(figure, record, stacked)
    write_restoration(record, restoration, figure, output, plot, overwrite)
    print(f"restored {int(record.clipped.sum())} clipped samples of {record.values.size} with {model.name}: mean of "
          f"{windows} windows -> {output}, {amplitudes_name(output)}, {plot}", file=sys.stderr)
    if show:
        import matplotlib.pyplot as plt

        plt.imshow(plt.imread(plot))
        plt.axis("off")
        plt.show()
    return output, plot


def prediction_main(heatmap: bool, argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Entry point of predict_clipped_real_data_mean.py (and, with ``heatmap``, of ..._mean_heatmap.py)."""
    parser = ArgumentParser(prog=prog, description=(
        "Restore a labelled clipped record as the group's prediction scripts did: the mean of the network's "
        "windows" + (", with the histogram of their predictions" if heatmap else "")))
    add_group_model_flags(parser, required=True)
    parser.add_argument("--ASCIIlabelledwaveform", required=True, metavar="FILE",
                        help="labelled record: a header line, then 'index value status' lines")
    parser.add_argument("--sbrl", action="store_true",
                        help=f"the sbrl variant: record in counts, run-length status, windows every {SBRL_STRIDE} "
                             f"samples (default: divided by its largest |value|, every {STRIDE})")
    parser.add_argument("--show", action="store_true", help="also open the plot in a window")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    args = parser.parse_args(argv)

    def predict() -> int:
        predict_like_the_group(args.ASCIIlabelledwaveform, group_model_path(args.modeldir, args.modelname),
                               args.number_of_consecutive_samples, sbrl=args.sbrl, heatmap=heatmap, show=args.show,
                               overwrite=args.overwrite)
        return 0

    return run_guarded(predict, parser.prog)
