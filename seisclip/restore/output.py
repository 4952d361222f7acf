"""A restored record's outputs: the ASCII ``index value status restored spread`` lines and the figure."""

from __future__ import annotations

import io

import numpy as np

from ..bank.clipping import runs_of
from ..fsio import atomic_files, output_lock, remove_stale_temporaries
from .methods import Restoration
from .records import ClippedRecord


def format_restored(record: ClippedRecord, restoration: Restoration) -> bytes:
    """ASCII output: a header line, then ``index value status restored spread`` per sample."""
    header = f"# index value status restored spread  (method {restoration.method}; source {record.path})\n"
    # The last column is the spread across windows (a diagnostic, 0 for a method without windows).
    lines = [
        f"{i} {value:.10g} {status} {restored:.10g} {spread:.6g}\n"
        for i, (value, status, restored, spread) in enumerate(zip(
            record.values.tolist(), record.status.tolist(), restoration.restored.tolist(), restoration.window_spread.tolist()))
    ]
    return (header + "".join(lines)).encode()


def plot_restoration(record: ClippedRecord, restoration: Restoration, title: str):
    """A figure of the whole record and a close-up of its longest clipped run: clipped input,
    restored estimate with the spread across its windows (a diagnostic of where they disagree, not
    an error bound), clip levels and clipped spans shaded."""
    # The Figure API: no pyplot state, and the caller's backend is left as it is.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 7))
    axes = figure.subplots(2, 1)
    _draw(axes, record, restoration)
    axes[0].set_title(title)
    axes[1].set_title("close-up of the longest clipped run (shaded: clipped samples; dashed: clip levels)")
    axes[0].legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    return figure


#: Traces of a seismic file one figure shows: beyond, the figure would outgrow what a PNG viewer shows.
MAX_PLOTTED_TRACES = 12


def plot_traces(records: list[ClippedRecord], restorations: list[Restoration], labels: list[str], title: str):
    """:func:`plot_restoration` of a seismic file's traces: one trace is drawn as an ASCII record is;
    several get a row each, the whole trace beside the close-up of its longest clipped run (the
    first :data:`MAX_PLOTTED_TRACES`, the title says so when there are more)."""
    from matplotlib.figure import Figure

    if len(records) == 1:
        return plot_restoration(records[0], restorations[0], f"{title}: {labels[0]}")
    shown = min(len(records), MAX_PLOTTED_TRACES)
    figure = Figure(figsize=(14, 0.6 + 3.2 * shown))
    axes = figure.subplots(shown, 2, squeeze=False)
    for row, record, restoration, label in zip(axes, records, restorations, labels):
        _draw(row, record, restoration)
        row[0].set_title(label)
        row[1].set_title(f"{label}: close-up of the longest clipped run")
    axes[0][0].legend(loc="upper right", fontsize=8)
    more = f" (the first {shown} of {len(records)} traces)" if shown < len(records) else ""
    figure.suptitle(f"{title}{more}; shaded: clipped samples; dashed: clip levels")
    figure.tight_layout()
    return figure


def _draw(axes, record: ClippedRecord, restoration: Restoration) -> None:
    """The whole record on ``axes[0]``, the close-up of its longest clipped run on ``axes[1]``."""
    runs = runs_of(record.clipped)
    longest = max(runs, key=lambda run: run[1] - run[0]) if runs else (0, min(record.values.size, 200))
    margin = max(40, 3 * (longest[1] - longest[0]))
    close_up = (max(0, longest[0] - margin), min(record.values.size, longest[1] + margin))
    samples = np.arange(record.values.size)
    for axis, (first, last) in zip(axes, [(0, record.values.size), close_up]):
        shown = slice(first, last)
        for start, stop in runs:
            if stop > first and start < last:
                axis.axvspan(start - 0.5, stop - 0.5, color="orange", alpha=0.25, lw=0)
        axis.plot(samples[shown], restoration.restored[shown], color="tab:blue", lw=0.8, label=f"restored ({restoration.method})")
        spread = restoration.window_spread
        if spread.any():
            axis.fill_between(samples[shown], (restoration.restored - spread)[shown],
                              (restoration.restored + spread)[shown], color="tab:blue", alpha=0.3, lw=0,
                              label="± spread across windows (diagnostic)")
        axis.plot(samples[shown], record.values[shown], color="black", lw=0.8, label="clipped input")
        for level in (record.clip_high, record.clip_low):
            axis.axhline(level, color="red", lw=0.6, ls="--")
        axis.set_xlim(first, last - 1)
        axis.set_xlabel("sample number (from the record's start)")
        axis.set_ylabel("amplitude (counts)")


def write_restoration(record: ClippedRecord, restoration: Restoration, figure, output: str, plot: str,
                      overwrite: bool) -> None:
    """Write the restored record (:func:`format_restored`) and its figure as a PNG, both or neither."""
    write_files_and_figure({output: format_restored(record, restoration)}, figure, plot, overwrite)


def write_files_and_figure(contents: dict[str, bytes], figure, plot: str, overwrite: bool) -> None:
    """Write each file of ``contents`` (the restored record first, whose name is locked) and the
    figure as a PNG at ``plot``: all or none."""
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=100)
    paths = [*contents, plot]
    with output_lock(paths[0], "restored record"):
        for path in paths[1:]:
            remove_stale_temporaries(path)
        with atomic_files(paths, overwrite=overwrite) as temporaries:
            for temporary, data in zip(temporaries, [*contents.values(), image.getvalue()]):
                temporary.write_bytes(data)
