"""Everything a ``create_and_train_model_defNNN.py`` script does not change.

A definition script supplies a name, a model builder, a loss and hyper-parameters, then calls
:func:`train_definition`, which parses the user's flags, loads the index file's segments (each
waveform file read once), splits them 70/15/15 with a recorded seed, trains deterministically,
and writes ``models/<STEM>_<def>/`` (or ``<STEM>_sbrl_<def>``) atomically with the model, its
manifest, the training history, a plot of it and a copy of the definition script.

After every epoch the model's and the optimizer's state and the history so far are saved in a
hidden working folder beside the model directory, ``.<name>.work/``, so that a run interrupted
at any moment continues with ``--resume`` from its last completed epoch, to the same weights.

``--strategy`` picks the ``tf.distribute`` strategy (one device, every GPU of the machine, or a
cluster of machines described by ``TF_CONFIG``) and ``--precision`` the Keras dtype policy. In a
cluster only the chief writes: its lock, its working folder and the model directory; the other
workers train in lockstep with it and write nothing.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import io
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .cli import ArgumentParser, run_guarded, set_name
from .datasets import AsciiFolder, SegmentSet, load_segments
from .errors import SeisclipError
from .fsio import (atomic_directory, atomic_file, output_lock, refuse_existing, remove_stale_temporaries,
                   sha256_file, temporary_prefix)
from .hdf5_bank import BankSource
from .index import read_index
from .labels import DEFAULT_MIN_PEAK, NORMALISATIONS
from .models import DEFINITION_COPY, MANIFEST_FILE, MODEL_FILE
from .pairs import SegmentPairs, batch_count, in_batches
from .provenance import dump_json, manifest_path_for, read_manifest, run_record
from .quiet_tensorflow import keras, tf
from .split import (MAX_TRAINING_SEED, SPLIT_FRACTIONS, SPLIT_NAMES, default_seed, model_name,
                    read_selection_manifest, split_positions)
from .streaming import ordered_dataset, training_dataset

#: Test segments predicted at a time.
TEST_BATCH_SIZE = 1024
#: In the working folder: the arguments of the run, and its state after the last completed epoch.
ARGUMENTS_FILE = "arguments.json"
CHECKPOINT_FILE = "checkpoint.npz"
STRATEGIES = ("default", "mirrored", "multiworker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host0:12345", "host1:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


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
    """Mean squared error of the restored segment (target[..., 0] is the truth), in the target's
    float32 also when a mixed precision model predicts in float16 (Keras casts for losses, not metrics)."""
    return keras.ops.mean(keras.ops.square(keras.ops.cast(prediction, target.dtype) - target[..., 0]), axis=-1)


@keras.saving.register_keras_serializable(package="seisclip")
def restored_mae(target, prediction):
    """Mean absolute error of the restored segment, in float32 like :func:`restored_mse`."""
    return keras.ops.mean(keras.ops.abs(keras.ops.cast(prediction, target.dtype) - target[..., 0]), axis=-1)


def _parse_args(definition: Definition, argv: Sequence[str] | None) -> argparse.Namespace:
    hp = definition.hyperparameters
    parser = ArgumentParser(
        prog=os.path.basename(definition.source_file),
        description=f"Train model definition {definition.name} on an index file and save it under models/.")
    parser.add_argument("--number_of_consecutive_samples", type=int, required=True, metavar="L",
                        help="segment length; must be the one the index file was drawn with")
    parser.add_argument("--segdefname", required=True, metavar="STEM", type=set_name,
                        help="index file stem, e.g. set00001_256_40000 for indices_files/set00001_256_40000.txt")
    parser.add_argument("--indices_dir", default="indices_files", help="folder of index files (default indices_files)")
    parser.add_argument("--models_dir", default="models", help="folder of model directories (default models)")
    parser.add_argument("--epochs", type=int, default=hp["epochs"], help=f"default {hp['epochs']}")
    parser.add_argument("--batch_size", type=int, default=hp["batch_size"],
                        help="global batch size: the segments of one training step, split over all replicas "
                             f"(every GPU of every worker) (default {hp['batch_size']})")
    parser.add_argument("--learning_rate", type=float, default=hp["learning_rate"], help=f"default {hp['learning_rate']}")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the split, the initial weights and the shuffling (default: derived from the model name)")
    parser.add_argument("--sbrl", action="store_true", help="scale each clipped run's status by its length")
    parser.add_argument("--min_peak", type=float, default=DEFAULT_MIN_PEAK,
                        help=f"skip segments whose peak |count| is below this (default {DEFAULT_MIN_PEAK:g})")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model directory")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run of this model from its last completed epoch (its checkpoint "
                             "in MODELS_DIR/.NAME.work/), with the same arguments")
    parser.add_argument("--strict", action="store_true", help="a segment that would be skipped is an error")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    parser.add_argument("--bank", default=None, metavar="BANK.h5",
                        help="read the index lines' waveforms from this HDF5 bank (seisclip bank ingest) "
                             "instead of the ASCII files")
    parser.add_argument("--stream", action="store_true",
                        help="read segments from --bank a batch at a time instead of holding them all "
                             "(for sets larger than memory; same batches as without it)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="default",
                        help="default: one device (the first GPU if one is visible, else the CPU); mirrored: every "
                             "GPU of this machine (tf.distribute.MirroredStrategy); multiworker: several machines, "
                             "each running this command with its own TF_CONFIG, the chief writing the model "
                             "(tf.distribute.MultiWorkerMirroredStrategy) (default default)")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="Keras dtype policy while training: mixed_float16 for GPUs, mixed_bfloat16 for TPUs "
                             "and recent GPUs and CPUs; the saved model is float32 whatever this is (default float32)")
    args = parser.parse_args(argv)
    if args.stream and args.bank is None:
        parser.error("--stream reads from an HDF5 bank: give --bank BANK.h5")
    for flag in ("number_of_consecutive_samples", "epochs", "batch_size"):
        if getattr(args, flag) <= 0:
            parser.error(f"--{flag} must be a positive integer, got {getattr(args, flag)}")
    if args.seed is not None and not 0 <= args.seed < MAX_TRAINING_SEED:
        parser.error(f"--seed must be an integer in [0, 2**32 - 1] (TensorFlow's range), got {args.seed}")
    if not args.learning_rate > 0:
        parser.error(f"--learning_rate must be positive, got {args.learning_rate}")
    return args


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in the cluster of a ``--strategy multiworker`` run, from ``TF_CONFIG``."""

    cluster: dict[str, list[str]]
    task_type: str
    task_index: int

    @property
    def workers(self) -> int:
        """Processes training together, the chief included."""
        return sum(len(addresses) for addresses in self.cluster.values())

    @property
    def is_chief(self) -> bool:
        """The task of type "chief", or worker 0 when the cluster has no chief (TensorFlow's rule)."""
        return self.task_type == "chief" or ("chief" not in self.cluster and self.task_index == 0)


