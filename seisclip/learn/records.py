"""What a finished run writes besides the network: the segment table, the history as CSV and
its plot."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..sets.segments import SegmentSet

def segment_table(segments: SegmentSet, split_of_used: dict[int, str]) -> tuple[list[dict], list[list]]:
    """Every index line with its file, start, clip level and fate (a split or a skip reason)."""
    index = segments.index
    file_numbers: dict[str, int] = {}
    files = []
    for path in index.paths:
        if path not in file_numbers:
            file_numbers[path] = len(files)
            record = segments.files.get(path, {"sha256": None, "samples": None})
            files.append({"path": path, **record})
    rows = []
    for position, (line, start, level, path) in enumerate(zip(
            index.line_numbers.tolist(), index.istart.tolist(), index.rscale.tolist(), index.paths)):
        fate = split_of_used.get(position) or f"skipped: {segments.skip_reasons[position]}"
        rows.append([line, start, level, file_numbers[path], fate])
    return files, rows


def history_csv(history: dict[str, list[float]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    keys = list(history)
    writer.writerow(["epoch", *keys])
    for epoch in range(len(history[keys[0]])):
        writer.writerow([epoch + 1, *(f"{history[key][epoch]:.8g}" for key in keys)])
    return out.getvalue().encode()


def plot_history(history: dict[str, list[float]], title: str, path: Path) -> None:
    # The Figure API: no pyplot state, and the caller's backend is left as it is.
    from matplotlib.figure import Figure

    epochs = np.arange(1, len(history["loss"]) + 1)
    figure = Figure(figsize=(10, 4))
    axes = figure.subplots(1, 2)
    for axis, metric in zip(axes, ("loss", "restored_mse")):
        for prefix, style in (("", "-o"), ("val_", "--s")):
            if prefix + metric in history:
                axis.plot(epochs, history[prefix + metric], style, label=(prefix or "train_").rstrip("_"))
        axis.set(xlabel="epoch", ylabel=metric, yscale="log", title=metric)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
