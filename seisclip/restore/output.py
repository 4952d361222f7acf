"""A restored record's outputs: the ASCII ``index value status restored lower upper`` lines, the
amplitude table beside them (:mod:`.amplitudes`) and the figure."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..bank.clipping import runs_of
from ..fsio import atomic_files, output_lock, remove_stale_temporaries
from .amplitudes import format_amplitudes, table_of
from .methods import Band, Restoration
from .naming import amplitudes_name
from .records import ClippedRecord


#: The columns of an ASCII restored record, named in its header line.
ASCII_COLUMNS = ("index", "value", "status", "restored", "lower", "upper")


def band_note(band: Band | None) -> str:
    """What the ``lower`` and ``upper`` columns hold, for a header or a plot."""
    return f"lower/upper: {band.label}, {band.description}" if band else "lower/upper: nan, the method gives no band"


def format_restored(record: ClippedRecord, restoration: Restoration) -> bytes:
    """ASCII output: a header line naming :data:`ASCII_COLUMNS`, then one line per sample; a method
    without a band writes ``nan`` as its bounds."""
    header = (f"# {' '.join(ASCII_COLUMNS)}  (method {restoration.method}; {band_note(restoration.band)}; "
              f"source {record.path})\n")
    missing = np.full(record.values.size, np.nan)
    lower = missing if restoration.lower is None else restoration.lower
    upper = missing if restoration.upper is None else restoration.upper
    lines = [
        f"{i} {value:.10g} {status} {restored:.10g} {low:.10g} {high:.10g}\n"
        for i, (value, status, restored, low, high) in enumerate(zip(
            record.values.tolist(), record.status.tolist(), restoration.restored.tolist(), lower.tolist(),
            upper.tolist()))
    ]
    return (header + "".join(lines)).encode()


def plot_restoration(record: ClippedRecord, restoration: Restoration, title: str):
    """A figure of the whole record and a close-up of its longest clipped run: clipped input,
    restored estimate with its band where the method gives one (labelled by :attr:`Band.label`),
    clip levels and clipped spans shaded."""
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
        if restoration.band is not None and restoration.lower is not None and restoration.upper is not None:
            axis.fill_between(samples[shown], restoration.lower[shown], restoration.upper[shown], color="tab:blue",
                              alpha=0.3, lw=0, label=restoration.band.label)
        axis.plot(samples[shown], record.values[shown], color="black", lw=0.8, label="clipped input")
        for level in (record.clip_high, record.clip_low):
            axis.axhline(level, color="red", lw=0.6, ls="--")
        axis.set_xlim(first, last - 1)
        axis.set_xlabel("sample number (from the record's start)")
        axis.set_ylabel("amplitude (counts)")


def write_restoration(record: ClippedRecord, restoration: Restoration, figure, output: str, plot: str,
                      overwrite: bool) -> None:
    """Write the restored record (:func:`format_restored`), its amplitude table and its figure as
    a PNG, all or none."""
    write_files_and_figure(ascii_contents(output, record, restoration), figure, plot, overwrite)


def ascii_contents(output: str | os.PathLike, record: ClippedRecord, restoration: Restoration) -> dict[Path, bytes]:
    """An ASCII record's outputs by path: the restored record at ``output``, then its amplitude
    table (:func:`~.naming.amplitudes_name`)."""
    return {Path(output): format_restored(record, restoration),
            amplitudes_name(output): format_amplitudes([("", table_of(record, restoration))])}


def write_files_and_figure(contents: dict[Path, bytes], figure, plot: str, overwrite: bool) -> None:
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