def read_tf_config(text: str | None) -> ClusterTask:
    """The cluster and task that ``TF_CONFIG`` (its text, None when unset) describes, checked."""
    def malformed(problem: str) -> SeisclipError:
        return SeisclipError(f"{problem}; expected e.g. {TF_CONFIG_EXAMPLE}", "TF_CONFIG")

    if not text:
        raise malformed("not set: --strategy multiworker reads the cluster and this task from it")
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise SeisclipError(f"not JSON ({exc})", "TF_CONFIG") from None
    if not (isinstance(config, dict) and isinstance(config.get("cluster"), dict)
            and isinstance(config.get("task"), dict)):
        raise malformed('needs a "cluster" object and a "task" object')
    cluster, task = config["cluster"], config["task"]
    if not cluster or not set(cluster) <= {"chief", "worker"}:
        raise malformed(f'"cluster" must list "worker" (and at most one "chief") addresses, not {sorted(cluster)}')
    for job, addresses in cluster.items():
        if not (isinstance(addresses, list) and addresses and all(isinstance(a, str) and a for a in addresses)):
            raise malformed(f'"cluster" "{job}" must be a list of "host:port" addresses')
    if len(cluster.get("chief", [])) > 1:
        raise malformed('"cluster" has more than one "chief"')
    task_type, task_index = task.get("type"), task.get("index")
    if task_type not in cluster:
        raise malformed(f'"task" "type" {task_type!r} is not a job of "cluster"')
    if not (type(task_index) is int and 0 <= task_index < len(cluster[task_type])):
        raise malformed(f'"task" "index" {task_index!r} is not the index of one of the {len(cluster[task_type])} '
                        f'"{task_type}" addresses')
    return ClusterTask(cluster, task_type, task_index)


