"""Everything a ``create_and_train_model_defNNN.py`` script does not change.

A definition script supplies a name, a model builder, a loss and hyper-parameters, then calls
:func:`train_definition`, which parses the user's flags, loads the index file's segments (each
waveform file read once), splits them 70/15/15 with a recorded seed, trains deterministically,
and writes ``models/<STEM>_<def>/`` (or ``<STEM>_sbrl_<def>``) atomically with the model, its
manifest, the training history, a plot of it and a copy of the definition script.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import io
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .cli import ArgumentParser, run_guarded
from .datasets import SegmentSet, load_segments
from .errors import SeisclipError
from .fsio import atomic_directory, refuse_existing, sha256_file
from .index import read_index
from .labels import DEFAULT_MIN_PEAK, make_training_pairs
from .models import DEFINITION_COPY, MANIFEST_FILE, MODEL_FILE
from .provenance import dump_json, manifest_path_for, read_manifest, run_record
from .selection import derive_seed

SPLIT_NAMES = ("train", "validation", "test")
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
#: Targets are segments divided by their true (unclipped) peak.
NORMALISATION = "peak"
MAX_TRAINING_SEED = 2**32


@dataclass(frozen=True)
class Definition:
    """What one ``create_and_train_model_defNNN.py`` script defines."""

    name: str
    build_model: Callable[[int], Any]
    loss: Callable[[Any, Any], Any]
    hyperparameters: dict[str, Any]
    source_file: str


@keras.saving.register_keras_serializable(package="seisclip")
def restored_mse(target, prediction):
    """Mean squared error of the restored segment (target[..., 0] is the truth)."""
    return ops.mean(ops.square(prediction - target[..., 0]), axis=-1)


@keras.saving.register_keras_serializable(package="seisclip")
def restored_mae(target, prediction):
    """Mean absolute error of the restored segment."""
    return ops.mean(ops.abs(prediction - target[..., 0]), axis=-1)


def model_name(segdefname: str, definition: str, sbrl: bool) -> str:
    return f"{segdefname}_sbrl_{definition}" if sbrl else f"{segdefname}_{definition}"


def split_positions(n: int, seed: int) -> dict[str, np.ndarray]:
    """Positions 0..n-1 shuffled with ``seed`` and cut 70/15/15; each part sorted."""
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(SPLIT_FRACTIONS[0] * n))
    n_validation = int(round(SPLIT_FRACTIONS[1] * n))
    parts = (order[:n_train], order[n_train:n_train + n_validation], order[n_train + n_validation:])
    return {name: np.sort(part) for name, part in zip(SPLIT_NAMES, parts)}


def _packed_target(targets: np.ndarray, status: np.ndarray) -> np.ndarray:
    """Losses see the status beside the truth: target[..., 0] = truth, target[..., 1] = status."""
    return np.stack([targets, status.astype(np.float32)], axis=-1)


def _parse_args(definition: Definition, argv: Sequence[str] | None) -> argparse.Namespace:
    hp = definition.hyperparameters
    parser = ArgumentParser(
        prog=os.path.basename(definition.source_file),
        description=f"Train model definition {definition.name} on an index file and save it under models/.")
    parser.add_argument("--number_of_consecutive_samples", type=int, required=True, metavar="L",
                        help="segment length; must be the one the index file was drawn with")
    parser.add_argument("--segdefname", required=True, metavar="STEM",
                        help="index file stem, e.g. set00001_256_40000 for indices_files/set00001_256_40000.txt")
    parser.add_argument("--indices_dir", default="indices_files", help="folder of index files (default indices_files)")
    parser.add_argument("--models_dir", default="models", help="folder of model directories (default models)")
    parser.add_argument("--epochs", type=int, default=hp["epochs"], help=f"default {hp['epochs']}")
    parser.add_argument("--batch_size", type=int, default=hp["batch_size"], help=f"default {hp['batch_size']}")
    parser.add_argument("--learning_rate", type=float, default=hp["learning_rate"], help=f"default {hp['learning_rate']}")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the split, the initial weights and the shuffling (default: derived from the model name)")
    parser.add_argument("--sbrl", action="store_true", help="scale each clipped run's status by its length")
    parser.add_argument("--min_peak", type=float, default=DEFAULT_MIN_PEAK,
                        help=f"skip segments whose peak |count| is below this (default {DEFAULT_MIN_PEAK:g})")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model directory")
    parser.add_argument("--strict", action="store_true", help="a segment that would be skipped is an error")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    args = parser.parse_args(argv)
    for flag in ("number_of_consecutive_samples", "epochs", "batch_size"):
        if getattr(args, flag) <= 0:
            parser.error(f"--{flag} must be a positive integer, got {getattr(args, flag)}")
    if args.seed is not None and not 0 <= args.seed < MAX_TRAINING_SEED:
        parser.error(f"--seed must be an integer in [0, 2**32 - 1] (TensorFlow's range), got {args.seed}")
    if not args.learning_rate > 0:
        parser.error(f"--learning_rate must be positive, got {args.learning_rate}")
    return args


def _selection_manifest(index_path: Path, index_sha256: str, segment_length: int) -> tuple[dict | None, str | None]:
    """The index file's selection manifest, checked against the index; ``(None, None)`` if there is none."""
    path = manifest_path_for(index_path)
    if not path.exists():
        print(f"warning: {path} not found: the model's provenance stops at the index file", file=sys.stderr)
        return None, None
    manifest = read_manifest(path)
    if manifest.get("index_sha256") != index_sha256:
        raise SeisclipError(f"index file changed after its manifest {path} was written (sha256 differs); "
                            "draw a new set instead of editing one", index_path)
    made_with = manifest.get("segment_length")
    if made_with != segment_length:
        raise SeisclipError(f"index file was drawn with segments of {made_with} samples, "
                            f"not the {segment_length} asked for", index_path)
    return manifest, sha256_file(path)


