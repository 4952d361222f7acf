"""``seisclip compare``: models side by side, with the classic baselines, per record family.

A record's **family** is the name of the folder that holds its file (:func:`~.scores.family_of`).
Each model and the baselines are evaluated on the records (:func:`~.runs.evaluate_all`, cached by
:mod:`.cache`), and their signals' rows are summed up per family, clip fraction and method by the
one score table (:func:`~.scores.score_table`): ``median_rms_clipped``, ``ratio_to_spline``,
``delta_sdr_db``, ``worse``, the amplitudes' ``median_peak_error_magnitude``,
``median_peak_bias_magnitude`` and ``median_psa_error_log10``, and ``band_coverage`` for a method
that gives a band. What it prints is the overview: the models' table (the RMS error per family),
the peak and PSA errors per family, and the band's coverage per family and clip level.

Every method of a model's evaluation that is not a classic one (``model``, and any other its
rows hold) is a row of its own.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import SeisclipError
from ..fsio import refuse_existing, sha256_file
from ..learn.models import ModelHandle, open_model
from ..provenance import dump_json, run_record
from ..restore.registry import method_names
from .cache import DEFAULT_CACHE, Inputs, hash_records
from .metrics import UNCHANGED, checked_clip_fractions
from .runs import evaluate_all
from .scores import family_tables, records_by_family
from .spectra import PSA_PERIODS_S
from .writer import (CLIP_FRACTION_AXIS, Panel, Series, bold_if, csv_bytes, figure_png, markdown_table,
                     write_folder)

CLASSIC_METHODS = (*method_names(model=False), UNCHANGED)
#: How the Markdown, the CSV's model column and the plot name the classic methods.
CLASSIC_LABELS = {"spline": "spline", "pocs": "POCS", "aspade": "A-SPADE", "cwr": "CWRΔt", UNCHANGED: UNCHANGED}
#: Columns of each model taken from its manifest, in the table's order.
MODEL_COLUMNS = ("definition", "parameters", "epochs", "training_s", "test_mse", "test_mae", "test_mse_clipped")
#: A score's columns in the CSV (``records`` is the score's ``signals``), in order.
SCORE_COLUMNS = ("clip_fraction", "records", "median_rms_clipped", "ratio_to_spline", "delta_sdr_db", "worse",
                 "median_peak_error_magnitude", "median_peak_bias_magnitude", "median_psa_error_log10", "band_coverage")
CSV_COLUMNS = ("model", "method", "family", *SCORE_COLUMNS, *MODEL_COLUMNS, "choices")
#: Left out of the differing choices: epochs have a column of their own, and the optimizer's
#: Keras configuration follows from learning_rate, the hyperparameters and optimizer_function.
_CHOICES_SHOWN_APART = {"epochs", "optimizer.config"}


@dataclass(frozen=True)
class ComparedModel:
    """A model directory given to ``compare``, checked against its manifest, and its label in the table."""

    given_path: str
    directory: ModelHandle
    label: str

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest as JSON (``{}`` for a model without one)."""
        return self.directory.manifest_json()

    def files_key(self) -> dict[str, Any]:
        """What the model's evaluation depends on, by sha256."""
        return self.directory.files_key()

    def summary(self, parameter_count: int | None) -> dict[str, Any]:
        """The model's columns: its definition, parameters, epochs trained, training time and test metrics."""
        return self.directory.model_columns(parameter_count)