@dataclass(frozen=True)
class Distribution:
    """How a run trains: its ``tf.distribute`` strategy, the devices of this process it uses, its
    dtype policy and, in a multiworker run, this process's task."""

    strategy_name: str
    strategy: Any
    devices: list[str]
    precision: str
    task: ClusterTask | None

    @property
    def is_chief(self) -> bool:
        return self.task is None or self.task.is_chief

    @property
    def workers(self) -> int:
        return 1 if self.task is None else self.task.workers

    @property
    def replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)

    def summary(self) -> str:
        def count(n: int, noun: str) -> str:
            return f"{n} {noun}{'s' if n != 1 else ''}"

        if self.task is None:
            line = f"training on {count(self.replicas, 'replica')}: {', '.join(self.devices)}"
        else:
            line = (f"training on {count(self.replicas, 'replica')} over {count(self.workers, 'worker')}; "
                    f"{self.task.task_type} {self.task.task_index} here: {', '.join(self.devices)}")
        if self.strategy_name != "default" and not any("GPU" in device for device in self.devices):
            line += f" (no GPU visible: --strategy {self.strategy_name} uses the CPU)"
        return line

    def record(self) -> dict[str, Any]:
        """The manifest's account of the run's distribution (``devices``: the chief's)."""
        return {"strategy": self.strategy_name, "replicas": self.replicas, "workers": self.workers,
                "task": None if self.task is None else {"type": self.task.task_type, "index": self.task.task_index},
                "cluster": None if self.task is None else self.task.cluster,
                "devices": self.devices, "precision": self.precision}