def _segment_table(segments: SegmentSet, split_of_used: dict[int, str]) -> tuple[list[dict], list[list]]:
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


def _history_csv(history: dict[str, list[float]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    keys = list(history)
    writer.writerow(["epoch", *keys])
    for epoch in range(len(history[keys[0]])):
        writer.writerow([epoch + 1, *(f"{history[key][epoch]:.8g}" for key in keys)])
    return out.getvalue().encode()


def _plot_history(history: dict[str, list[float]], title: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, metric in zip(axes, ("loss", "restored_mse")):
        for prefix, style in (("", "-o"), ("val_", "--s")):
            if prefix + metric in history:
                axis.plot(epochs, history[prefix + metric], style, label=(prefix or "train_").rstrip("_"))
        axis.set(xlabel="epoch", ylabel=metric, yscale="log", title=metric)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _test_metrics(predictions: np.ndarray, inputs: np.ndarray, targets: np.ndarray, status: np.ndarray) -> dict[str, float]:
    clipped = status != 0
    error = predictions - targets
    unchanged = inputs[..., 0] - targets
    return {
        "mse": float(np.mean(error**2)),
        "mae": float(np.mean(np.abs(error))),
        "mse_clipped_samples": float(np.mean(error[clipped] ** 2)) if clipped.any() else None,
        "clipped_input_mse": float(np.mean(unchanged**2)),
        "clipped_input_mse_clipped_samples": float(np.mean(unchanged[clipped] ** 2)) if clipped.any() else None,
        "segments": int(len(targets)),
    }


def train(definition: Definition, args: argparse.Namespace) -> dict[str, Any]:
    """Train ``definition`` as ``args`` ask and write the model directory; return its manifest."""
    started = time.time()
    length = args.number_of_consecutive_samples
    name = model_name(args.segdefname, definition.name, args.sbrl)
    model_dir = Path(args.models_dir) / name
    index_path = Path(args.indices_dir) / f"{args.segdefname}.txt"
    index = read_index(index_path)
    selection, selection_sha256 = _selection_manifest(index_path, index.sha256, length)
    if not args.overwrite:
        refuse_existing(model_dir, "model directory")
    seed = derive_seed(name, bits=32) if args.seed is None else args.seed

    segments = load_segments(index, length, min_peak=args.min_peak, strict=args.strict, progress=not args.quiet)
    print(f"{index_path}: {segments.summary()}", file=sys.stderr)
    if len(segments.used) < 3:
        raise SeisclipError(f"only {len(segments.used)} usable segments; need at least 3 to split", index_path)
    inputs, targets, status = make_training_pairs(segments.segments, index.rscale[segments.used], sbrl=args.sbrl)
    packed = _packed_target(targets, status)
    parts = split_positions(len(segments.used), seed)

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = definition.build_model(length)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss=definition.loss,
                  metrics=[restored_mse, restored_mae])
    train_part, validation_part, test_part = (parts[name_] for name_ in SPLIT_NAMES)
    fit = model.fit(inputs[train_part], packed[train_part],
                    validation_data=(inputs[validation_part], packed[validation_part]) if len(validation_part) else None,
                    epochs=args.epochs, batch_size=args.batch_size, shuffle=True, verbose=0 if args.quiet else 2)
    history = {key: [float(v) for v in values] for key, values in fit.history.items()}
    predictions = model.predict(inputs[test_part], batch_size=1024, verbose=0)
    test_metrics = _test_metrics(predictions, inputs[test_part], targets[test_part], status[test_part])

    split_of_used = {int(segments.used[p]): split for split in SPLIT_NAMES for p in parts[split]}
    files, rows = _segment_table(segments, split_of_used)
    manifest = {
        "kind": "seisclip model",
        "format_version": 1,
        "model_name": name,
        "definition": definition.name,
        "definition_file": os.path.basename(definition.source_file),
        "definition_sha256": sha256_file(definition.source_file),
        "segdefname": args.segdefname,
        "index_file": str(index_path),
        "index_file_resolved": os.path.realpath(index_path),
        "index_sha256": index.sha256,
        "selection_manifest": str(manifest_path_for(index_path)) if selection else None,
        "selection_manifest_sha256": selection_sha256,
        "selection_seed": selection.get("seed") if selection else None,
        "bank": {"kind": "ascii", "ASCII_file_dir": selection.get("ASCII_file_dir") if selection else None},
        "parameters": {
            "segment_length": length,
            "sbrl": args.sbrl,
            "normalisation": NORMALISATION,
            "min_peak": args.min_peak,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "optimizer": "Adam",
            "split_fractions": dict(zip(SPLIT_NAMES, SPLIT_FRACTIONS)),
            "hyperparameters": definition.hyperparameters,
            "strict": args.strict,
        },
        "seed": seed,
        "seed_source": "given" if args.seed is not None else f"derived from the model name {name!r}",
        "determinism": "keras.utils.set_random_seed(seed) and tf.config.experimental.enable_op_determinism()",
        "segment_counts": {"index_lines": len(index), "used": len(segments.used),
                           **{split: int(len(parts[split])) for split in SPLIT_NAMES}},
        "skipped": dict(segments.skipped),
        "history": history,
        "test_metrics": test_metrics,
        "model_parameters": int(model.count_params()),
        "working_directory": os.getcwd(),
        **run_record("numpy", "keras", "tensorflow"),
        "wall_time_s": None,
        "files": files,
        "segments": {"columns": ["index_line", "istart", "rscale", "file", "split"], "rows": rows},
    }

    with atomic_directory(model_dir, overwrite=args.overwrite) as work:
        # Saved uncompiled: the training loss is recorded in definition.py and the manifest, and
        # plain keras.models.load_model then needs nothing but the model's own layers.
        inference_model = type(model).from_config(model.get_config())
        inference_model.set_weights(model.get_weights())
        inference_model.save(work / MODEL_FILE)
        shutil.copyfile(definition.source_file, work / DEFINITION_COPY)
        (work / "history.csv").write_bytes(_history_csv(history))
        _plot_history(history, name, work / "training_curves.png")
        manifest["wall_time_s"] = round(time.time() - started, 3)
        (work / MANIFEST_FILE).write_bytes(dump_json(manifest))

    print(f"{model_dir}: test MSE {test_metrics['mse']:.5f}, MAE {test_metrics['mae']:.5f} "
          f"(clipped input unchanged: MSE {test_metrics['clipped_input_mse']:.5f}) on {test_metrics['segments']} "
          f"test segments; {manifest['wall_time_s']:.1f} s", file=sys.stderr)
    return manifest


def train_definition(name: str, build_model: Callable, loss: Callable, hyperparameters: dict[str, Any],
                     argv: Sequence[str] | None = None) -> int:
    """Entry point of a definition script: train with the command-line flags, exit status 0 or 1."""
    definition = Definition(name=name, build_model=build_model, loss=loss,
                            hyperparameters=dict(hyperparameters),
                            source_file=inspect.getsourcefile(build_model) or sys.argv[0])
    args = _parse_args(definition, argv)

    def run() -> int:
        train(definition, args)
        return 0

    return run_guarded(run, os.path.basename(definition.source_file))