def open_models(paths: list[str]) -> list[ComparedModel]:
    """Each model directory opened and its files checked against its manifest's sha256; labelled
    by its definition, or by its model name where two share a definition."""
    directories = [open_model(path) for path in paths]
    for directory in directories:
        directory.check_files()

    def unique(names: list[str]) -> bool:
        return len(set(names)) == len(names)

    definitions = [directory.definition_name for directory in directories]
    names = [directory.name for directory in directories]
    labels = (definitions if unique(definitions) else names if unique(names)
              else [f"{name}#{position}" for position, name in enumerate(names, 1)])
    return [ComparedModel(path, directory, label) for path, directory, label in zip(paths, directories, labels)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def recorded_choices(manifest: dict[str, Any]) -> dict[str, str]:
    """The training set and the manifest's parameters as text, a dictionary's entries one by one
    (``optimizer.class``), the definition's hyperparameters by their own names. (An adopted
    model's manifest has parameters only; a model with no manifest, none.)"""
    parameters = manifest.get("parameters", {})
    choices = {"index_file": manifest["index_file"]} if "index_file" in manifest else {}
    for name, value in parameters.items():
        entries = value.items() if isinstance(value, dict) and value else [(None, value)]
        for key, item in entries:
            choice = name if key is None else key if name == "hyperparameters" else f"{name}.{key}"
            # A hyperparameter that is also a parameter of the run (epochs, batch_size): the run's value counts.
            if choice not in _CHOICES_SHOWN_APART and not (name == "hyperparameters" and key in parameters):
                choices[choice] = _text(item)
    return choices


def differing_choices(manifests: list[dict[str, Any]]) -> list[str]:
    """Per manifest, its recorded choices that differ between the manifests, as ``key=value``
    joined by ``; `` (a choice a manifest lacks is left out of its list)."""
    choices = [recorded_choices(manifest) for manifest in manifests]
    differing = [key for key in dict.fromkeys(key for flat in choices for key in flat)
                 if len({flat.get(key) for flat in choices}) > 1]
    return ["; ".join(f"{key}={flat[key]}" for key in differing if key in flat) for flat in choices]


# --- the table ---------------------------------------------------------------------------------

@dataclass
class MethodRow:
    """A row of the table: a model's method, or a classic one (``model`` empty, no ``summary``)."""

    model: str
    method: str
    summary: dict[str, Any] | None
    choices: str
    scores: dict[str, list[dict]]     # family -> its score per clip level

    @property
    def label(self) -> str:
        if not self.model:
            return CLASSIC_LABELS.get(self.method, self.method)
        return self.model if self.method == "model" else f"{self.model} {self.method}"

    def mean_ratio(self, family: str) -> float | None:
        return self.mean_over_levels(family, "ratio_to_spline")

    def mean_over_levels(self, family: str, column: str) -> float | None:
        """The mean over the family's clip levels of a score's column (None: no score there)."""
        values = [score[column] for score in self.scores.get(family, [])]
        return float(np.mean(values)) if values else None

    @property
    def has_band(self) -> bool:
        """Whether the method gave a band on any record: a coverage was measured."""
        return any(not np.isnan(score["band_coverage"]) for scores in self.scores.values() for score in scores)

    @property
    def worse(self) -> int:
        return sum(score["worse"] for scores in self.scores.values() for score in scores)


def method_rows(models: list[ComparedModel], model_rows: dict[str, dict[str, list[dict]]],
                baseline_rows: dict[str, list[dict]], families: list[str],
                network_parameters: dict[str, int | None]) -> list[MethodRow]:
    """The table's rows in the models' order, each model's methods as its rows give them, then
    the classic methods; each score with its ratio to the spline's median on the same records."""
    choices = differing_choices([model.manifest for model in models])
    baseline_scores = family_tables({family: baseline_rows.get(family, []) for family in families})
    rows = []
    for model, model_choices in zip(models, choices):
        summary = model.summary(network_parameters.get(model.label))
        scores = family_tables({family: model_rows.get(model.label, {}).get(family, []) for family in families},
                               baseline_rows)
        methods = dict.fromkeys(method for family in families for method in scores[family]) or {"model": None}
        rows += [MethodRow(model.label, method, summary, model_choices,
                           {family: scores[family].get(method, []) for family in families}) for method in methods]
    if baseline_rows:
        rows += [MethodRow("", method, None, "", {family: baseline_scores[family].get(method, []) for family in families})
                 for method in CLASSIC_METHODS]
    return rows


def sort_columns(families: list[str]) -> dict[str, Callable[[MethodRow], Any]]:
    """What ``--sort-by`` accepts: each column's value of a row (None: the row has none)."""
    columns: dict[str, Callable[[MethodRow], Any]] = {"method": lambda row: row.label}
    for name in MODEL_COLUMNS:
        columns[name] = lambda row, name=name: None if row.summary is None else row.summary[name]
    for family in families:
        columns[family] = lambda row, family=family: row.mean_ratio(family)
    if families:
        columns["worse"] = lambda row: row.worse
    return columns


def sorted_rows(rows: list[MethodRow], column: Callable[[MethodRow], Any]) -> list[MethodRow]:
    """Ascending by the column; rows without a value last, in their order."""
    def key(row: MethodRow) -> tuple[bool, Any]:
        value = column(row)
        return value is None, 0 if value is None else value

    return sorted(rows, key=key)


def _number(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _ratio_cell(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.3f}"


def _model_cell(summary: dict[str, Any], name: str) -> str:
    value = summary.get(name)
    # Training times run to hours: whole seconds, never in exponent notation.
    return f"{value:.0f}" if name == "training_s" and value is not None else _number(value)


def markdown(rows: list[MethodRow], families: dict[str, list[str]], clip_fractions: list[float], title: str,
             sort_by: str | None) -> tuple[str, str]:
    """compare.md in two parts: the overview ``compare`` prints (the models' table; with records,
    the peak and PSA errors per family and the band's coverage per family and level), then per
    family, per level and method, the median error (÷ the spline's), the mean ΔSDR and records
    made worse, and the peak and PSA errors."""
    evaluated = bool(families)
    header = ["method", *MODEL_COLUMNS, *families, *(["worse"] if evaluated else []), "differing choices"]
    lines = [f"# {title}", ""]
    if evaluated:
        lines += ["Family columns: the median over the family's records of the RMS error on the clipped samples "
                  "(÷ the true peak), divided by the spline's, averaged over the clip levels (below 1 beats the "
                  "spline); `worse`: records made worse than the clipped input, all families and levels.", ""]
    if sort_by:
        lines += [f"Sorted by `{sort_by}`.", ""]
    lines += markdown_table(header, [[row.label, *(_model_cell(row.summary or {}, name) for name in MODEL_COLUMNS),
                                      *(_ratio_cell(row.mean_ratio(family)) for family in families),
                                      *([str(row.worse)] if evaluated else []), row.choices] for row in rows])
    if evaluated:
        lines += ["", "## Peak and PSA errors per family", "", *amplitude_tables(rows, list(families)),
                  "", "## The band's coverage per family and clip level", "", *coverage_table(rows, list(families))]
    details = []
    for family in families:
        details += ["", f"## {family}: {len(families[family])} record files", "",
                    "Median RMS error on the clipped samples ÷ the true peak (÷ the spline's); the lowest in bold:", ""]
        details += _level_table(rows, family, clip_fractions, "median_rms_clipped", _median_cell)
        details += ["", "Mean ΔSDR in dB, and records made worse than the clipped input:", ""]
        details += _level_table(rows, family, clip_fractions, "median_rms_clipped", _worse_cell)
        details += ["", "Median peak error in magnitude units (the signed error in brackets, below 0 too low); the "
                        "lowest in bold:", ""]
        details += _level_table(rows, family, clip_fractions, "median_peak_error_magnitude", _peak_cell)
        details += ["", "Median PSA error (log10); the lowest in bold:", ""]
        details += _level_table(rows, family, clip_fractions, "median_psa_error_log10", _psa_cell)
    return "\n".join(lines) + "\n", ("\n".join(details) + "\n" if details else "")


def amplitude_tables(rows: list[MethodRow], families: list[str]) -> list[str]:
    """Per method and family, the median over the family's records of the peak error (its signed
    error in brackets) and of the PSA error, each averaged over the clip levels: two tables."""
    def cell(row: MethodRow, family: str, column: str, bias: bool = False) -> str:
        value = row.mean_over_levels(family, column)
        if value is None:
            return ""
        signed = row.mean_over_levels(family, "median_peak_bias_magnitude")
        return f"{value:.3f} ({signed:+.3f})" if bias else f"{value:.3f}"

    return ["Peak error: the median over the family's records of |log10(restored peak / true peak)|, in magnitude "
            "units, averaged over the clip levels; in brackets the same of the signed log10 ratio (below 0: the "
            "peak restored too low):", "",
            *markdown_table(["method", *families], [[row.label, *(cell(row, family, "median_peak_error_magnitude", True)
                                                                  for family in families)] for row in rows],
                            align_right=True),
            "", f"PSA error: the median over the family's records of the median over {len(PSA_PERIODS_S)} periods from "
                f"{PSA_PERIODS_S[0]:g} to {PSA_PERIODS_S[-1]:g} s of |log10(PSA restored / PSA true)|, 5 % damping, "
                "averaged over the clip levels:", "",
            *markdown_table(["method", *families], [[row.label, *(cell(row, family, "median_psa_error_log10")
                                                                  for family in families)] for row in rows],
                            align_right=True)]


def coverage_table(rows: list[MethodRow], families: list[str]) -> list[str]:
    """Per family and clip level, the share of the clipped samples whose truth lies inside each
    banded method's band, pooled over the family's records; a line saying so where no method
    gives a band."""
    banded = [row for row in rows if row.has_band]
    if not banded:
        return ["No band: none of the compared methods gives one."]
    lines = []
    for family in families:
        levels = sorted({score["clip_fraction"] for row in banded for score in row.scores.get(family, [])})
        for fraction in levels:
            cells = []
            for row in banded:
                score = next((score for score in row.scores[family] if score["clip_fraction"] == fraction), None)
                cells.append("" if score is None or np.isnan(score["band_coverage"])
                             else f"{100 * score['band_coverage']:.1f} %")
            lines.append([family, f"{fraction:g}", *cells])
    return ["Share of the clipped samples whose truth lies inside the method's band (the methods that give one):",
            "", *markdown_table(["family", "clip level", *(row.label for row in banded)], lines, align_right=True)]


def _median_cell(score: dict, best: float) -> str:
    median = bold_if(f"{score['median_rms_clipped']:.4f}", score["median_rms_clipped"] == best)
    return f"{median} ({score['ratio_to_spline']:.2f})"


def _worse_cell(score: dict, best: float) -> str:
    return f"{score['delta_sdr_db']:+.1f}, {score['worse']} of {score['signals']}"


def _peak_cell(score: dict, best: float) -> str:
    error = bold_if(f"{score['median_peak_error_magnitude']:.3f}", score["median_peak_error_magnitude"] == best)
    return f"{error} ({score['median_peak_bias_magnitude']:+.3f})"


def _psa_cell(score: dict, best: float) -> str:
    return bold_if(f"{score['median_psa_error_log10']:.3f}", score["median_psa_error_log10"] == best)


def _level_table(rows: list[MethodRow], family: str, clip_fractions: list[float], best_of: str,
                 cell: Callable[[dict, float], str]) -> list[str]:
    """Per clip level, each method's ``cell(score, best)``, ``best`` the lowest ``best_of`` of the level."""
    lines = []
    for fraction in clip_fractions:
        scores = [next((score for score in row.scores[family] if score["clip_fraction"] == fraction), None)
                  for row in rows]
        present = [score[best_of] for score in scores if score is not None]
        if present:
            lines.append([f"{fraction:g}", *("" if score is None else cell(score, min(present)) for score in scores)])
    return markdown_table(["clip level", *(row.label for row in rows)], lines, align_right=True)


def csv_table(rows: list[MethodRow], families: list[str]) -> bytes:
    """One line per row, family and clip fraction (one per row without records), with the model's
    columns repeated."""
    lines = []
    for row in rows:
        summary = row.summary or {}
        model_cells = [summary.get(name) for name in MODEL_COLUMNS] + [row.choices]
        scores = [(family, score) for family in families for score in row.scores.get(family, [])]
        if not scores:
            lines.append([row.model, row.method, "", *[""] * len(SCORE_COLUMNS), *model_cells])
        lines += [[row.model, row.method, family, *(score["signals" if column == "records" else column]
                                                    for column in SCORE_COLUMNS), *model_cells]
                  for family, score in scores]
    return csv_bytes(CSV_COLUMNS, lines)


#: compare.png's rows of panels: a score's column, what its axis says, and the spline's level.
PANEL_ROWS = (("ratio_to_spline", "median RMS error on clipped samples ÷ spline's", 1.0),
              ("median_peak_error_magnitude", "median peak error (magnitude units)", None),
              ("median_psa_error_log10", "median PSA error (log10 units)", None))


def panels(rows: list[MethodRow], families: list[str]) -> list[Panel]:
    """A row of panels per metric of :data:`PANEL_ROWS`, a panel per family: each method's score
    against the clip level."""
    return [Panel(family, CLIP_FRACTION_AXIS, ylabel, reference_y=reference,
                  series=[Series(row.label, [score["clip_fraction"] for score in row.scores[family]],
                                 [score[column] for score in row.scores[family]],
                                 "o-" if row.model else "s--") for row in rows])
            for column, ylabel, reference in PANEL_ROWS for family in families]


# --- the command -------------------------------------------------------------------------------

def run_compare(model_dirs: list[str], records: list[str] | None = None, clip_fractions: list[float] | None = None,
                sort_by: str | None = None, out_dir: str | None = None, stride: int | None = None,
                window: int | None = None, overwrite: bool = False, progress: bool = True,
                trust_definition: bool = False, cache_dir: str = DEFAULT_CACHE) -> list[MethodRow]:
    """Compare the models (and, with ``records``, the baselines) in one table; write compare.md,
    .csv, .png (with records) and .json to ``out_dir`` and print the models' table."""
    fractions = checked_clip_fractions(clip_fractions)
    families = records_by_family(records or [])
    columns = sort_columns(list(families))
    if sort_by is not None and sort_by not in columns:
        raise SeisclipError(f"--sort-by {sort_by!r} is not a column; choose one of: {', '.join(columns)}")
    models = open_models(model_dirs)
    labels = [model.label for model in models]
    out_dir = out_dir or os.path.join("evaluations", "compare_" + "_".join(labels))
    if not overwrite:
        refuse_existing(out_dir, "comparison folder")

    model_rows: dict[str, dict[str, list[dict]]] = {}
    baseline_rows: dict[str, list[dict]] = {}
    network_parameters: dict[str, int | None] = {}
    inputs = None
    if families:
        inputs = Inputs(families, hash_records([path for paths in families.values() for path in paths]), fractions,
                        stride, window)
        model_rows, baseline_rows, network_parameters = evaluate_all(models, inputs, cache_dir, trust_definition,
                                                                     progress)
        every_record = {row["record"] for rows in baseline_rows.values() for row in rows}
        for label, rows_of_model in model_rows.items():
            left_out = every_record - {row["record"] for rows in rows_of_model.values() for row in rows}
            if left_out:
                print(f"note: {label}: {len(left_out)} records shorter than its window left out; its ratios to the "
                      "spline are on the records it restored", file=sys.stderr)
    else:   # only the manifests: the network is loaded where the manifest does not count its parameters
        network_parameters = {model.label: model.directory.load(trust_definition).network.count_params()
                              for model in models if model.manifest.get("model_parameters") is None}
    rows = method_rows(models, model_rows, baseline_rows, list(families), network_parameters)
    if sort_by is not None:
        rows = sorted_rows(rows, columns[sort_by])

    if families:
        record_count = sum(len(paths) for paths in families.values())
        title = (f"{', '.join(labels)} on {record_count} record files ({', '.join(families)}), "
                 f"clipped at {', '.join(f'{fraction:g}' for fraction in fractions)}")
    else:
        title = f"{', '.join(labels)}: their manifests"
    overview, details = markdown(rows, families, fractions, title, sort_by)
    files = {"compare.md": overview + details, "compare.csv": csv_table(rows, list(families))}
    if families:
        files["compare.png"] = figure_png(panels(rows, list(families)), title, columns=len(families),
                                          panel_size=(5.5, 4.2))
    files["compare.json"] = dump_json({
        "kind": "seisclip comparison",
        "models": [{"label": model.label, "model_dir": model.given_path,
                    "manifest_sha256": (sha256_file(model.directory.manifest_path)
                                        if model.directory.manifest_path else None)} for model in models],
        "records": None if inputs is None else [{"path": path, "family": family, "sha256": inputs.record_sha256[path]}
                                                for family, paths in families.items() for path in paths],
        "clip_fractions": fractions if families else None,
        "stride": stride, "window": window, "sort_by": sort_by,
        **run_record("numpy"),
    })
    write_folder(out_dir, files, "comparison folder", overwrite)
    print(overview.rstrip("\n"))
    return rows
