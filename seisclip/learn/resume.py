"""Resuming an interrupted run: the working folder beside the model directory, its checkpoint
after every completed epoch, and the checks that a resumed run is the same run."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SeisclipError
from ..fsio import atomic_file, remove_stale_temporaries, temporary_prefix
from ..provenance import read_manifest
from .manifest import MANIFEST_FILE
from .quiet_tensorflow import keras

#: In the working folder: the arguments of the run, and its state after the last completed epoch.
ARGUMENTS_FILE = "arguments.json"


CHECKPOINT_FILE = "checkpoint.npz"


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


def save_checkpoint(path: Path, model, progress: Progress) -> None:
    """All of the model's variables (its weights and the layers' random-seed states) and the
    optimizer's (step count, moments), with the history, in one file replaced atomically."""
    state = json.dumps({"completed_epochs": progress.completed_epochs, "history": progress.history,
                        "resumed_after": progress.resumed_after})
    arrays = {f"model_{i:05d}": np.asarray(variable) for i, variable in enumerate(model.variables)}
    arrays.update({f"optimizer_{i:05d}": np.asarray(variable) for i, variable in enumerate(model.optimizer.variables)})
    with atomic_file(path, overwrite=True) as temporary, open(temporary, "wb") as handle:
        np.savez(handle, state=np.frombuffer(state.encode(), dtype=np.uint8), **arrays)


def read_checkpoint(path: Path) -> Progress:
    try:
        with np.load(path) as data:
            state = json.loads(data["state"].tobytes())
            values = {prefix: [data[key] for key in sorted(data.files) if key.startswith(prefix)]
                      for prefix in ("model_", "optimizer_")}
        return Progress(state["completed_epochs"], state["history"], state["resumed_after"],
                        values["model_"], values["optimizer_"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise SeisclipError(f"checkpoint cannot be read ({exc}); remove its folder to start again", path) from None


def restore_checkpoint(model, progress: Progress, path: Path) -> None:
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
        save_checkpoint(self.path, self.model, self.progress)


def discard(work: Path, model_dir: Path) -> None:
    """Remove a working folder, renamed first to a temporary name of the model's (onto an empty
    folder made for it), so that an interruption while deleting leaves only what the next run removes."""
    doomed = tempfile.mkdtemp(prefix=temporary_prefix(model_dir), suffix=".tmp", dir=model_dir.parent)
    os.rename(work, doomed)
    shutil.rmtree(doomed)


def finished(work: Path, model_dir: Path) -> bool:
    """Whether ``work`` is the working folder of the run that wrote ``model_dir``: a run killed just
    after its model directory took its name leaves it (the two histories are equal)."""
    checkpoint, manifest = work / CHECKPOINT_FILE, model_dir / MANIFEST_FILE
    if not (checkpoint.is_file() and manifest.is_file()):
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
    checkpoint = work / CHECKPOINT_FILE
    if chief:
        remove_stale_temporaries(checkpoint)
    if not checkpoint.is_file() or (not chief and finished(work, model_dir)):
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
