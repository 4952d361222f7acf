"""Definition scripts can vary everything a model experiment varies, checked before anything
trains; restore and evaluate follow what a model's manifest records; a model directory is
checked before its files are used, and its code runs only when trusted."""

from __future__ import annotations

import json
import shutil
import subprocess
import types
from pathlib import Path

import numpy as np
import pytest

from seisclip.learn.definition import dropped_choices
from seisclip.sets.augmentation import AddedNoise, PolarityFlip, RandomGain, TimeStretch, augment
from seisclip.sets.channels import BUILT_IN, ClippedWindows, network_inputs, resolve
from seisclip.sets.labels import clip_and_label
from seisclip.sets.pairs import Representation, labelled_batch

from conftest import REPO_ROOT, seisclip, sh, write_bank

LENGTH = 32
SET = f"defs_{LENGTH}_200"

#: Every optional choice of a definition: own optimizer with a learning-rate schedule, early
#: stopping, extra input channels (one of its own), augmentation, a hyperparameter of the model.
EVERYTHING = '''"""Test definition: every optional choice."""

from seisclip.learn.training import train_definition  # isort: skip

import keras
from keras import layers

from seisclip.sets.augmentation import AddedNoise, PolarityFlip

NAME = "def777"
HYPERPARAMETERS = {"epochs": 3, "batch_size": 16, "learning_rate": 0.01, "filters": 8, "patience": 1}


def clipped_squared(windows):
    return windows.clipped ** 2


INPUTS = ("clipped", "status", "clip_level", clipped_squared)
AUGMENTATION = (PolarityFlip(0.5), AddedNoise(0.01))


def build_model(segment_length, channels, filters):
    inputs = keras.Input(shape=(segment_length, channels))
    x = layers.Conv1D(filters, 5, padding="same", activation="relu")(inputs)
    outputs = layers.Reshape((segment_length,))(layers.Conv1D(1, 5, padding="same")(x))
    return keras.Model(inputs, outputs, name=NAME)


def loss(target, prediction):
    return keras.ops.mean(keras.ops.square(prediction - target[..., 0]), axis=-1)


def optimizer(learning_rate, steps_per_epoch, epochs):
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps_per_epoch * epochs)
    return keras.optimizers.SGD(schedule, momentum=0.9)


def callbacks(patience):
    return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)]


if __name__ == "__main__":
    raise SystemExit(train_definition(NAME, build_model, loss, HYPERPARAMETERS, inputs=INPUTS,
                                      augmentation=AUGMENTATION, optimizer=optimizer, callbacks=callbacks))
'''


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A bank, a set of 200 segments of 32 samples, the wrapper and the def777 definition."""
    root = tmp_path_factory.mktemp("definitions")
    write_bank(root, (400, 900, 1500, 3000, 5000))
    done = sh(root, REPO_ROOT / "run_select_training_samples.sh", str(LENGTH), "200", "defs")
    assert done.returncode == 0, done.stderr
    shutil.copy(REPO_ROOT / "run_create_and_train_model.sh", root)
    (root / "create_and_train_model_def777.py").write_text(EVERYTHING)
    return root


def one_error_line(done: subprocess.CompletedProcess, expected: str) -> None:
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [expected]


def variant(workspace: Path, name: str, source: str) -> Path:
    script = workspace / f"create_and_train_model_{name}.py"
    script.write_text(source)
    return script


@pytest.mark.bad_input("definition-name")
def test_name_must_match_the_file_name(workspace):
    variant(workspace, "def778", EVERYTHING)   # still says NAME = "def777"
    done = sh(workspace, workspace / "run_create_and_train_model.sh", str(LENGTH), SET, "def778")
    one_error_line(done, f"create_and_train_model_def778.py: error: {workspace}/create_and_train_model_def778.py: NAME "
                         "is 'def777' but the file name says 'def778': set NAME = 'def778'")
    assert not (workspace / "models").exists()


@pytest.mark.parametrize("change, problem", [
    (('"patience": 1}', '"patience": 1, "dropuot": 0.1}'),
     "HYPERPARAMETERS: unknown key 'dropuot': not one of epochs, batch_size, learning_rate nor a parameter of "
     "build_model, optimizer, callbacks"),
    (('"epochs": 3, ', ""), "HYPERPARAMETERS: missing 'epochs'"),
    (('"batch_size": 16', '"batch_size": 0'), "HYPERPARAMETERS: 'batch_size' must be a positive int, got 0"),
    (('"clip_level", clipped_squared)', '"clip_level", "envelope")'),
     "INPUTS: unknown channel 'envelope' (built in: " + ", ".join(BUILT_IN) + "; or give a function of the clipped "
     "windows)"),
])
@pytest.mark.bad_input("definition-bad-choice")
def test_a_bad_definition_is_one_line_naming_the_problem(workspace, change, problem):
    name = "def779"
    variant(workspace, name, EVERYTHING.replace('NAME = "def777"', f'NAME = "{name}"').replace(*change))
    done = sh(workspace, workspace / "run_create_and_train_model.sh", str(LENGTH), SET, name)
    one_error_line(done, f"create_and_train_model_{name}.py: error: {workspace}/create_and_train_model_{name}.py: "
                         f"{problem}")


@pytest.mark.parametrize("choice, added", [
    ("AUGMENTATION", "from seisclip.sets.augmentation import PolarityFlip\n\nAUGMENTATION = (PolarityFlip(0.5),)\n"),
    ("optimizer", "def optimizer(learning_rate):\n    return keras.optimizers.SGD(learning_rate)\n"),
])
@pytest.mark.bad_input("definition-dropped-choice")
def test_a_choice_defined_but_not_passed_is_refused_naming_it(workspace, choice, added):
    """A copy of def001 that defines a choice and leaves train_definition's call as it is would
    train without it and record nothing: it is refused before anything trains."""
    name = "def780"
    def001 = (REPO_ROOT / "create_and_train_model_def001.py").read_text()
    anchor = "\n\ndef build_model("
    assert anchor in def001
    source = def001.replace('NAME = "def001"', f'NAME = "{name}"').replace(anchor, f"\n{added}{anchor}", 1)
    variant(workspace, name, source)
    # One epoch: were it not refused, the run would end soon all the same.
    done = sh(workspace, workspace / "run_create_and_train_model.sh", str(LENGTH), SET, name, "--epochs", "1")
    one_error_line(done, f"create_and_train_model_{name}.py: error: {workspace}/create_and_train_model_{name}.py: "
                         f"{choice} is defined but not passed to train_definition: add {choice.lower()}={choice}")
    assert not list(workspace.glob(f"models/*{name}*"))   # neither the model directory nor a working folder


def test_a_defined_choice_counts_as_passed_only_as_that_very_object():
    augmentation = (PolarityFlip(0.5),)
    # callbacks as `from keras import callbacks` leaves it: a module, no choice.
    script = {"AUGMENTATION": augmentation, "NORMALISATION": "clip", "callbacks": types.ModuleType("callbacks")}
    assert dropped_choices(script, {"augmentation": augmentation, "normalisation": script["NORMALISATION"]}) == []
    assert dropped_choices(script, {"augmentation": (PolarityFlip(0.5),)}) == [
        "NORMALISATION is defined but not passed to train_definition: add normalisation=NORMALISATION",
        "AUGMENTATION is defined but train_definition got another augmentation: pass augmentation=AUGMENTATION"]


@pytest.fixture(scope="module")
def trained(workspace) -> Path:
    done = sh(workspace, workspace / "run_create_and_train_model.sh", str(LENGTH), SET, "def777", "--quiet")
    assert done.returncode == 0, done.stderr
    return workspace / "models" / f"{SET}_def777"


def test_every_choice_trains_is_recorded_and_restores_through_the_cli(workspace, trained):
    manifest = json.loads((trained / "manifest.json").read_text())
    parameters = manifest["parameters"]
    assert parameters["inputs"] == ["clipped", "status", "clip_level", "clipped_squared"]
    assert parameters["custom_functions"] == ["clipped_squared"]
    assert parameters["augmentation"] == [{"step": "PolarityFlip", "probability": 0.5},
                                          {"step": "AddedNoise", "fraction": 0.01}]
    assert parameters["optimizer"]["class"] == "SGD"
    assert parameters["optimizer"]["config"]["config"]["learning_rate"]["class_name"] == "CosineDecay"
    assert parameters["callbacks_function"] == "callbacks"
    assert parameters["hyperparameters"]["filters"] == 8
    assert 1 <= manifest["epochs_trained"] == len(manifest["history"]["loss"]) <= 3

    values = np.round(3000 * np.sin(np.arange(300) / 4.0))
    (workspace / "record.txt").write_text("".join(f"{int(v)}\n" for v in np.clip(values, -2000, 2000)))
    done = seisclip(workspace, "restore", "record.txt", "--model", str(trained), "--out", "restored.txt")
    assert done.returncode == 0, done.stderr
    restored = np.loadtxt(workspace / "restored.txt", comments="#")
    clipped = restored[:, 2] != 0
    assert np.array_equal(restored[~clipped, 3], restored[~clipped, 1])
    assert np.all(np.abs(restored[clipped, 3]) >= 2000)
    done = seisclip(workspace, "evaluate", "--model", str(trained), "--records", "record.txt", "--clip-levels", "0.5",
                    "--quiet", "--out-dir", "evaluation")
    assert done.returncode == 0, done.stderr
    metrics = json.loads((workspace / "evaluation/evaluation.json").read_text())["metrics"]
    assert [row["bin"] for row in metrics["model"]] == ["0.5-0.6"] and metrics["model"][0]["signals"] == 1


@pytest.mark.bad_input("model-untrusted-code")
def test_a_definition_with_its_own_code_runs_only_when_trusted(workspace, trained, tmp_path):
    """Away from its definition script, a model whose inputs need the definition's own function
    is refused, and runs with --trust-definition."""
    shutil.copy(workspace / "record.txt", tmp_path)
    done = seisclip(tmp_path, "restore", "record.txt", "--model", str(trained))
    one_error_line(done, f"seisclip restore: error: {trained}: the model's inputs need clipped_squared from its "
                         "definition.py, which matches no definition script here: add --trust-definition if you "
                         "trust its code")
    done = seisclip(tmp_path, "restore", "record.txt", "--model", str(trained), "--trust-definition")
    assert done.returncode == 0, done.stderr


@pytest.mark.bad_input("restore-window-fixed-model")
def test_a_window_other_than_its_length_is_refused_for_a_model_of_fixed_length(workspace, trained):
    (workspace / "window_record.txt").write_text("".join(f"{v}\n" for v in (0, 5, 9, 9, 9, 4, -2, -9, -9, 0) * 10))
    done = seisclip(workspace, "restore", "window_record.txt", "--model", str(trained), "--window", "64", "--out", "w.txt")
    one_error_line(done, f"seisclip restore: error: {trained}: model {SET}_def777 takes windows of exactly its {LENGTH} "
                         "samples, not 64: only a fully convolutional model restores with other windows")
    assert not (workspace / "w.txt").exists()


@pytest.mark.bad_input("model-changed-file")
@pytest.mark.parametrize("changed", ["definition.py", "model.keras"])
def test_a_changed_model_directory_is_refused_and_none_of_its_code_runs(workspace, trained, tmp_path, changed):
    model = tmp_path / "model"
    shutil.copytree(trained, model)
    marker = tmp_path / "ran"
    if changed == "definition.py":
        (model / changed).write_text((model / changed).read_text() + f"\nopen({str(marker)!r}, 'w').close()\n")
    else:
        (model / changed).write_bytes((model / changed).read_bytes() + b"\0")
    shutil.copy(workspace / "record.txt", tmp_path)
    for trust in ((), ("--trust-definition",)):
        done = seisclip(tmp_path, "restore", "record.txt", "--model", str(model), *trust)
        key = "definition_sha256" if changed == "definition.py" else "model_sha256"
        one_error_line(done, f"seisclip restore: error: {model / changed}: sha256 differs from the manifest's {key}: "
                             "the file changed after training")
    assert not marker.exists()


def test_channels_are_built_from_what_a_clipped_record_shows():
    windows = ClippedWindows(clipped=np.array([[0.0, 0.5, 0.5, -0.5]]), status=np.array([[0.0, 1.0, 1.0, -1.0]]),
                             clip_level=np.array([0.5]))
    inputs = network_inputs(windows, resolve(["clipped", "status", "status_by_run_length", "clip_level",
                                              "clipped_mask", "slope"]))
    assert inputs.shape == (1, 4, 6) and inputs.dtype == np.float32
    np.testing.assert_array_equal(inputs[0, :, 2], [0, 2, 2, -1])
    np.testing.assert_array_equal(inputs[0, :, 3], [0.5] * 4)
    np.testing.assert_array_equal(inputs[0, :, 4], [0, 1, 1, 1])
    np.testing.assert_array_equal(inputs[0, :, 5], [0.5, 0.25, -0.5, -1.0])


def test_the_spline_channel_is_the_spline_baseline_bounded_at_ten_clip_levels():
    t = np.arange(40.0)
    truth = 1.0 - ((t - 20) / 10) ** 2                    # a parabola: a cubic spline is exact on it
    status = (truth > 0.5).astype(np.float64)
    status[:2] = -1.0                                       # a run at the window's start: one side only
    clipped = np.where(status > 0, 0.5, np.where(status < 0, -0.5, truth))
    # The same shape a hundred times smaller, clipped a thousand times lower: its spline peaks at 20 clip levels.
    steep = np.where(status > 0, 0.0005, clipped / 100)
    windows = ClippedWindows(np.stack([clipped, steep]), np.stack([status, status]), np.array([0.5, 0.0005]))
    channel = network_inputs(windows, resolve(["spline"]))[..., 0]
    np.testing.assert_allclose(channel[0, 2:], truth[2:], atol=1e-6)
    np.testing.assert_array_equal(channel[0, :2], [-0.5, -0.5])
    assert channel[1].max() == pytest.approx(0.005)


def test_default_inputs_are_def001s_pairs_bit_for_bit():
    segments = np.random.default_rng(3).integers(-3000, 3000, size=(20, 64)).astype(np.float64)
    clip_fraction = np.random.default_rng(4).uniform(0.1, 1.0, 20)
    for normalisation in ("peak", "clip"):
        inputs = labelled_batch(segments, clip_fraction, Representation(sbrl=True, normalisation=normalisation)).inputs
        labelled = clip_and_label(segments, clip_fraction, sbrl=True, normalisation=normalisation)
        def001s = np.stack([labelled.clipped, labelled.status.astype(np.float64)], axis=-1).astype(np.float32)
        assert np.array_equal(inputs, def001s)


def test_a_normalisation_of_the_definitions_own_sees_only_the_clipped_window():
    segments = np.array([[0.0, 100.0, -400.0, 50.0]])

    def by_clip_level(clipped, clip_level):
        assert np.abs(clipped).max() <= clip_level[0]
        return 2 * clip_level

    labelled = clip_and_label(segments, np.array([0.5]), normalisation=by_clip_level)
    np.testing.assert_allclose(labelled.targets, [[0.0, 0.25, -1.0, 0.125]])
    np.testing.assert_allclose(labelled.clip_level, [0.5])
    np.testing.assert_allclose(labelled.clipped, [[0.0, 0.25, -0.5, 0.125]])


def test_augmentation_is_seeded_per_batch_and_changes_only_what_it_says():
    segments = np.random.default_rng(5).normal(size=(200, 32)) * 1000
    steps = (PolarityFlip(0.5), RandomGain(0.5, 2.0), AddedNoise(0.05))
    first = augment(segments, steps, seed=1, epoch=2, batch=3)
    assert np.array_equal(first, augment(segments, steps, seed=1, epoch=2, batch=3))
    assert not np.array_equal(first, augment(segments, steps, seed=1, epoch=2, batch=4))
    assert augment(segments, (), seed=1, epoch=0, batch=0) is segments
    flipped = augment(segments, (PolarityFlip(0.5),), seed=1, epoch=0, batch=0)
    sign = np.sign(flipped[:, 0] / segments[:, 0])
    assert np.array_equal(flipped, segments * sign[:, None]) and 60 < np.sum(sign < 0) < 140
    gains = augment(segments, (RandomGain(0.5, 2.0),), seed=1, epoch=0, batch=0)[:, 0] / segments[:, 0]
    assert np.all((gains >= 0.5) & (gains <= 2.0))
    noise = augment(segments, (AddedNoise(0.05),), seed=1, epoch=0, batch=0) - segments
    assert np.all(np.abs(noise).max(axis=1) <= 0.05 * 6 * np.abs(segments).max(axis=1))


def test_time_stretch_slows_a_share_of_segments_down_around_their_peak():
    length = 1024
    period_samples = 20.0
    segments = np.sin(2 * np.pi * np.arange(length) / period_samples)[None, :] * np.linspace(1, 3, 400)[:, None]
    segments[:, 700] = 10.0  # each segment's peak, which a stretch must hold
    stretched = augment(segments, (TimeStretch(probability=0.5, max_factor=8.0),), seed=3, epoch=0, batch=0)
    assert np.array_equal(stretched, augment(segments, (TimeStretch(0.5, 8.0),), seed=3, epoch=0, batch=0))
    changed = ~np.all(np.isclose(stretched, segments), axis=1)
    assert 160 < changed.sum() < 240
    # A stretch by a factor k turns the 20-sample period into 20 k: on average over k log-uniform
    # in [1, 8], 0.42 of the zero crossings are left, and never fewer than an eighth.
    crossings = np.count_nonzero(np.diff(np.sign(stretched), axis=1), axis=1)[changed]
    original = np.count_nonzero(np.diff(np.sign(segments[0])))
    assert np.all(crossings <= original + 2) and np.all(crossings >= original / 8 - 2)
    assert 0.3 < crossings.mean() / original < 0.55
    assert np.all(np.abs(stretched[changed]).max(axis=1) > 5.0)
