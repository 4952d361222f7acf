"""``seisclip evaluate``: the model against the classic baselines, per clip-level bin.

Unclipped signals (the model's held-out test segments, or whole records) are clipped
artificially at known fractions of their peak, restored by each method, scored against the truth
(:mod:`.metrics`) and summed up per clip-level bin (:func:`~.scores.score_table`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..bank.ascii import AsciiFolder
from ..bank.hdf5 import BankSource
from ..errors import SeisclipError
from ..fsio import refuse_existing, sha256_file
from ..learn.model_dir import ModelDirectory
from ..provenance import dump_json, run_record
from ..sets.index_file import IndexFile
from ..sets.segments import load_segments
from .metrics import ClippedSet, checked_clip_fractions
from .runs import evaluate, evaluate_records, open_restorer
from .scores import score_table
from .spectra import PSA_PERIODS_S
from .writer import (CLIP_FRACTION_AXIS, Panel, Series, bold_if, csv_bytes, figure_png, markdown_table,
                     write_folder)

#: Each figure panel's metric, title, axis label in words with units, and scale.
PANELS = (("median_rms_clipped", "clipped samples: each signal's RMS, median over the bin",
           "median RMS error (fraction of the true peak)", "log"),
          ("rms_clipped", "clipped samples: RMS pooled over the bin", "RMS error (fraction of the true peak)", "log"),
          ("delta_sdr_db", "gain over the clipped input", "mean ΔSDR (dB)", "linear"),
          ("median_peak_error_magnitude", "peak: |log10(restored / true)|, median over the bin",
           "median peak error (magnitude units)", "linear"),
          ("median_psa_error_log10", "5 % PSA, 0.1-2 s: median |log10 ratio|, median over the bin",
           "median PSA error (log10 units)", "linear"))
CSV_COLUMNS = ("method", "bin", "signals", "clipped_samples", "median_rms_clipped", "ratio_to_spline", "rms_clipped",
               "relative_l2", "delta_sdr_db", "worse", "median_peak_error_magnitude", "median_peak_bias_magnitude",
               "median_psa_error_log10", "band_coverage")
#: records.csv: each signal's row (:data:`~.metrics.SIGNAL_COLUMNS`), the level and method first.
RECORD_COLUMNS = ("record", "clip_fraction", "clipped_samples", "method", "rms_clipped", "relative_l2",
                  "delta_sdr_db", "worse", "peak_error_magnitude", "peak_bias_magnitude", "psa_error_log10",
                  "band_samples", "band_hits")


def markdown(methods: dict[str, list[dict]]) -> str:
    """Per bin: each method's median and pooled rms_clipped (the best in bold), its ΔSDR and the
    signals it made worse; then its median peak error (with the signed one) and PSA error; then
    the band's coverage of the methods that give one (relative_l2 and the ratios to the spline
    are in the CSV and JSON)."""
    names = list(methods)
    header = (["clip level", "signals"] + [f"{name} median rms_clipped" for name in names]
              + [f"{name} rms_clipped" for name in names]
              + [f"{name} ΔSDR dB" for name in names] + [f"{name} worse" for name in names])
    lines, amplitudes, coverage = [], [], []
    banded = [name for name in names if any(not math.isnan(score["band_coverage"]) for score in methods[name])]
    for position, score in enumerate(methods[names[0]]):
        rows = [methods[name][position] for name in names]
        cells = [score["bin"], str(score["signals"])]
        for metric in ("median_rms_clipped", "rms_clipped"):
            best = min(row[metric] for row in rows)
            cells += [f"**{row[metric]:.4f}**" if row[metric] == best else f"{row[metric]:.4f}" for row in rows]
        cells += [f"{row['delta_sdr_db']:+.1f}" for row in rows]
        cells += [str(row["worse"]) for row in rows]
        lines.append(cells)
        amplitude = [score["bin"], str(score["signals"])]
        best = min(row["median_peak_error_magnitude"] for row in rows)
        amplitude += [bold_if(f"{row['median_peak_error_magnitude']:.3f}", row["median_peak_error_magnitude"] == best)
                      + f" ({row['median_peak_bias_magnitude']:+.3f})" for row in rows]
        best = min(row["median_psa_error_log10"] for row in rows)
        amplitude += [bold_if(f"{row['median_psa_error_log10']:.3f}", row["median_psa_error_log10"] == best)
                      for row in rows]
        amplitudes.append(amplitude)
        coverage.append([score["bin"], str(score["clipped_samples"]),
                         *(f"{100 * methods[name][position]['band_coverage']:.1f} %" for name in banded)])
    text = markdown_table(header, lines)
    text += ["", "Median peak error |log10(restored peak / true peak)| in magnitude units (in brackets the signed "
                 "log10 ratio, below 0 too low), and median PSA error: per signal the median over "
                 f"{len(PSA_PERIODS_S)} periods from {PSA_PERIODS_S[0]:g} to {PSA_PERIODS_S[-1]:g} s of "
                 "|log10(PSA restored / PSA true)|, 5 % damping:", ""]
    text += markdown_table(["clip level", "signals", *(f"{name} peak error" for name in names),
                            *(f"{name} PSA error" for name in names)], amplitudes)
    if banded:
        text += ["", "The band's coverage: the share of the clipped samples whose truth lies inside the band:", ""]
        text += markdown_table(["clip level", "clipped samples", *(f"{name} band coverage" for name in banded)],
                               coverage)
    else:
        text += ["", "No band: none of the evaluated methods gives one."]
    return "\n".join(text) + "\n"


def csv_table(methods: dict[str, list[dict]]) -> bytes:
    return csv_bytes(CSV_COLUMNS, [[name, *(score[column] for column in CSV_COLUMNS[1:])]
                                   for name, scores in methods.items() for score in scores])


def records_csv(rows: list[dict]) -> bytes:
    return csv_bytes(RECORD_COLUMNS, [[row[column] for column in RECORD_COLUMNS] for row in rows])


def panels(methods: dict[str, list[dict]]) -> list[Panel]:
    """The figure's panels: each metric per bin (plotted at the bin's centre) for every method."""
    return [Panel(panel_title, CLIP_FRACTION_AXIS, ylabel, yscale=scale,
                  series=[Series(name, [float(score["bin"].split("-")[0]) + 0.05 for score in scores],
                                 [score[metric] for score in scores]) for name, scores in methods.items()])
            for metric, panel_title, ylabel, scale in PANELS]


def model_test_set(directory: ModelDirectory, progress: bool = True) -> ClippedSet:
    """The model's held-out test segments, read again from the ASCII files or the HDF5 bank it
    was trained from, and clipped at their levels."""
    rows = directory.segments_of("test")
    if not rows:
        raise SeisclipError("model manifest lists no test segments", directory.manifest_path)
    folder = directory.working_directory
    index = IndexFile(
        path=str(directory.manifest_path), sha256=directory.manifest.index_sha256,
        line_numbers=np.array([row["index_line"] for row in rows]),
        istart=np.array([row["istart"] for row in rows]),
        clip_fraction=np.array([row["rscale"] for row in rows], dtype=np.float64),
        paths=[os.path.join(folder, row["path"]) for row in rows],
    )
    source = AsciiFolder()
    if directory.bank["kind"] == "hdf5":
        path = os.path.join(folder, directory.bank["path"])
        if not os.path.isfile(path):
            raise SeisclipError("HDF5 bank the model was trained from not found", path)
        if sha256_file(path) != directory.bank["sha256"]:
            raise SeisclipError("HDF5 bank changed since the model was trained (sha256 differs); "
                                "run `seisclip trace` on the model", path)
        source = BankSource(path)
    segments = load_segments(index, directory.segment_length, min_peak=directory.parameters.min_peak_counts, progress=progress,
                             source=source)
    if segments.skip_reasons:
        raise SeisclipError(f"test segments can no longer be read as in training ({segments.summary()}); "
                            "run `seisclip trace` on the model", directory.path)
    return ClippedSet.clip(segments.segments, index.clip_fraction[segments.used])


def run_evaluate(model_dir: str | None = None, records: list[str] | None = None,
                 clip_fractions: list[float] | None = None, out_dir: str | None = None, stride: int | None = None,
                 window: int | None = None, self_check: bool = False, overwrite: bool = False, progress: bool = True,
                 trust_definition: bool = False) -> dict[str, list[dict]]:
    """Evaluate on the model's test split (default) or on ``records``; write evaluation.md, .csv,
    .png and .json (and records.csv) to ``out_dir`` and print the table."""

    if model_dir is None and not records:
        raise SeisclipError("nothing to evaluate: give --model (its test split) and/or --records")
    name = Path(model_dir).name if model_dir else "baselines"
    source = "records" if records else "test split"
    out_dir = out_dir or os.path.join("evaluations", f"{name}_{'records' if records else 'test'}")
    if not overwrite:
        refuse_existing(out_dir, "evaluation folder")
    directory = restorer = None
    if model_dir:
        directory, restorer = open_restorer(model_dir, records, window, self_check, trust_definition)
    if records:
        rows = evaluate_records(records, checked_clip_fractions(clip_fractions), restorer, stride)
    else:
        rows = evaluate(model_test_set(directory, progress), restorer)
    methods = score_table(rows, "bin")

    table = markdown(methods)
    title = f"{name}: {source}"
    files = {"evaluation.md": f"# {title}\n\n{table}", "evaluation.csv": csv_table(methods),
             "evaluation.png": figure_png(panels(methods), title, columns=3, panel_size=(17 / 3, 4.5))}
    if records:
        files["records.csv"] = records_csv(rows)
    files["evaluation.json"] = dump_json({
        "kind": "seisclip evaluation",
        "model_dir": model_dir,
        "model_manifest_sha256": (sha256_file(directory.manifest_path)
                                  if model_dir and directory.manifest_path else None),
        "source": source,
        "records": records,
        "clip_fractions": clip_fractions if records else None,
        "metrics": methods,
        **run_record("numpy"),
    })
    write_folder(out_dir, files, "evaluation folder", overwrite)
    print(f"{title}\n{table}", end="")
    return methods
