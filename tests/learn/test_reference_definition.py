"""def004, the reference network, and def003 before it: consistent by construction, fully
convolutional, trained on generated seismograms, restoring through the CLI with windows longer
than they trained on; def004's loss and def011's."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from seisclip.bank.synthetic import generate_demo_bank, synthetic_seismogram
from seisclip.learn.definition import load_definition_script
from seisclip.learn.layers import ClipConsistent, CropToLengthOf, ExcessOfChannel, PadToMultiple
from seisclip.learn.networks import clip_consistent_unet
from seisclip.learn.quiet_tensorflow import keras

from conftest import REPO_ROOT, seisclip, sh

LENGTH = 64
SET = f"ref_{LENGTH}_300"
#: Seeds of generated records here: apart from the demo bank's and the benchmarks'.
BANK_SEED, RECORD_SEED = 4242, 4343


def test_clip_consistent_output_passes_unclipped_samples_and_bounds_clipped_ones():
    clipped = np.array([[0.3, 1.0, 1.0, -0.2, -1.0, -1.0]], dtype=np.float32)
    status = np.array([[0, 1, 1, 0, -1, -1]], dtype=np.float32)
    amount = np.array([[5.0, -3.0, 40.0, 7.0, 0.5, 100.0]], dtype=np.float32)
    restored = keras.ops.convert_to_numpy(ClipConsistent(max_excess=9.0)([amount, clipped, status]))
    np.testing.assert_array_equal(restored[0, [0, 3]], clipped[0, [0, 3]])
    np.testing.assert_array_equal(restored[0, [1, 4]], [4.0, -1.5])
    np.testing.assert_array_equal(restored[0, [2, 5]], [10.0, -10.0])


def test_the_excess_of_a_channel_is_how_far_its_estimate_lies_beyond_the_clipped_samples():
    # Channels: clipped, status, an estimate; the estimate of the third sample falls short of its level.
    window = np.array([[[0.3, 0, 0.9], [1.0, 1, 1.6], [1.0, 1, 0.7], [-1.0, -1, -1.25]]], dtype=np.float32)
    amount = np.array([[[0.5], [0.25], [0.5], [-0.25]]], dtype=np.float32)
    excess = keras.ops.convert_to_numpy(ExcessOfChannel(2)([amount, window]))
    np.testing.assert_allclose(excess, [[0.5, 0.85, 0.5, 0.0]], rtol=1e-6)


def test_a_unet_starting_from_a_channel_returns_its_estimate_untrained_and_reloads(tmp_path):
    rng = np.random.default_rng(7)
    truth = 1.8 * np.sin(np.linspace(0, 12, 200)) + 0.1 * rng.standard_normal(200)
    clipped, status = np.clip(truth, -1, 1), np.sign(truth) * (np.abs(truth) > 1)
    estimate = np.where(status != 0, 0.8 * truth + 0.1 * status, clipped)   # within the clip level at some samples
    window = np.stack([clipped, status, estimate], axis=-1)[None].astype(np.float32)
    model = clip_consistent_unet((4, 8), 3, 3, name="starting", starting_from_channel=2)
    restored = model.predict(window, verbose=0)[0]
    expected = np.where(status * (estimate - clipped) > 0, estimate, clipped)
    np.testing.assert_allclose(restored, expected, atol=1e-6)
    with warnings.catch_warnings():   # Keras's own saving code under NumPy 2, nothing of ours
        warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
        model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(reloaded.predict(window, verbose=0)[0], restored)


@pytest.mark.parametrize("length", [1, 31, 32, 33, 1000])
def test_padding_to_a_multiple_is_undone_by_cropping(length):
    x = np.random.default_rng(length).standard_normal((2, length, 3)).astype(np.float32)
    padded = keras.ops.convert_to_numpy(PadToMultiple(32)(x))
    assert padded.shape == (2, -(-length // 32) * 32, 3)
    np.testing.assert_array_equal(padded[:, length:], 0.0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(CropToLengthOf()([padded, x])), x)


def test_def004s_loss_is_each_windows_error_as_a_share_of_the_clipped_inputs():
    definition = load_definition_script(REPO_ROOT / "create_and_train_model_def004.py")
    # Clip-normalised windows: the second has nothing clipped.
    truth = np.array([[0.2, 1.5, 2.0, -1.2, 0.5], [0.1, -0.3, 0.9, 0.4, 0.0]], dtype=np.float32)
    status = np.array([[0, 1, 1, -1, 0], [0, 0, 0, 0, 0]], dtype=np.float32)
    prediction = np.array([[0.2, 1.4, 2.5, -1.0, 0.5], truth[1]], dtype=np.float32)
    value = keras.ops.convert_to_numpy(definition.loss(np.stack([truth, status], axis=-1), prediction))
    # Peak 2, three clipped samples: (0.1² + 0.5² + 0.2²) / (3 · 2²) over (0.5² + 1² + 0.2²) / (3 · 2²) + 0.05².
    restored, left_as_is = 0.30 / 12, 1.29 / 12
    np.testing.assert_allclose(value, [restored / (left_as_is + 0.05**2), 0.0], rtol=1e-6)


def test_def011s_loss_weighs_an_estimate_beyond_the_truth_three_times():
    definition = load_definition_script(REPO_ROOT / "create_and_train_model_def011.py")
    truth = np.array([[0.2, 1.5, 2.0, -1.2, 0.5]], dtype=np.float32)
    status = np.array([[0, 1, 1, -1, 0]], dtype=np.float32)
    # 0.1 short of 1.5, 0.5 beyond 2.0, and 0.2 short of -1.2 (towards zero, so not beyond it).
    prediction = np.array([[0.2, 1.4, 2.5, -1.0, 0.5]], dtype=np.float32)
    value = keras.ops.convert_to_numpy(definition.loss(np.stack([truth, status], axis=-1), prediction))
    restored, left_as_is = (0.1**2 + 3 * 0.5**2 + 0.2**2) / 12, 1.29 / 12
    np.testing.assert_allclose(value, [restored / (left_as_is + 0.05**2)], rtol=1e-6)


@pytest.fixture(scope="module", params=["def003", "def004"])
def trained(request, tmp_path_factory) -> tuple[Path, Path]:
    """The definition trained one epoch on 300 windows of 64 samples from a small generated bank."""
    definition = request.param
    root = tmp_path_factory.mktemp(definition)
    generate_demo_bank(root / "bank", root / "outfiles_contents_reordered.txt", n_files=40, seed=BANK_SEED,
                       progress=False)
    (root / "outfiles").symlink_to("bank")
    done = sh(root, REPO_ROOT / "run_select_training_samples.sh", str(LENGTH), "300", "ref")
    assert done.returncode == 0, done.stderr
    for name in ("run_create_and_train_model.sh", f"create_and_train_model_{definition}.py"):
        shutil.copy(REPO_ROOT / name, root)
    done = sh(root, root / "run_create_and_train_model.sh", str(LENGTH), SET, definition, "--epochs", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    return root, root / "models" / f"{SET}_{definition}"


def test_the_reference_records_its_choices_and_saves_a_fully_convolutional_model(trained):
    _, model = trained
    manifest = json.loads((model / "manifest.json").read_text())
    parameters = manifest["parameters"]
    assert parameters["normalisation"] == "clip"
    assert parameters["inputs"] == ["clipped", "status"]
    assert parameters["augmentation"] == [{"step": "PolarityFlip", "probability": 0.5}]
    assert manifest["epochs_trained"] == 1
    network = keras.models.load_model(model / "model.keras", compile=False)
    assert network.input_shape == (None, None, 2)
    # Any length goes, far from a multiple of the network's 32.
    assert network.predict(np.zeros((1, 1001, 2), np.float32), verbose=0).shape == (1, 1001)


def test_the_reference_restores_through_the_cli_with_a_window_longer_than_its_training_length(trained):
    root, model = trained
    truth = synthetic_seismogram(np.random.default_rng(RECORD_SEED), 3000)
    level = int(0.5 * np.abs(truth).max())
    (root / "record.txt").write_text("".join(f"{value}\n" for value in np.clip(truth, -level, level).tolist()))
    for window, windows in (("2048", "2 windows"), (None, "1 windows")):
        output = f"restored_{window}.txt"
        done = seisclip(root, "restore", "record.txt", "--model", str(model), "--out", output,
                        *(("--window", window, "--stride", window) if window else ()))
        assert done.returncode == 0, done.stderr
        assert f": {windows}," in done.stderr   # 3000 samples: two windows of 2048, or one of the whole record
        assert "warning" not in done.stderr
        restored = np.loadtxt(root / output, comments="#")
        clipped = restored[:, 2] != 0
        assert clipped.sum() >= 10
        np.testing.assert_array_equal(restored[~clipped, 3], restored[~clipped, 1])
        assert np.all(restored[clipped, 3] * restored[clipped, 2] >= level)
        assert np.all(np.abs(restored[clipped, 3]) <= 10 * level)


def test_a_definition_that_imports_def004s_choices_restores_from_any_working_folder(tmp_path):
    """def005 takes def004's loss and optimizer. Its model needs none of their code to restore, so
    it loads from a folder where no definition script lies, running nothing of its definition."""
    root = tmp_path / "training"
    generate_demo_bank(root / "bank", root / "outfiles_contents_reordered.txt", n_files=40, seed=BANK_SEED,
                       progress=False)
    (root / "outfiles").symlink_to("bank")
    done = sh(root, REPO_ROOT / "run_select_training_samples.sh", str(LENGTH), "300", "ref")
    assert done.returncode == 0, done.stderr
    for name in ("run_create_and_train_model.sh", "create_and_train_model_def004.py", "create_and_train_model_def005.py"):
        shutil.copy(REPO_ROOT / name, root)
    done = sh(root, root / "run_create_and_train_model.sh", str(LENGTH), SET, "def005", "--epochs", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    truth = synthetic_seismogram(np.random.default_rng(RECORD_SEED), 1000)
    level = int(0.5 * np.abs(truth).max())
    (elsewhere / "record.txt").write_text("".join(f"{value}\n" for value in np.clip(truth, -level, level).tolist()))
    done = seisclip(elsewhere, "restore", "record.txt", "--model", str(root / "models" / f"{SET}_def005"),
                    "--out", "restored.txt")
    assert done.returncode == 0, done.stderr
    restored = np.loadtxt(elsewhere / "restored.txt", comments="#")
    assert np.any(np.abs(restored[restored[:, 2] != 0, 3]) > level)


def test_restoring_a_record_that_rests_beyond_its_clip_level_warns_which_side_and_how_much(trained):
    root, model = trained
    truth = synthetic_seismogram(np.random.default_rng(RECORD_SEED + 2), 3000)
    level = int(0.5 * np.abs(truth).max())
    # A baseline offset past the digitiser's range: the record sits on its upper clip level.
    recorded = np.clip(truth + round(1.25 * level), -level, level)
    (root / "saturated.txt").write_text("".join(f"{value}\n" for value in recorded.tolist()))
    done = seisclip(root, "restore", "saturated.txt", "--model", str(model), "--out", "saturated_restored.txt")
    assert done.returncode == 0, done.stderr
    share = np.mean(np.loadtxt(root / "saturated_restored.txt", comments="#")[:, 2] == 1)
    assert share > 0.5
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: saturated.txt: {share:.0%} of its samples are clipped at +, so it rests beyond its "
                        "clip level, unlike any window the model trained on: try --method pocs or aspade "
                        "(docs/restoration.md)"]
    done = seisclip(root, "restore", "saturated.txt", "--method", "pocs", "--out", "saturated_pocs.txt")
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr


def test_the_self_check_shrinks_the_references_estimate_towards_the_input_and_says_how_far(trained):
    root, model = trained
    truth = synthetic_seismogram(np.random.default_rng(RECORD_SEED + 1), 3000)
    level = int(0.6 * np.abs(truth).max())
    (root / "checked.txt").write_text("".join(f"{value}\n" for value in np.clip(truth, -level, level).tolist()))
    outputs = {}
    for flags in ((), ("--self-check",)):
        output = f"checked{len(flags)}.txt"
        done = seisclip(root, "restore", "checked.txt", "--model", str(model), "--method", "model", "--out", output,
                        *flags)
        assert done.returncode == 0, done.stderr
        assert ("self-check kept" in done.stderr) == bool(flags)
        outputs[flags] = np.loadtxt(root / output, comments="#")
    whole, checked = outputs[()], outputs[("--self-check",)]
    kept = float(done.stderr.split("self-check kept ")[1].split("%")[0]) / 100
    values = whole[:, 1]
    departure = whole[:, 3] - values
    # The summary rounds the share kept to a whole per cent.
    assert np.all(np.abs(checked[:, 3] - (values + kept * departure)) <= 0.005 * np.abs(departure) + 1e-6 * level)
