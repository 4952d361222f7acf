"""``seisclip compare``: models side by side, with the classic baselines, per record family.

A record's **family** is the name of the folder that holds its file (``dev_records/teleseismic/
x.txt`` → ``teleseismic``); every trace of a miniSEED or HDF5 file belongs to its file's family.
Each model and the baselines are evaluated on the records with :func:`evaluate_records`, and its
rows per record are summed up per family, clip level and method:

* ``median_rms_clipped``: the median over the family's records that have clipped samples of the
  RMS error on those samples ÷ the record's true peak;
* ``ratio_to_spline``: that median ÷ the spline's median for the same family and level;
* ``delta_sdr_db``: the mean ΔSDR over the family's records;
* ``worse``: how many of the family's records the method made worse than the clipped input.

Every method of a model's evaluation that is not a classic one (``model``, and any other its
rows hold) is a row of its own. Each evaluation is kept as JSON in the cache folder under the
sha256 of everything it depends on (the model's manifest and network, every record file, the
clip levels, stride and window, and seisclip's own source files), so a rerun on the same inputs
reuses it without loading the model, and a changed record file or code evaluates again.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import __version__
from ..errors import SeisclipError
from ..fsio import atomic_directory, output_lock, refuse_existing, sha256_bytes, sha256_file, write_file_atomic
from ..provenance import dump_json, run_record, source_sha256
from ..learn.models import ModelHandle, open_model
from .evaluation import UNCHANGED, checked_clip_levels, evaluate_records, titled_png
from .inference import ModelRestorer
from .registry import method_names

CLASSIC_METHODS = (*method_names(model=False), UNCHANGED)
#: How the Markdown, the CSV's model column and the plot name the classic methods.
CLASSIC_LABELS = {"spline": "spline", "pocs": "POCS", "aspade": "A-SPADE", UNCHANGED: UNCHANGED}
DEFAULT_CACHE = os.path.join("evaluations", "compare_cache")
#: Columns of each model taken from its manifest, in the table's order.
MODEL_COLUMNS = ("definition", "parameters", "epochs", "training_s", "test_mse", "test_mae", "test_mse_clipped")
CSV_COLUMNS = ("model", "method", "family", "clip_level", "records", "median_rms_clipped", "ratio_to_spline",
               "delta_sdr_db", "worse", *MODEL_COLUMNS, "choices")
#: Left out of the differing choices: epochs have a column of their own, and the optimizer's
#: Keras configuration follows from learning_rate, the hyperparameters and optimizer_function.
_CHOICES_SHOWN_APART = {"epochs", "optimizer.config"}


def family_of(path: str) -> str:
    """The name of the folder holding the record file (the working folder's for a bare name)."""
    return os.path.basename(os.path.dirname(os.path.abspath(path)))


def records_by_family(paths: list[str]) -> dict[str, list[str]]:
    """The record files grouped by family, families and files in the order given."""
    families: dict[str, list[str]] = {}
    for path in dict.fromkeys(paths):
        families.setdefault(family_of(path), []).append(path)
    return families


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


# --- evaluations and their cache ---------------------------------------------------------------

@dataclass(frozen=True)
class Inputs:
    """What every evaluation of one comparison depends on besides the model."""

    families: dict[str, list[str]]
    record_sha256: dict[str, str]
    clip_levels: list[float]
    stride: int | None
    window: int | None

    def key(self) -> dict[str, Any]:
        return {"seisclip": __version__, "source_sha256": source_sha256(),
                "records": [[path, self.record_sha256[path]] for paths in self.families.values() for path in paths],
                "clip_levels": self.clip_levels, "stride": self.stride, "window": self.window}


def hash_records(paths: list[str]) -> dict[str, str]:
    """Each record file's sha256, every file checked to exist first."""
    for path in paths:
        if not os.path.isfile(path):
            raise SeisclipError("record file not found", path)
    return {path: sha256_file(path) for path in paths}


@dataclass
class Evaluation:
    """One cached evaluation: the rows per record (:func:`record_rows`) of each family."""

    path: Path
    key: dict[str, Any]
    rows: dict[str, list[dict]] = field(default_factory=dict)
    network_parameters: int | None = None

    def read(self) -> bool:
        """Whether the cache holds this evaluation (a damaged entry is evaluated again)."""
        if not self.path.is_file():
            return False
        try:
            stored = json.loads(self.path.read_bytes())
        except ValueError:
            print(f"note: {self.path}: cached evaluation is damaged; evaluating again", file=sys.stderr)
            return False
        if not isinstance(stored, dict) or stored.get("key") != self.key:
            return False
        self.rows, self.network_parameters = stored["rows"], stored["network_parameters"]
        return True

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(self.path, dump_json({"kind": "seisclip compare evaluation", "key": self.key,
                                                "rows": self.rows, "network_parameters": self.network_parameters}),
                          overwrite=True)


def _cached(cache_dir: str, name: str, key: dict[str, Any]) -> Evaluation:
    digest = sha256_bytes(json.dumps(key, sort_keys=True).encode())
    return Evaluation(Path(cache_dir) / f"{name}.{digest[:32]}.json", key)


def evaluate_families(inputs: Inputs, restorer: ModelRestorer | None) -> dict[str, list[dict]]:
    """The rows per record of the model's methods (with ``restorer``) or of the classic ones
    (without), one evaluation per family so that its rows stay apart."""
    return {family: evaluate_records(paths, inputs.clip_levels, restorer, inputs.stride,
                                     baselines=restorer is None, skip_short=True)[1]
            for family, paths in inputs.families.items()}


def evaluate_all(models: list[ComparedModel], inputs: Inputs, cache_dir: str, trust_definition: bool,
                 progress: bool) -> tuple[dict[str, dict[str, list[dict]]], dict[str, list[dict]], dict[str, int | None]]:
    """Per model label its rows per family, the baselines' rows per family, and per label the
    network's parameter count where an evaluation counted it. Cached evaluations are reused;
    every model to evaluate is loaded first, so that an untrusted one fails before any work."""
    evaluations = {}
    for model in models:
        key = {**inputs.key(), "kind": "model", **model.files_key()}
        evaluations[model.label] = _cached(cache_dir, model.directory.name, key)
    baselines = _cached(cache_dir, "baselines", {**inputs.key(), "kind": "baselines"})
    reused = {label: evaluation.read() for label, evaluation in evaluations.items()}
    restorers = {model.label: ModelRestorer.of(model.directory.load(trust_definition), window=inputs.window)
                 for model in models if not reused[model.label]}
    baselines_reused = baselines.read()
    record_files = sum(len(paths) for paths in inputs.families.values())

    def announce(what: str) -> None:
        if progress:
            print(f"compare: evaluating {what} on {record_files} record files at {len(inputs.clip_levels)} clip levels",
                  file=sys.stderr)

    for model in models:
        evaluation = evaluations[model.label]
        if reused[model.label]:
            print(f"note: {model.label}: reusing the evaluation {evaluation.path} (model and records unchanged, "
                  "by sha256)", file=sys.stderr)
            continue
        announce(model.label)
        restorer = restorers[model.label]
        evaluation.rows, evaluation.network_parameters = evaluate_families(inputs, restorer), restorer.model.count_params()
        evaluation.write()
    if baselines_reused:
        print(f"note: baselines: reusing the evaluation {baselines.path} (records unchanged, by sha256)",
              file=sys.stderr)
    else:
        announce("the baselines")
        baselines.rows = evaluate_families(inputs, None)
        baselines.write()
    return ({label: evaluation.rows for label, evaluation in evaluations.items()}, baselines.rows,
            {label: evaluation.network_parameters for label, evaluation in evaluations.items()})


# --- the table ---------------------------------------------------------------------------------

def family_scores(rows: list[dict], clip_levels: list[float]) -> dict[str, list[dict]]:
    """Per method, one row per clip level at which the family's records have clipped samples:
    records, median_rms_clipped, delta_sdr_db and worse (ratio_to_spline comes later)."""
    scores: dict[str, list[dict]] = {}
    for method in dict.fromkeys(row["method"] for row in rows):
        scores[method] = []
        for level in clip_levels:
            at_level = [row for row in rows if row["method"] == method and row["clip_level"] == level]
            clipped = [row["rms_clipped"] for row in at_level if row["clipped_samples"]]
            if clipped:
                scores[method].append({
                    "clip_level": level, "records": len(at_level), "record_names": {row["record"] for row in at_level},
                    "median_rms_clipped": float(np.median(clipped)),
                    "delta_sdr_db": float(np.mean([row["delta_sdr_db"] for row in at_level])),
                    "worse": sum(bool(row["worse"]) for row in at_level),
                })
    return scores


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
        ratios = [score["ratio_to_spline"] for score in self.scores.get(family, [])]
        return float(np.mean(ratios)) if ratios else None

    @property
    def worse(self) -> int:
        return sum(score["worse"] for scores in self.scores.values() for score in scores)


def method_rows(models: list[ComparedModel], model_rows: dict[str, dict[str, list[dict]]],
                baseline_rows: dict[str, list[dict]], clip_levels: list[float], families: list[str],
                network_parameters: dict[str, int | None]) -> list[MethodRow]:
    """The table's rows in the models' order, each model's methods as its rows give them, then
    the classic methods; each score with its ratio to the spline's median."""
    choices = differing_choices([model.manifest for model in models])
    baseline_scores = {family: family_scores(baseline_rows.get(family, []), clip_levels) for family in families}
    rows = []
    for model, model_choices in zip(models, choices):
        summary = model.summary(network_parameters.get(model.label))
        scores = {family: family_scores(model_rows.get(model.label, {}).get(family, []), clip_levels)
                  for family in families}
        methods = dict.fromkeys(method for family in families for method in scores[family]) or {"model": None}
        rows += [MethodRow(model.label, method, summary, model_choices,
                           {family: scores[family].get(method, []) for family in families}) for method in methods]
    if baseline_rows:
        rows += [MethodRow("", method, None, "", {family: baseline_scores[family].get(method, []) for family in families})
                 for method in CLASSIC_METHODS]
    for family in families:
        spline_rows = [row for row in baseline_rows.get(family, []) if row["method"] == "spline" and row["clipped_samples"]]
        for row in rows:
            for score in row.scores[family]:
                # On the same records: a fixed-length model leaves out the records shorter than its window.
                reference = float(np.median([spline["rms_clipped"] for spline in spline_rows
                                             if spline["clip_level"] == score["clip_level"]
                                             and spline["record"] in score["record_names"]]))
                score["ratio_to_spline"] = score["median_rms_clipped"] / reference if reference > 0 else math.nan
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


def markdown(rows: list[MethodRow], families: dict[str, list[str]], clip_levels: list[float], title: str,
             sort_by: str | None) -> str:
    """The models' table, then per family the median error and ratio to the spline per level, and
    the mean ΔSDR and records made worse per level."""
    evaluated = bool(families)
    header = ["method", *MODEL_COLUMNS, *families, *(["worse"] if evaluated else []), "differing choices"]
    lines = [f"# {title}", ""]
    if evaluated:
        lines += ["Family columns: the median over the family's records of the RMS error on the clipped samples "
                  "(÷ the true peak), divided by the spline's, averaged over the clip levels (below 1 beats the "
                  "spline); `worse`: records made worse than the clipped input, all families and levels.", ""]
    if sort_by:
        lines += [f"Sorted by `{sort_by}`.", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        summary = row.summary or {}
        cells = [row.label, *(_model_cell(summary, name) for name in MODEL_COLUMNS),
                 *(_ratio_cell(row.mean_ratio(family)) for family in families),
                 *([str(row.worse)] if evaluated else []), row.choices]
        lines.append("| " + " | ".join(cells) + " |")
    for family in families:
        lines += ["", f"## {family}: {len(families[family])} record files", "",
                  "Median RMS error on the clipped samples ÷ the true peak (÷ the spline's); the lowest in bold:", ""]
        lines += _level_table(rows, family, clip_levels, _median_cell)
        lines += ["", "Mean ΔSDR in dB, and records made worse than the clipped input:", ""]
        lines += _level_table(rows, family, clip_levels, lambda score, best: f"{score['delta_sdr_db']:+.1f}, "
                                                                           f"{score['worse']} of {score['records']}")
    return "\n".join(lines) + "\n"


def _median_cell(score: dict, best: float) -> str:
    median = f"{score['median_rms_clipped']:.4f}"
    if score["median_rms_clipped"] == best:
        median = f"**{median}**"
    return f"{median} ({score['ratio_to_spline']:.2f})"


def _level_table(rows: list[MethodRow], family: str, clip_levels: list[float],
                 cell: Callable[[dict, float], str]) -> list[str]:
    lines = ["| clip level | " + " | ".join(row.label for row in rows) + " |", "|---|" + "---:|" * len(rows)]
    for level in clip_levels:
        scores = [next((score for score in row.scores[family] if score["clip_level"] == level), None) for row in rows]
        present = [score["median_rms_clipped"] for score in scores if score is not None]
        if present:
            lines.append(f"| {level:g} | " + " | ".join("" if score is None else cell(score, min(present))
                                                       for score in scores) + " |")
    return lines


def csv_table(rows: list[MethodRow], families: list[str]) -> bytes:
    """One line per row, family and clip level (one per row without records), with the model's
    columns repeated."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        summary = row.summary or {}
        model_cells = [_csv_number(summary.get(name)) for name in MODEL_COLUMNS] + [row.choices]
        scores = [(family, score) for family in families for score in row.scores.get(family, [])]
        if not scores:
            writer.writerow([row.model, row.method, "", "", "", "", "", "", "", *model_cells])
        for family, score in scores:
            writer.writerow([row.model, row.method, family, f"{score['clip_level']:g}", score["records"],
                             _csv_number(score["median_rms_clipped"]), _csv_number(score["ratio_to_spline"]),
                             _csv_number(score["delta_sdr_db"]), score["worse"], *model_cells])
    return out.getvalue().encode()


def _csv_number(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def plot(rows: list[MethodRow], families: list[str], title: str) -> bytes:
    """A panel per family: each method's median error ÷ the spline's against the clip level."""
    # The Figure API: no pyplot state, and the caller's backend is left as it is.
    from matplotlib.figure import Figure

    columns = min(len(families), 3)
    panel_rows = -(-len(families) // columns)
    figure = Figure(figsize=(5.5 * columns, 4.2 * panel_rows))
    axes = figure.subplots(panel_rows, columns, squeeze=False).ravel()
    for axis, family in zip(axes, families):
        for row in rows:
            scores = row.scores[family]
            axis.plot([score["clip_level"] for score in scores], [score["ratio_to_spline"] for score in scores],
                      "o-" if row.model else "s--", label=row.label)
        axis.axhline(1.0, color="grey", linewidth=0.8)
        axis.set(xlabel="clip level (fraction of the true peak)", ylabel="median error ÷ spline's", title=family)
        axis.grid(alpha=0.3)
    for axis in axes[len(families):]:
        axis.set_visible(False)
    axes[0].legend(fontsize=8)
    return titled_png(figure, title)


# --- the command -------------------------------------------------------------------------------

def run_compare(model_dirs: list[str], records: list[str] | None = None, clip_levels: list[float] | None = None,
                sort_by: str | None = None, out_dir: str | None = None, stride: int | None = None,
                window: int | None = None, overwrite: bool = False, progress: bool = True,
                trust_definition: bool = False, cache_dir: str = DEFAULT_CACHE) -> list[MethodRow]:
    """Compare the models (and, with ``records``, the baselines) in one table; write compare.md,
    .csv, .png (with records) and .json to ``out_dir`` and print the models' table."""
    levels = checked_clip_levels(clip_levels)
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
        inputs = Inputs(families, hash_records([path for paths in families.values() for path in paths]), levels,
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
    rows = method_rows(models, model_rows, baseline_rows, levels, list(families), network_parameters)
    if sort_by is not None:
        rows = sorted_rows(rows, columns[sort_by])

    if families:
        record_count = sum(len(paths) for paths in families.values())
        title = (f"{', '.join(labels)} on {record_count} record files ({', '.join(families)}), "
                 f"clipped at {', '.join(f'{level:g}' for level in levels)}")
    else:
        title = f"{', '.join(labels)}: their manifests"
    table = markdown(rows, families, levels, title, sort_by)
    Path(out_dir).parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out_dir, "comparison folder"), atomic_directory(out_dir, overwrite=overwrite) as work:
        (work / "compare.md").write_text(table)
        (work / "compare.csv").write_bytes(csv_table(rows, list(families)))
        if families:
            (work / "compare.png").write_bytes(plot(rows, list(families), title))
        (work / "compare.json").write_bytes(dump_json({
            "kind": "seisclip comparison",
            "models": [{"label": model.label, "model_dir": model.given_path,
                        "manifest_sha256": (sha256_file(model.directory.manifest_path)
                                            if model.directory.manifest_path else None)} for model in models],
            "records": None if inputs is None else [{"path": path, "family": family, "sha256": inputs.record_sha256[path]}
                                                    for family, paths in families.items() for path in paths],
            "clip_levels": levels if families else None,
            "stride": stride, "window": window, "sort_by": sort_by,
            **run_record("numpy"),
        }))
    print(table.split("\n\n## ", 1)[0].rstrip("\n"))
    written = "compare.md, compare.csv" + (", compare.png" if families else "") + ", compare.json"
    print(f"-> {out_dir}/{written}", file=sys.stderr)
    return rows
