"""A training run, as its stages: load → split → build and compile → fit → save.

A definition script calls :func:`train_definition` with its choices (:mod:`.definition`). The
run parses the user's flags (:mod:`.command_line`), loads the index file's segments (each
waveform file read once), splits them 70/15/15 with a recorded seed, trains deterministically
and writes ``models/<STEM>_<def>/`` (or ``<STEM>_sbrl_<def>``) atomically with the model, its
manifest, the training history, a plot of it and a copy of the definition script and of every
definition script it takes choices from.

After every epoch the run's state is saved beside the model directory, so that an interrupted
run continues with ``--resume`` to the same weights (:mod:`.resume`). ``--strategy`` and
``--precision`` choose how it trains (:mod:`.distribution`); in a cluster only the chief writes.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import shutil
import sys
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..arguments import run_guarded
from ..bank.ascii import AsciiFolder
from ..bank.hdf5 import BankSource
from ..errors import SeisclipError
from ..fsio import atomic_directory, output_lock, refuse_existing, remove_stale_temporaries, sha256_file
from ..provenance import dump_json
from ..sets.channels import resolve
from ..sets.index_file import read_index
from ..sets.pairs import Representation, SegmentPairs, batch_count
from ..sets.segments import SegmentSet, load_segments
from ..sets.split import read_selection_manifest, split_positions
from .command_line import parse_arguments
from .definition import CHOICES, STARTED_FROM, Definition, dropped_choices, imported_definitions
from .distribution import fit_across_workers, start_distribution
from .manifest import MANIFEST_FILE, ModelManifest
from .model_dir import DEFINITION_COPY, MODEL_FILE
from .pipeline import ordered_dataset, training_dataset
from .quiet_tensorflow import keras, tf
from .records import history_csv, model_manifest, optimizer_record, plot_history, test_metrics
from .resume import (ARGUMENTS_FILE, CHECKPOINT_DIR, Checkpoint, Progress, discard, discard_if_finished,
                     progress_to_resume, restore_checkpoint, working_folder)
from .config import TrainingConfig
from .run import Run


@keras.saving.register_keras_serializable(package="seisclip")
def restored_mse(target, prediction):
    """Mean squared error of the restored segment (target[..., 0] is the truth), in the target's
    float32 also when a mixed precision model predicts in float16 (Keras casts for losses, not metrics)."""
    return keras.ops.mean(keras.ops.square(keras.ops.cast(prediction, target.dtype) - target[..., 0]), axis=-1)


@keras.saving.register_keras_serializable(package="seisclip")
def restored_mae(target, prediction):
    """Mean absolute error of the restored segment, in float32 like :func:`restored_mse`."""
    return keras.ops.mean(keras.ops.abs(keras.ops.cast(prediction, target.dtype) - target[..., 0]), axis=-1)


#: What the history records besides the loss, on the training and the validation split.
TRAINING_METRICS = (restored_mse, restored_mae)


def train(definition: Definition, config: TrainingConfig) -> ModelManifest | None:
    """Train ``definition`` as ``config`` asks and write the model directory; return its manifest
    (None on the workers of a multiworker run other than the chief, which write nothing).

    The chief (any run but those workers) holds the model directory's lock from the existence
    check to the end, so a second run of the same model fails at once."""
    started = time.time()
    distribution = start_distribution(config.strategy, config.precision)
    index_path = config.index_path
    index = read_index(index_path)
    selection, selection_sha256 = read_selection_manifest(index_path, index.sha256, config.segment_length)
    drawn_from = (selection or {}).get("bank")
    if drawn_from and config.bank is None:
        raise SeisclipError(f"index file was drawn from the HDF5 bank {drawn_from.get('path')}: "
                            f"add --bank {drawn_from.get('path')}", index_path)
    run = Run(definition, config, distribution, started, index, selection, selection_sha256)
    if not distribution.is_chief:
        return _stages(run)
    run.model_dir.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(run.model_dir, "model directory"):
        remove_stale_temporaries(working_folder(run.model_dir))
        return _stages(run)


def _stages(run: Run) -> ModelManifest | None:
    """load → split → build and compile → fit → save (the chief only)."""
    progress = _previous_progress(run)
    source, segments, pairs = _load(run)
    parts = split_positions(len(segments.used), run.seed)
    print(run.distribution.summary(), file=sys.stderr)   # after the input checks: a bad input stays one line
    keras.utils.set_random_seed(run.seed)
    tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(run.config.precision)
    try:
        model = _build_and_compile(run, progress, batch_count(len(parts["train"]), run.config.batch_size))
        progress = _fit(run, model, pairs, parts, progress)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if not run.distribution.is_chief:
        task = run.distribution.task
        print(f"worker {task.task_index} of {len(task.cluster['worker'])}: trained; the chief writes the model",
              file=sys.stderr)
        return None
    return _save(run, model, source, segments, pairs, parts, progress)


def _previous_progress(run: Run) -> Progress | None:
    """What an interrupted run of this model left to resume (None: start afresh); refuses an
    existing model directory unless --overwrite."""
    chief = run.distribution.is_chief
    if chief:
        discard_if_finished(working_folder(run.model_dir), run.model_dir)
    if not run.config.overwrite:
        refuse_existing(run.model_dir, "model directory")
    return progress_to_resume(working_folder(run.model_dir), run.model_dir, run.arguments(), run.config.resume, chief)


def _load(run: Run) -> tuple[AsciiFolder | BankSource, SegmentSet, SegmentPairs]:
    config, definition = run.config, run.definition
    source = AsciiFolder() if config.bank is None else BankSource(config.bank)
    segments = load_segments(run.index, config.segment_length, min_peak=config.min_peak_counts,
                             strict=config.strict, progress=not config.quiet, source=source,
                             keep_segments=not config.stream)
    print(f"{run.index_path}: {segments.summary()}", file=sys.stderr)
    if len(segments.used) < 3:
        raise SeisclipError(f"only {len(segments.used)} usable segments; need at least 3 to split", run.index_path)
    representation = Representation(sbrl=config.sbrl, normalisation=definition.normalisation,
                                    channels=tuple(resolve(definition.channel_names, definition.custom_channels)),
                                    augmentation=tuple(definition.augmentation), seed=run.seed)
    if config.stream:
        return source, segments, SegmentPairs.from_bank(segments, source, representation)
    return source, segments, SegmentPairs.in_memory(segments, representation)


def _build_and_compile(run: Run, progress: Progress | None, steps_per_epoch: int):
    definition, distribution, length = run.definition, run.distribution, run.config.segment_length
    with distribution.strategy.scope():
        model = definition.make_model(length, run.hyperparameters)
        model.compile(optimizer=definition.make_optimizer(run.hyperparameters, steps_per_epoch),
                      loss=definition.loss, metrics=list(TRAINING_METRICS))
        if progress is not None:
            restore_checkpoint(model, working_folder(run.model_dir) / CHECKPOINT_DIR)
    return model


def _fit(run: Run, model, pairs: SegmentPairs, parts: dict[str, np.ndarray], progress: Progress | None) -> Progress:
    """Train from the epoch after ``progress`` (the first if None); return the progress at the end.
    An error or Ctrl-C keeps what a --resume can continue from."""
    config, chief, working = run.config, run.distribution.is_chief, working_folder(run.model_dir)
    if progress is None:
        progress = Progress(0, {}, [])
        if chief:
            with atomic_directory(working) as building:
                (building / ARGUMENTS_FILE).write_bytes(dump_json(run.arguments()))
    train_part, validation_part = parts["train"], parts["validation"]
    steps = batch_count(len(train_part), config.batch_size)
    callbacks = run.definition.make_callbacks(run.hyperparameters, steps)
    if chief:
        callbacks.append(Checkpoint(working / CHECKPOINT_DIR, progress))
    try:
        if progress.completed_epochs < config.epochs:
            training = training_dataset(pairs, train_part, config.batch_size, run.seed, config.epochs,
                                        progress.completed_epochs)
            validation = ordered_dataset(pairs, validation_part, config.batch_size) if len(validation_part) else None
            verbose = 0 if config.quiet else 2
            if run.distribution.workers > 1:
                fit_across_workers(model, run.distribution.strategy, TRAINING_METRICS, training, validation, steps,
                                   progress.completed_epochs, config.epochs, callbacks, verbose)
            else:
                model.fit(training, steps_per_epoch=steps, initial_epoch=progress.completed_epochs,
                          epochs=config.epochs, shuffle=False, verbose=verbose, callbacks=callbacks,
                          validation_data=validation)
    except tf.errors.UnavailableError as exc:
        if run.distribution.task is None:
            raise
        # A collective op failed: another task of the cluster stopped (its own error says why).
        raise SeisclipError(f"training stopped: another task of the cluster is gone "
                            f"({str(exc.message).strip().splitlines()[0]})", run.model_dir) from None
    except BaseException:
        if chief and progress.completed_epochs:
            print(f"note: {run.model_dir} not written; its checkpoint after epoch {progress.completed_epochs} of "
                  f"{config.epochs} is kept in {working}: add --resume to the same command to continue",
                  file=sys.stderr)
        elif chief:
            discard(working, run.model_dir)
        raise
    return progress


def _save(run: Run, model, source, segments: SegmentSet, pairs: SegmentPairs, parts: dict[str, np.ndarray],
          progress: Progress) -> ModelManifest:
    """Write the model directory (the chief only) and remove the run's working folder."""
    # The saved model is rebuilt by the definition under the float32 policy with the trained
    # weights: plain float32 whatever the strategy and precision, and no worker waits on another.
    trained = run.definition.make_model(run.config.segment_length, run.hyperparameters)
    trained.set_weights(model.get_weights())
    metrics = test_metrics(trained, pairs, parts["test"])
    manifest = model_manifest(run, source, segments, parts, progress, metrics, int(trained.count_params()),
                              optimizer_record(model.optimizer))
    with atomic_directory(run.model_dir, overwrite=run.config.overwrite) as work:
        # Saved uncompiled: the training loss is recorded in definition.py and the manifest, and
        # keras.models.load_model then needs nothing but the model's own layers.
        trained.save(work / MODEL_FILE)
        shutil.copyfile(run.definition.source_file, work / DEFINITION_COPY)
        # Under their own names: the copy of definition.py takes them from its folder by name.
        for imported in run.definition.imported.values():
            shutil.copyfile(imported, work / imported.name)
        (work / "history.csv").write_bytes(history_csv(progress.history))
        plot_history(progress.history, run.name, work / "training_curves.png")
        manifest = dataclasses.replace(manifest, model_sha256=sha256_file(work / MODEL_FILE),
                                       wall_time_s=round(time.time() - run.started, 3))
        (work / MANIFEST_FILE).write_bytes(dump_json(manifest.to_json()))
    discard(working_folder(run.model_dir), run.model_dir)
    print(f"{run.model_dir}: test MSE {metrics['mse']:.5f}, MAE {metrics['mae']:.5f} "
          f"(clipped input unchanged: MSE {metrics['clipped_input_mse']:.5f}) on {metrics['segments']} "
          f"test segments; {manifest.wall_time_s:.1f} s", file=sys.stderr)
    return manifest


