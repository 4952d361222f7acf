"""The one writer of the evaluation stage: Markdown tables, CSV, PNG figures, and the output
folder they go to (written whole or not at all)."""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..fsio import atomic_directory, output_lock

#: The figures' horizontal axis: how hard the signals were clipped.
CLIP_FRACTION_AXIS = "clip level (fraction of the true peak)"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], align_right: bool = False) -> list[str]:
    """A Markdown table's lines; every column but the first right-aligned with ``align_right``."""
    rule = "|---|" + ("---:|" if align_right else "---|") * (len(header) - 1)
    return ["| " + " | ".join(header) + " |", rule, *("| " + " | ".join(cells) + " |" for cells in rows)]


def bold_if(text: str, bold: bool) -> str:
    """A Markdown cell's text, in bold where ``bold``: the best of a row."""
    return f"**{text}**" if bold else text


def csv_cell(value: Any) -> str:
    """A CSV cell: empty for None, a float to 6 significant digits, a bool as 0 or 1."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return out.getvalue().encode()


@dataclass
class Series:
    label: str
    x: list[float]
    y: list[float]
    style: str = "o-"


@dataclass
class Panel:
    """One plot: its axes' labels in words with units, its series, and a grey line at
    ``reference_y`` (the spline's level for ratios)."""

    title: str
    xlabel: str
    ylabel: str
    series: list[Series] = field(default_factory=list)
    yscale: str = "linear"
    reference_y: float | None = None


def figure_png(panels: list[Panel], title: str, columns: int, panel_size: tuple[float, float]) -> bytes:
    """The panels on a grid of ``columns``, titled, laid out and saved as PNG bytes."""
    # The Figure API: no pyplot state, and the caller's backend is left as it is.
    from matplotlib.figure import Figure

    columns = max(1, min(len(panels), columns))
    panel_rows = -(-len(panels) // columns)
    figure = Figure(figsize=(panel_size[0] * columns, panel_size[1] * panel_rows))
    axes = figure.subplots(panel_rows, columns, squeeze=False).ravel()
    for axis, panel in zip(axes, panels):
        for series in panel.series:
            axis.plot(series.x, series.y, series.style, label=series.label)
        if panel.reference_y is not None:
            axis.axhline(panel.reference_y, color="grey", linewidth=0.8)
        axis.set(xlabel=panel.xlabel, ylabel=panel.ylabel, title=panel.title, yscale=panel.yscale)
        axis.grid(alpha=0.3)
    for axis in axes[len(panels):]:
        axis.set_visible(False)
    axes[0].legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=100)
    return image.getvalue()


def write_folder(out_dir: str, files: dict[str, str | bytes], what: str, overwrite: bool) -> None:
    """Write ``files`` (name → text or bytes) into ``out_dir`` as one folder: all of them or, if
    anything fails, none; then name them on stderr."""
    Path(out_dir).parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out_dir, what), atomic_directory(out_dir, overwrite=overwrite) as work:
        for name, content in files.items():
            (work / name).write_bytes(content.encode() if isinstance(content, str) else content)
    print(f"-> {out_dir}/{', '.join(files)}", file=sys.stderr)