def start_distribution(strategy_name: str, precision: str) -> Distribution:
    """Create the strategy ``--strategy`` names. Call it before anything runs a TensorFlow op:
    MultiWorkerMirroredStrategy must configure the runtime first (and it waits here until every
    worker of the cluster has started)."""
    task = None
    if strategy_name == "multiworker":
        task = read_tf_config(os.environ.get("TF_CONFIG"))
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        devices = list(strategy.extended.worker_devices)
    elif strategy_name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
        devices = list(strategy.extended.worker_devices)
    else:
        strategy = tf.distribute.get_strategy()
        # Without a strategy TensorFlow places ops on the first GPU if one is visible.
        device = (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU"))[0]
        devices = [tf.DeviceSpec.from_string(device.name).replace(job="localhost", replica=0, task=0).to_string()]
    return Distribution(strategy_name, strategy, devices, precision, task)


def _work_around_keras_multi_worker_fit(model, segment_length: int) -> None:
    """Let ``fit`` run under MultiWorkerMirroredStrategy with several workers, where Keras 3 (3.15,
    TensorFlow backend) fails twice: it builds the model from the first batch after
    ``strategy.reduce`` of the (inputs, targets) pair, and that strategy cannot reduce a pair; and
    it reduces each step's scalar logs with ``reduce(MEAN, axis=0)``, and a scalar has no axis 0.
    So build the model, loss, metrics and optimizer here from the known batch shapes, skip
    fit's own build, and give the step logs an axis of length one (their mean over replicas is
    then what Keras logs). The epoch logs, which the history records, come from the metrics,
    summed over every replica, and are not affected. Call it inside the strategy's scope."""
    batch = np.zeros((1, segment_length, 2), np.float32)
    model._symbolic_build(data_batch=(batch, batch))
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    for step_name in ("train_step", "test_step"):
        step = getattr(model, step_name)
        setattr(model, step_name,
                lambda data, step=step: keras.tree.map_structure(lambda log: keras.ops.expand_dims(log, 0), step(data)))


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


def _test_metrics(model, pairs: SegmentPairs, positions: np.ndarray) -> dict[str, float]:
    """Errors of the model and of leaving the clipped input unchanged, in units of the true peak,
    summed batch by batch so that a streamed test split is never held whole."""
    sums = dict.fromkeys(("error", "abs_error", "clipped_error", "unchanged", "clipped_unchanged"), 0.0)
    samples = clipped_samples = 0
    for batch in in_batches(positions, TEST_BATCH_SIZE):
        inputs, _, targets, status = pairs.pairs(batch)
        predictions = np.asarray(model.predict_on_batch(inputs))
        # Metrics in units of the true peak whatever the normalisation, so models compare.
        to_peak_units = (pairs.rscale[batch] if pairs.normalisation == "clip" else np.ones(len(batch)))[:, None]
        error = (predictions - targets) * to_peak_units
        unchanged = (inputs[..., 0] - targets) * to_peak_units
        clipped = status != 0
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


def working_folder(model_dir: Path) -> Path:
    """Where a run keeps its checkpoint until its model directory is complete: ``.<name>.work`` beside it."""
    return model_dir.with_name(f".{model_dir.name}.work")


@dataclass
class Progress:
    """A run's state after its last completed epoch, as its checkpoint holds it."""

    completed_epochs: int
    history: dict[str, list[float]]
    resumed_after: list[int]          # the completed epochs earlier runs were resumed from
    model_values: list[np.ndarray]
    optimizer_values: list[np.ndarray]


def _save_checkpoint(path: Path, model, progress: Progress) -> None:
    """All of the model's variables (its weights and the layers' random-seed states) and the
    optimizer's (step count, moments), with the history, in one file replaced atomically."""
    state = json.dumps({"completed_epochs": progress.completed_epochs, "history": progress.history,
                        "resumed_after": progress.resumed_after})
    arrays = {f"model_{i:05d}": np.asarray(variable) for i, variable in enumerate(model.variables)}
    arrays.update({f"optimizer_{i:05d}": np.asarray(variable) for i, variable in enumerate(model.optimizer.variables)})
    with atomic_file(path, overwrite=True) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, state=np.frombuffer(state.encode(), dtype=np.uint8), **arrays)