def train_definition(name: str, build_model: Callable, loss: Callable, hyperparameters: dict[str, Any],
                     argv: Sequence[str] | None = None, **choices: Any) -> int:
    """Entry point of a definition script: train with the command-line flags, exit status 0 or 1.
    ``choices`` are the optional ones of :class:`~seisclip.learn.definition.Definition`: inputs,
    normalisation, augmentation, optimizer, callbacks."""
    source_file = inspect.getsourcefile(build_model) or sys.argv[0]
    prog = os.path.basename(source_file)

    def run() -> int:
        unknown = sorted(set(choices) - set(CHOICES))
        if unknown:
            raise SeisclipError(f"train_definition: unknown choice {', '.join(unknown)} (choices: {', '.join(CHOICES)})",
                                source_file)
        script = _script_names(build_model)
        definition = Definition(name=name, build_model=build_model, loss=loss, hyperparameters=dict(hyperparameters),
                                source_file=source_file, imported=imported_definitions(script),
                                started_from=script.get(STARTED_FROM), **choices)
        definition.check(dropped_choices(script, choices))
        train(definition, parse_arguments(definition, argv))
        return 0

    return run_guarded(run, prog)


def _script_names(build_model: Callable) -> Mapping[str, Any]:
    """The module-level names of the definition script, the module that defines ``build_model``:
    a function's globals (also of a script loaded from its file outside sys.modules, as the tests
    load one), else its module's, else ``__main__``'s."""
    if hasattr(build_model, "__globals__"):
        return build_model.__globals__
    return vars(inspect.getmodule(build_model) or sys.modules["__main__"])
