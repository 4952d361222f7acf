"""Resuming an interrupted run: the working folder beside the model directory, its checkpoint
after every completed epoch, and the checks that a resumed run is the same run."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SeisclipError
from ..fsio import atomic_directory, remove_stale_temporaries, temporary_prefix
from ..provenance import dump_json, read_manifest
from .manifest import MANIFEST_FILE
from .quiet_tensorflow import keras

#: In the working folder: the arguments of the run, and its state after the last completed epoch.
ARGUMENTS_FILE = "arguments.json"
#: A folder replaced whole after every epoch. Keras' own weights file holds the model's weights
#: and the optimizer's variables; the progress file what Keras does not keep.
CHECKPOINT_DIR = "checkpoint"
WEIGHTS_FILE = "model.weights.h5"
PROGRESS_FILE = "progress.json"
#: What seisclip wrote before Keras' formats; kept, never resumed nor removed.
EARLIER_CHECKPOINT_FILE = "checkpoint.npz"


def working_folder(model_dir: Path) -> Path:
    """Where a run keeps its checkpoint until its model directory is complete: ``.<name>.work`` beside it."""
    return model_dir.with_name(f".{model_dir.name}.work")


@dataclass
class Progress:
    """A run's state after its last completed epoch, as its checkpoint's progress file holds it."""

    completed_epochs: int
    history: dict[str, list[float]]
    resumed_after: list[int]          # the completed epochs earlier runs were resumed from


def _seed_states(model) -> list:
    """The model's variables that ``save_weights`` leaves out: the random-seed states of layers
    such as dropout, without which a resumed run would draw other random numbers."""
    saved = {id(weight) for weight in model.weights}
    return [variable for variable in model.variables if id(variable) not in saved]


def save_checkpoint(folder: Path, model, progress: Progress) -> None:
    """The model's weights and the optimizer's variables (step count, moments; a loss scale) in
    Keras' ``.weights.h5``, and the history and seed states beside them, replaced together."""
    with atomic_directory(folder, overwrite=True) as staging:
        model.save_weights(staging / WEIGHTS_FILE)
        (staging / PROGRESS_FILE).write_bytes(dump_json({
            "completed_epochs": progress.completed_epochs, "history": progress.history,
            "resumed_after": progress.resumed_after,
            "seed_states": [variable.numpy().tolist() for variable in _seed_states(model)]}))


def _read_progress_file(folder: Path) -> dict:
    try:
        return json.loads((folder / PROGRESS_FILE).read_bytes())
    except (OSError, ValueError) as exc:
        raise SeisclipError(f"checkpoint cannot be read ({exc}); remove its folder to start again", folder) from None


def read_checkpoint(folder: Path) -> Progress:
    state = _read_progress_file(folder)
    try:
        return Progress(state["completed_epochs"], state["history"], state["resumed_after"])
    except (KeyError, TypeError) as exc:
        raise SeisclipError(f"checkpoint cannot be read (no {exc}); remove its folder to start again",
                            folder) from None


def restore_checkpoint(model, folder: Path) -> None:
    """Load the checkpoint into the compiled model; one that another model wrote is an error."""
    misfit = SeisclipError("checkpoint does not fit the model the definition builds; remove its folder to start "
                           "again", folder)
    model.optimizer.build(model.trainable_variables)
    try:
        with warnings.catch_warnings():
            # Keras only warns when it skips what the file and the model do not share (the
            # optimizer's variables, nested layers): the checkpoint must fill every variable.
            warnings.simplefilter("error", UserWarning)
            model.load_weights(folder / WEIGHTS_FILE)
    except (ValueError, UserWarning) as exc:
        raise misfit from exc
    seed_variables, seed_values = _seed_states(model), _read_progress_file(folder).get("seed_states", [])
    if [tuple(variable.shape) for variable in seed_variables] != [np.shape(value) for value in seed_values]:
        raise misfit
    for variable, value in zip(seed_variables, seed_values):
        variable.assign(np.asarray(value, dtype=variable.dtype))


class Checkpoint(keras.callbacks.Callback):
    """Saves the run's progress in the working folder at the end of every epoch."""

    def __init__(self, folder: Path, progress: Progress):
        super().__init__()
        self.folder = folder
        self.progress = progress

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.progress.history.setdefault(key, []).append(float(value))
        self.progress.completed_epochs = epoch + 1
        save_checkpoint(self.folder, self.model, self.progress)


def discard(work: Path, model_dir: Path) -> None:
    """Remove a working folder, renamed first to a temporary name of the model's (onto an empty
    folder made for it), so that an interruption while deleting leaves only what the next run removes."""
    doomed = tempfile.mkdtemp(prefix=temporary_prefix(model_dir), suffix=".tmp", dir=model_dir.parent)
    os.rename(work, doomed)
    shutil.rmtree(doomed)


def finished(work: Path, model_dir: Path) -> bool:
    """Whether ``work`` is the working folder of the run that wrote ``model_dir``: a run killed just
    after its model directory took its name leaves it (the two histories are equal)."""
    checkpoint, manifest = work / CHECKPOINT_DIR, model_dir / MANIFEST_FILE
    if not (checkpoint.is_dir() and manifest.is_file()):
        return False
    try:
        return read_manifest(manifest).get("history") == read_checkpoint(checkpoint).history
    except SeisclipError:   # not this model's: left for the checks that follow to report
        return False


def discard_if_finished(work: Path, model_dir: Path) -> None:
    """Remove the working folder of the run that wrote ``model_dir``. Any other is kept."""
    if finished(work, model_dir):
        discard(work, model_dir)


def progress_to_resume(work: Path, model_dir: Path, arguments: dict, resume: bool, chief: bool) -> Progress | None:
    """The progress an interrupted run of this model saved, if ``resume``; None to start from the
    first epoch. A working folder without a completed epoch holds nothing to resume and is removed.

    Only the chief changes the working folder. The other workers of a multiworker run read the
    chief's checkpoint, before the chief can write again (that needs them to train an epoch with
    it), and ignore the checkpoint of a finished run, which the chief removes."""
    checkpoint = work / CHECKPOINT_DIR
    if (work / EARLIER_CHECKPOINT_FILE).exists():
        raise SeisclipError(f"{work} holds the checkpoint of an earlier seisclip ({EARLIER_CHECKPOINT_FILE}), which "
                            "this one cannot resume: finish the run with that seisclip, or remove the folder to "
                            "start again", model_dir)
    if chief:
        remove_stale_temporaries(checkpoint)
    if not checkpoint.is_dir() or (not chief and finished(work, model_dir)):
        if chief and work.exists():
            discard(work, model_dir)
        if resume:
            print(f"note: no interrupted run of {model_dir} to resume; training from the first epoch", file=sys.stderr)
        return None
    progress = read_checkpoint(checkpoint)
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