def _read_checkpoint(path: Path) -> Progress:
    try:
        with np.load(path) as data:
            state = json.loads(data["state"].tobytes())
            values = {prefix: [data[key] for key in sorted(data.files) if key.startswith(prefix)]
                      for prefix in ("model_", "optimizer_")}
        return Progress(state["completed_epochs"], state["history"], state["resumed_after"],
                        values["model_"], values["optimizer_"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise SeisclipError(f"checkpoint cannot be read ({exc}); remove its folder to start again", path) from None


def _restore_checkpoint(model, progress: Progress, path: Path) -> None:
    model.optimizer.build(model.trainable_variables)
    for variables, values in ((model.variables, progress.model_values),
                              (model.optimizer.variables, progress.optimizer_values)):
        if [tuple(v.shape) for v in variables] != [value.shape for value in values]:
            raise SeisclipError("checkpoint does not fit the model the definition builds; "
                                "remove its folder to start again", path)
        for variable, value in zip(variables, values):
            variable.assign(value)


class Checkpoint(keras.callbacks.Callback):
    """Saves the run's progress in the working folder at the end of every epoch."""

    def __init__(self, path: Path, progress: Progress):
        super().__init__()
        self.path = path
        self.progress = progress

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.progress.history.setdefault(key, []).append(float(value))
        self.progress.completed_epochs = epoch + 1
        _save_checkpoint(self.path, self.model, self.progress)


def _run_arguments(definition: Definition, args: argparse.Namespace, name: str, seed: int, index_sha256: str) -> dict:
    """Everything that decides the trained weights: a resumed run must have all of it unchanged."""
    return {
        "model_name": name,
        "definition": definition.name,
        "definition_sha256": sha256_file(definition.source_file),
        "index_sha256": index_sha256,
        "segment_length": args.number_of_consecutive_samples,
        "sbrl": args.sbrl,
        "min_peak": args.min_peak,
        "strict": args.strict,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": seed,
        "bank": args.bank,
        "stream": args.stream,
        "strategy": args.strategy,
        "precision": args.precision,
    }


def _discard(work: Path, model_dir: Path) -> None:
    """Remove a working folder, renamed first to a temporary name of the model's (onto an empty
    folder made for it), so that an interruption while deleting leaves only what the next run removes."""
    doomed = tempfile.mkdtemp(prefix=temporary_prefix(model_dir), suffix=".tmp", dir=model_dir.parent)
    os.rename(work, doomed)
    shutil.rmtree(doomed)


def _finished(work: Path, model_dir: Path) -> bool:
    """Whether ``work`` is the working folder of the run that wrote ``model_dir``: a run killed just
    after its model directory took its name leaves it (the two histories are equal)."""
    checkpoint, manifest = work / CHECKPOINT_FILE, model_dir / MANIFEST_FILE
    if not (checkpoint.is_file() and manifest.is_file()):
        return False
    try:
        return read_manifest(manifest).get("history") == _read_checkpoint(checkpoint).history
    except SeisclipError:   # not this model's: left for the checks that follow to report
        return False


def _discard_if_finished(work: Path, model_dir: Path) -> None:
    """Remove the working folder of the run that wrote ``model_dir``. Any other is kept."""
    if _finished(work, model_dir):
        _discard(work, model_dir)


def _progress_to_resume(work: Path, model_dir: Path, arguments: dict, resume: bool, chief: bool) -> Progress | None:
    """The progress an interrupted run of this model saved, if ``resume``; None to start from the
    first epoch. A working folder without a completed epoch holds nothing to resume and is removed.

    Only the chief changes the working folder. The other workers of a multiworker run read the
    chief's checkpoint, before the chief can write again (that needs them to train an epoch with
    it), and ignore the checkpoint of a finished run, which the chief removes."""
    checkpoint = work / CHECKPOINT_FILE
    if chief:
        remove_stale_temporaries(checkpoint)
    if not checkpoint.is_file() or (not chief and _finished(work, model_dir)):
        if chief and work.exists():
            _discard(work, model_dir)
        if resume:
            print(f"note: no interrupted run of {model_dir} to resume; training from the first epoch", file=sys.stderr)
        return None
    progress = _read_checkpoint(checkpoint)
    if not resume:
        raise SeisclipError(f"an interrupted run left its checkpoint after epoch {progress.completed_epochs} "
                            f"in {work}: add --resume to continue it, or remove that folder to start again", model_dir)
    recorded = read_manifest(work / ARGUMENTS_FILE)
    differences = [f"{key} {recorded.get(key)!r}, not {value!r}" for key, value in arguments.items()
                   if recorded.get(key) != value]
    if differences:
        raise SeisclipError(f"--resume: the interrupted run in {work} had {'; '.join(differences)}; resume it with "
                            "its own arguments, or remove that folder to start again", model_dir)
    progress.resumed_after.append(progress.completed_epochs)
    print(f"resuming {model_dir} after epoch {progress.completed_epochs} of {arguments['epochs']}", file=sys.stderr)
    return progress


def train(definition: Definition, args: argparse.Namespace) -> dict[str, Any] | None:
    """Train ``definition`` as ``args`` ask and write the model directory; return its manifest
    (None on the workers of a multiworker run other than the chief, which write nothing).

    The chief (any run but those workers) holds the model directory's lock from the existence
    check to the end, so a second run of the same model fails at once."""
    started = time.time()
    distribution = start_distribution(args.strategy, args.precision)
    length = args.number_of_consecutive_samples
    name = model_name(args.segdefname, definition.name, args.sbrl)
    model_dir = Path(args.models_dir) / name
    index_path = Path(args.indices_dir) / f"{args.segdefname}.txt"
    index = read_index(index_path)
    selection, selection_sha256 = read_selection_manifest(index_path, index.sha256, length)
    drawn_from = (selection or {}).get("bank")
    if drawn_from and args.bank is None:
        raise SeisclipError(f"index file was drawn from the HDF5 bank {drawn_from.get('path')}: "
                            f"add --bank {drawn_from.get('path')}", index_path)
    run = (definition, args, distribution, started, index_path, index, selection, selection_sha256)
    if not distribution.is_chief:
        return _run_training(*run)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(model_dir, "model directory"):
        remove_stale_temporaries(working_folder(model_dir))
        return _run_training(*run)


def _float32_copy(definition: Definition, segment_length: int, model):
    """The trained model rebuilt by its definition outside any strategy's scope, under the float32
    policy, with the trained weights: the test metrics and model.keras come from it, so a saved
    model is plain float32 whatever the strategy and precision, and no worker waits on another
    after fit. Call it with the float32 policy set."""
    copy = definition.build_model(segment_length)
    copy.set_weights(model.get_weights())
    return copy


def _run_training(definition: Definition, args: argparse.Namespace, distribution: Distribution, started: float,
                  index_path: Path, index, selection: dict | None,
                  selection_sha256: str | None) -> dict[str, Any] | None:
    length = args.number_of_consecutive_samples
    name = model_name(args.segdefname, definition.name, args.sbrl)
    model_dir = Path(args.models_dir) / name
    working = working_folder(model_dir)
    chief = distribution.is_chief
    if chief:
        _discard_if_finished(working, model_dir)
    if not args.overwrite:
        refuse_existing(model_dir, "model directory")
    seed = default_seed(name) if args.seed is None else args.seed
    arguments = _run_arguments(definition, args, name, seed, index.sha256)
    progress = _progress_to_resume(working, model_dir, arguments, args.resume, chief)

    source = AsciiFolder() if args.bank is None else BankSource(args.bank)
    segments = load_segments(index, length, min_peak=args.min_peak, strict=args.strict, progress=not args.quiet,
                             source=source, keep_segments=not args.stream)
    print(f"{index_path}: {segments.summary()}", file=sys.stderr)
    if len(segments.used) < 3:
        raise SeisclipError(f"only {len(segments.used)} usable segments; need at least 3 to split", index_path)
    normalisation = definition.hyperparameters.get("normalisation", "peak")
    if normalisation not in NORMALISATIONS:
        raise SeisclipError(f"HYPERPARAMETERS['normalisation'] must be one of {NORMALISATIONS}, got {normalisation!r}",
                            definition.source_file)
    if args.stream:
        pairs = SegmentPairs.from_bank(segments, source, args.sbrl, normalisation)
    else:
        pairs = SegmentPairs.in_memory(segments, args.sbrl, normalisation)
    parts = split_positions(len(segments.used), seed)

    print(distribution.summary(), file=sys.stderr)   # after the input checks: a bad input stays one line
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    train_part, validation_part, test_part = (parts[name_] for name_ in SPLIT_NAMES)
    keras.mixed_precision.set_global_policy(args.precision)
    try:
        with distribution.strategy.scope():
            model = definition.build_model(length)
            model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss=definition.loss,
                          metrics=[restored_mse, restored_mae])
            if progress is not None:
                _restore_checkpoint(model, progress, working / CHECKPOINT_FILE)
            if distribution.workers > 1:
                _work_around_keras_multi_worker_fit(model, length)
        if progress is None:
            progress = Progress(0, {}, [], [], [])
            if chief:
                with atomic_directory(working) as building:
                    (building / ARGUMENTS_FILE).write_bytes(dump_json(arguments))
        validation = ordered_dataset(pairs, validation_part, args.batch_size) if len(validation_part) else None
        first_epoch = progress.completed_epochs
        try:
            if first_epoch < args.epochs:
                model.fit(training_dataset(pairs, train_part, args.batch_size, seed, args.epochs, first_epoch),
                          steps_per_epoch=batch_count(len(train_part), args.batch_size), initial_epoch=first_epoch,
                          epochs=args.epochs, shuffle=False, validation_data=validation,
                          verbose=0 if args.quiet else 2,
                          callbacks=[Checkpoint(working / CHECKPOINT_FILE, progress)] if chief else [])
        except BaseException:   # an error or Ctrl-C: keep what a --resume can continue from
            if not chief:
                raise
            if progress.completed_epochs:
                print(f"note: {model_dir} not written; its checkpoint after epoch {progress.completed_epochs} of "
                      f"{args.epochs} is kept in {working}: add --resume to the same command to continue",
                      file=sys.stderr)
            else:
                _discard(working, model_dir)
            raise
    except tf.errors.UnavailableError as exc:
        if distribution.task is None:
            raise
        # A collective op failed: another task of the cluster stopped (its own error says why).
        raise SeisclipError(f"training stopped: another task of the cluster is gone "
                            f"({str(exc.message).strip().splitlines()[0]})", model_dir) from None
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if not chief:
        print(f"worker {distribution.task.task_index} of {len(distribution.task.cluster['worker'])}: trained; "
              "the chief writes the model", file=sys.stderr)
        return None
    history = progress.history
    trained = _float32_copy(definition, length, model)
    test_metrics = _test_metrics(trained, pairs, test_part)

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
        "bank": (source.bank.provenance() if args.bank is not None
                 else {"kind": "ascii", "ASCII_file_dir": selection.get("ASCII_file_dir") if selection else None}),
        "parameters": {
            "segment_length": length,
            "sbrl": args.sbrl,
            "normalisation": normalisation,
            "min_peak": args.min_peak,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "optimizer": "Adam",
            "split_fractions": dict(zip(SPLIT_NAMES, SPLIT_FRACTIONS)),
            "hyperparameters": definition.hyperparameters,
            "strict": args.strict,
            "stream": args.stream,
        },
        "seed": seed,
        "seed_source": "given" if args.seed is not None else f"derived from the model name {name!r}",
        "determinism": "keras.utils.set_random_seed(seed) and tf.config.experimental.enable_op_determinism()",
        "batch_order": "epoch e visits the train split in the order numpy.random.default_rng([seed, e]).permutation, "
                       "in consecutive batches of batch_size",
        "distribution": distribution.record(),
        "segment_counts": {"index_lines": len(index), "used": len(segments.used),
                           **{split: int(len(parts[split])) for split in SPLIT_NAMES}},
        "skipped": dict(segments.skipped),
        "history": history,
        "resumed_after_epochs": progress.resumed_after,
        "test_metrics": test_metrics,
        "model_parameters": int(trained.count_params()),
        "working_directory": os.getcwd(),
        **run_record("numpy", "keras", "tensorflow"),
        "wall_time_s": None,
        "files": files,
        "segments": {"columns": ["index_line", "istart", "rscale", "file", "split"], "rows": rows},
    }

    with atomic_directory(model_dir, overwrite=args.overwrite) as work:
        # Saved uncompiled: the training loss is recorded in definition.py and the manifest, and
        # plain keras.models.load_model then needs nothing but the model's own layers.
        trained.save(work / MODEL_FILE)
        shutil.copyfile(definition.source_file, work / DEFINITION_COPY)
        (work / "history.csv").write_bytes(_history_csv(history))
        _plot_history(history, name, work / "training_curves.png")
        manifest["wall_time_s"] = round(time.time() - started, 3)
        (work / MANIFEST_FILE).write_bytes(dump_json(manifest))
    _discard(working, model_dir)

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
