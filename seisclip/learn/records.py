"""What a finished run writes besides the network: its manifest with the test metrics and the
segment table, the history as CSV and its plot."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from ..bank.settings import DEFAULT_SAMPLING_RATE
from ..fsio import sha256_file
from ..provenance import manifest_path_for, run_record
from ..sets.pairs import SegmentPairs, in_batches
from ..sets.segments import SegmentSet
from ..sets.split import SPLIT_FRACTIONS, SPLIT_NAMES
from .definition import script_file_name
from .manifest import ModelManifest, TrainingParameters
from .quiet_tensorflow import CPU_SETTINGS, keras
from .resume import Progress
from .run import Run


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
            index.line_numbers.tolist(), index.istart.tolist(), index.clip_fraction.tolist(), index.paths)):
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


#: Test segments predicted at a time.
TEST_BATCH_SIZE = 1024


def test_metrics(model, pairs: SegmentPairs, positions: np.ndarray) -> dict[str, float]:
    """Errors of the model and of leaving the clipped input unchanged, in units of the true peak,
    summed batch by batch so that a streamed test split is never held whole."""
    sums = dict.fromkeys(("error", "abs_error", "clipped_error", "unchanged", "clipped_unchanged"), 0.0)
    samples = clipped_samples = 0
    for positions_of_batch in in_batches(positions, TEST_BATCH_SIZE):
        batch = pairs.pairs(positions_of_batch)
        predictions = np.asarray(model.predict_on_batch(batch.inputs))
        # Metrics in units of the true peak whatever the normalisation, so models compare.
        clip_fraction = pairs.clip_fraction[positions_of_batch]
        to_peak_units = (np.ones(len(clip_fraction)) if pairs.normalisation == "peak"
                         else clip_fraction / np.abs(batch.clipped).max(axis=1))[:, None]
        error = (predictions - batch.targets) * to_peak_units
        unchanged = (batch.clipped - batch.targets) * to_peak_units
        clipped = batch.status != 0
        sums["error"] += float(np.sum(error**2))
        sums["abs_error"] += float(np.sum(np.abs(error)))
        sums["clipped_error"] += float(np.sum(error[clipped] ** 2))
        sums["unchanged"] += float(np.sum(unchanged**2))
        sums["clipped_unchanged"] += float(np.sum(unchanged[clipped] ** 2))
        samples += error.size
        clipped_samples += int(clipped.sum())
    over_samples = samples or float("nan")   # no test segment: NaN, as np.mean of nothing
    return {
        "mse": sums["error"] / over_samples,
        "mae": sums["abs_error"] / over_samples,
        "mse_clipped_samples": sums["clipped_error"] / clipped_samples if clipped_samples else None,
        "clipped_input_mse": sums["unchanged"] / over_samples,
        "clipped_input_mse_clipped_samples": sums["clipped_unchanged"] / clipped_samples if clipped_samples else None,
        "segments": int(len(positions)),
    }


def model_manifest(run: Run, source, segments: SegmentSet, parts: dict[str, np.ndarray], progress: Progress,
                   test_metrics: dict, model_parameters: int, optimizer: dict) -> ModelManifest:
    """The finished run's manifest, but for what saving the model decides (its sha256, the wall time)."""
    config, definition, selection = run.config, run.definition, run.selection
    split_of_used = {int(segments.used[p]): split for split in SPLIT_NAMES for p in parts[split]}
    files, rows = segment_table(segments, split_of_used)
    choices = definition.record()
    parameters = TrainingParameters(
        segment_length=config.segment_length,
        sbrl=config.sbrl,
        inputs=choices["inputs"],
        normalisation=choices["normalisation"],
        custom_functions=choices["custom_functions"],
        augmentation=choices["augmentation"],
        optimizer_function=choices["optimizer_function"],
        callbacks_function=choices["callbacks_function"],
        min_peak_counts=config.min_peak_counts,
        clip_level_range=((selection or {}).get("clip_level_range")
                          or [float(run.index.clip_fraction.min()), float(run.index.clip_fraction.max())]),
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        optimizer=optimizer,
        split_fractions=dict(zip(SPLIT_NAMES, SPLIT_FRACTIONS)),
        hyperparameters=run.hyperparameters,
        strict=config.strict,
        stream=config.stream,
        # The rate the network knows waveforms at: restore refuses (or resamples) another.
        sampling_rate=source.bank.sampling_rate if config.bank is not None else DEFAULT_SAMPLING_RATE,
    )
    return ModelManifest(
        model_name=run.name,
        definition=definition.name,
        definition_file=os.path.basename(definition.source_file),
        definition_sha256=sha256_file(definition.source_file),
        imported_definitions=[{"name": name, "file": path.name, "sha256": sha256_file(path)}
                              for name, path in definition.imported.items()],
        started_from=(None if definition.started_from is None else
                      {"name": definition.started_from[0], "file": script_file_name(definition.started_from[0]),
                       "sha256": definition.started_from[1]}),
        model_sha256=None,
        set_name=config.set_name,
        index_file=str(run.index_path),
        index_file_resolved=os.path.realpath(run.index_path),
        index_sha256=run.index.sha256,
        selection_manifest=str(manifest_path_for(run.index_path)) if selection else None,
        selection_manifest_sha256=run.selection_sha256,
        selection_seed=selection.get("seed") if selection else None,
        bank=(source.bank.provenance() if config.bank is not None
              else {"kind": "ascii", "ASCII_file_dir": selection.get("ASCII_file_dir") if selection else None}),
        parameters=parameters,
        seed=run.seed,
        seed_source="given" if config.seed is not None else f"derived from the model name {run.name!r}",
        determinism="keras.utils.set_random_seed(seed) and tf.config.experimental.enable_op_determinism()",
        batch_order="epoch e visits the train split in the order numpy.random.default_rng([seed, e]).permutation, "
                    "in consecutive batches of batch_size",
        distribution=run.distribution.record(),
        segment_counts={"index_lines": len(run.index), "used": len(segments.used),
                        **{split: int(len(parts[split])) for split in SPLIT_NAMES}},
        skipped=dict(segments.skipped),
        history=progress.history,
        epochs_trained=len(progress.history.get("loss", [])),
        resumed_after_epochs=progress.resumed_after,
        test_metrics=test_metrics,
        model_parameters=model_parameters,
        working_directory=os.getcwd(),
        run=run_record("numpy", "keras", "tensorflow") | {
            "tensorflow_cpu_settings": {name: os.environ.get(name) for name in CPU_SETTINGS}},
        wall_time_s=None,
        files=files,
        segments={"columns": ["index_line", "istart", "rscale", "file", "split"], "rows": rows},
    )


def optimizer_record(optimizer) -> dict:
    """The optimizer's class and Keras configuration (its learning-rate schedule included)."""
    config = json.loads(json.dumps(keras.optimizers.serialize(optimizer), default=repr))
    return {"class": type(optimizer).__name__, "config": config}
