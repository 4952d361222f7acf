"""Training through the user's wrappers: model directory, provenance, repeatability, new definitions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seisclip.fsio import sha256_file
from seisclip.learn.manifest import ModelManifest
from seisclip.sets.split import split_positions

from conftest import REPO_ROOT, write_bank

LENGTH = 32
SET = f"tiny_{LENGTH}_150"
MODEL = f"models/{SET}_def001"
ENV = {**os.environ, "PYTHON": sys.executable}


def sh(cwd: Path, script: str, *args: str, folder: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(folder / script), *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=300)


def python(cwd: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)


def make_set(root: Path, length: int, count: int, setid: str = "tiny") -> str:
    done = sh(root, "run_select_training_samples.sh", str(length), str(count), setid)
    assert done.returncode == 0, done.stderr
    return f"{setid}_{length}_{count}"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A bank, one set and one def001 model trained for one epoch through the wrapper."""
    root = tmp_path_factory.mktemp("training")
    write_bank(root, (20, 400, 900, 1500, 3000, 5000))
    assert make_set(root, LENGTH, 150) == SET
    done = sh(root, "run_create_and_train_model.sh", str(LENGTH), SET, "def001", "--epochs", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    return root


def manifest_of(model_dir: Path) -> dict:
    return json.loads((model_dir / "manifest.json").read_text())


def test_model_directory_holds_model_manifest_history_plot_and_definition(workspace):
    model_dir = workspace / MODEL
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "definition.py", "history.csv", "manifest.json", "model.keras", "training_curves.png"]
    assert (model_dir / "definition.py").read_bytes() == (REPO_ROOT / "create_and_train_model_def001.py").read_bytes()
    history = (model_dir / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,loss,") and len(history) == 2
    assert (model_dir / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in (workspace / "models").iterdir() if p.name.startswith(".")], "temporary folder left"


def test_manifest_records_provenance(workspace):
    manifest = manifest_of(workspace / MODEL)
    index = workspace / "indices_files" / f"{SET}.txt"
    assert manifest["index_sha256"] == sha256_file(index)
    assert manifest["selection_manifest_sha256"] == sha256_file(index.with_suffix(".json"))
    assert manifest["selection_seed"] == json.loads(index.with_suffix(".json").read_text())["seed"]
    assert manifest["definition"] == "def001"
    assert manifest["definition_sha256"] == sha256_file(REPO_ROOT / "create_and_train_model_def001.py")
    parameters = manifest["parameters"]
    assert (parameters["segment_length"], parameters["epochs"], parameters["batch_size"]) == (LENGTH, 1, 64)
    assert parameters["sbrl"] is False and parameters["normalisation"] == "peak" and parameters["min_peak"] == 50
    assert isinstance(manifest["seed"], int)
    assert set(manifest["history"]) >= {"loss", "val_loss", "restored_mse"}
    assert all(len(values) == 1 for values in manifest["history"].values())
    metrics = manifest["test_metrics"]
    assert metrics["mse"] > 0 and metrics["mae"] > 0 and metrics["clipped_input_mse"] > 0
    assert {"keras", "tensorflow", "numpy", "seisclip"} <= set(manifest["versions"])
    assert "git_commit" in manifest and manifest["wall_time_s"] > 0
    # oneDNN changes the numerics, and seisclip turns it on unless the user set the variable
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1")
    assert manifest["tensorflow_cpu_settings"] == {"TF_ENABLE_ONEDNN_OPTS": onednn}


def test_the_written_manifest_is_format_5_and_reads_back_to_the_same_json(workspace):
    raw = manifest_of(workspace / MODEL)
    manifest = ModelManifest.read(workspace / MODEL / "manifest.json")
    assert raw["format_version"] == manifest.format_version == 5
    assert raw["imported_definitions"] == []   # def001 imports no other definition
    assert manifest.to_json() == raw and list(manifest.to_json()) == list(raw)
    assert (manifest.set_name, manifest.parameters.min_peak_counts, manifest.parameters.segment_length) == (SET, 50, LENGTH)
    assert manifest.run["versions"] == raw["versions"] and manifest.run["command"] == raw["command"]


def test_manifest_accounts_for_every_index_line_once(workspace):
    manifest = manifest_of(workspace / MODEL)
    lines = (workspace / "indices_files" / f"{SET}.txt").read_text().splitlines()
    rows = manifest["segments"]["rows"]
    assert [row[0] for row in rows] == list(range(1, len(lines) + 1))
    for row, line in zip(rows, lines):
        istart, rscale, path = line.split()
        assert (row[1], row[2], manifest["files"][row[3]]["path"]) == (int(istart), float(rscale), path)
    fates = [row[4] for row in rows]
    counts = manifest["segment_counts"]
    assert fates.count("train") == counts["train"] and fates.count("test") == counts["test"]
    assert counts["train"] + counts["validation"] + counts["test"] == counts["used"]
    skipped = [fate for fate in fates if fate.startswith("skipped: ")]
    assert len(skipped) == sum(manifest["skipped"].values()) == counts["index_lines"] - counts["used"]
    assert abs(counts["train"] - 0.7 * counts["used"]) <= 1


def test_split_is_seeded_and_disjoint():
    parts = split_positions(1000, seed=5)
    assert [len(parts[name]) for name in ("train", "validation", "test")] == [700, 150, 150]
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(1000))
    again = split_positions(1000, seed=5)
    assert all(np.array_equal(parts[name], again[name]) for name in parts)
    assert not np.array_equal(parts["test"], split_positions(1000, seed=6)["test"])


def test_model_loads_with_plain_keras_in_a_fresh_process(workspace):
    done = python(workspace, "import keras, numpy as np\n"
                  f"model = keras.models.load_model('{MODEL}/model.keras')\n"
                  f"print(model.predict(np.zeros((3, {LENGTH}, 2)), verbose=0).shape)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"(3, {LENGTH})"


def test_existing_model_directory_is_never_overwritten(workspace):
    before = (workspace / MODEL / "manifest.json").read_bytes()
    done = sh(workspace, "run_create_and_train_model.sh", str(LENGTH), SET, "def001", "--epochs", "1", "--quiet")
    assert done.returncode == 1
    assert "already exists" in done.stderr and MODEL in done.stderr
    assert (workspace / MODEL / "manifest.json").read_bytes() == before


def test_same_seed_gives_same_split_and_loss_history(workspace):
    done = sh(workspace, "run_create_and_train_model.sh", str(LENGTH), SET, "def001", "--epochs", "1", "--quiet",
              "--models_dir", "models_again")
    assert done.returncode == 0, done.stderr
    first, second = manifest_of(workspace / MODEL), manifest_of(workspace / "models_again" / f"{SET}_def001")
    assert first["seed"] == second["seed"]
    assert first["segments"] == second["segments"]
    assert first["history"] == second["history"]


def test_sbrl_wrapper_trains_a_distinct_model(workspace):
    done = sh(workspace, "run_create_and_train_model_sbrl.sh", str(LENGTH), SET, "def001", "--epochs", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    manifest = manifest_of(workspace / "models" / f"{SET}_sbrl_def001")
    assert manifest["parameters"]["sbrl"] is True and manifest["model_name"] == f"{SET}_sbrl_def001"


def test_trace_lists_every_segment_and_detects_a_changed_waveform(workspace):
    done = subprocess.run([sys.executable, "-m", "seisclip.cli", "trace", MODEL], cwd=workspace, env=ENV,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()[1:]
    lines = (workspace / "indices_files" / f"{SET}.txt").read_text().splitlines()
    assert len(rows) == len(lines)
    number, split, istart, rscale, path = rows[0].split("\t")
    assert number == "1" and lines[0] == f"{istart} {rscale} {path}"
    assert {row.split("\t")[1] for row in rows} >= {"train", "validation", "test"}
    assert "match the recorded sha256" in done.stderr

    changed = workspace / "trace_copy"
    shutil.copytree(workspace, changed, symlinks=True)
    manifest = manifest_of(changed / MODEL)
    manifest["working_directory"] = str(changed)
    (changed / MODEL / "manifest.json").write_text(json.dumps(manifest))
    victim = changed / "bank" / Path(path).name
    victim.write_text(victim.read_text().replace("\n", "\n0\n", 1))
    done = subprocess.run([sys.executable, "-m", "seisclip.cli", "trace", MODEL], cwd=changed, env=ENV,
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert f"{Path(path).name}: waveform file sha256" in done.stderr


@pytest.mark.parametrize("length", [128, 512])
def test_segment_length_comes_from_the_argument(tmp_path, length):
    write_bank(tmp_path, (600, 900, 1200, 2000))
    stem = make_set(tmp_path, length, 40)
    done = sh(tmp_path, "run_create_and_train_model.sh", str(length), stem, "def001", "--epochs", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    loaded = python(tmp_path, "import keras\n"
                    f"model = keras.models.load_model('models/{stem}_def001/model.keras')\n"
                    "print(model.input_shape, model.output_shape)")
    assert loaded.stdout.strip() == f"(None, {length}, 2) (None, {length})", loaded.stderr


GAUSSIAN_LAYER = '''

@keras.saving.register_keras_serializable(package=NAME)
class GaussianSmoothing(layers.Layer):
    """Fixed Gaussian smoothing of the restored segment."""

    def __init__(self, sigma=1.5, **kwargs):
        super().__init__(**kwargs)
        self.sigma = sigma
        offsets = np.arange(-4, 5, dtype="float32")
        kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
        self.kernel = (kernel / kernel.sum()).reshape(-1, 1, 1)

    def call(self, x):
        return ops.squeeze(ops.conv(ops.expand_dims(x, -1), self.kernel, padding="same"), -1)

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}
'''


def test_a_copied_definition_with_a_custom_layer_trains_and_loads(workspace, tmp_path):
    """Copy def001 to def002, change only the model, run it through the wrapper, load it back."""
    for script in ("run_create_and_train_model.sh",):
        shutil.copy(REPO_ROOT / script, tmp_path / script)
    source = (REPO_ROOT / "create_and_train_model_def001.py").read_text()
    source = source.replace('NAME = "def001"', 'NAME = "def002"').replace("import keras\n", "import keras\nimport numpy as np\n")
    source = source.replace("\n\ndef build_model", GAUSSIAN_LAYER + "\n\ndef build_model")
    source = source.replace('outputs = layers.Dense(segment_length, name="restored")(x)',
                            'outputs = GaussianSmoothing(name="restored")(layers.Dense(segment_length)(x))')
    (tmp_path / "create_and_train_model_def002.py").write_text(source)

    done = sh(workspace, "run_create_and_train_model.sh", str(LENGTH), SET, "def002", "--epochs", "1", "--quiet",
              "--models_dir", str(tmp_path / "models"), folder=tmp_path)
    assert done.returncode == 0, done.stderr
    model_dir = tmp_path / "models" / f"{SET}_def002"
    assert manifest_of(model_dir)["definition"] == "def002"
    loaded = python(tmp_path, "import keras, numpy as np\n"
                    "from seisclip.learn.model_dir import load_model\n"
                    f"loaded = load_model('{model_dir}')\n"
                    "model, manifest = loaded.network, loaded.manifest\n"
                    "print(type(model.get_layer('restored')).__name__, manifest.definition)\n"
                    f"plain = keras.models.load_model('{model_dir}/model.keras')\n"
                    f"x = np.random.default_rng(0).normal(size=(2, {LENGTH}, 2))\n"
                    "print(np.array_equal(model.predict(x, verbose=0), plain.predict(x, verbose=0)))")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["GaussianSmoothing", "def002", "True"]


def test_index_edited_after_its_manifest_is_refused(workspace, tmp_path):
    root = tmp_path / "edited"
    shutil.copytree(workspace, root, symlinks=True, ignore=shutil.ignore_patterns("models*"))
    index = root / "indices_files" / f"{SET}.txt"
    index.write_text(index.read_text().replace(" ", "  ", 1))
    done = sh(root, "run_create_and_train_model.sh", str(LENGTH), SET, "def001", "--epochs", "1", "--quiet")
    assert done.returncode == 1
    assert "changed after its manifest" in done.stderr and not (root / "models").exists()


def test_segment_length_other_than_the_index_files_is_refused(workspace):
    done = sh(workspace, "run_create_and_train_model.sh", "64", SET, "def001", "--epochs", "1", "--quiet")
    assert done.returncode == 1
    assert f"drawn with segments of {LENGTH} samples, not the 64" in done.stderr


def test_missing_index_file_is_one_clear_line(workspace):
    done = sh(workspace, "run_create_and_train_model.sh", str(LENGTH), "no_such_set", "def001")
    assert done.returncode == 1
    assert done.stderr.strip().endswith("indices_files/no_such_set.txt: index file not found")


@pytest.mark.parametrize("args, message", [
    ((), "usage:"),
    (("32", SET), "usage:"),
    (("32", SET, "def999"), "no model definition 'def999'"),
    (("x32", SET, "def001"), "SEGLEN must be a positive integer"),
    (("32", SET, "../def001"), "DEF '../def001' must be"),
    (("32", SET, "def001", "--epochs", "1", "--overwrite"), "the wrappers never overwrite a model"),
])
def test_training_wrapper_arguments(workspace, args, message):
    done = sh(workspace, "run_create_and_train_model.sh", *args)
    assert done.returncode == 1 and message in done.stderr


@pytest.mark.parametrize("stream", [False, True], ids=["bank", "bank-stream"])
def test_training_from_the_hdf5_bank_matches_training_from_the_ascii_files(workspace, stream):
    """Same split, same batches, same loss history and metrics: only where the samples come from differs."""
    name = "stream" if stream else "bank"
    bank_file = f"{name}.h5"
    done = subprocess.run([sys.executable, "-m", "seisclip.cli", "bank", "ingest", "--metadata",
                           "outfiles_contents_reordered.txt", "--ascii-dir", "outfiles", "--out", bank_file, "--quiet"],
                          cwd=workspace, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = sh(workspace, "run_create_and_train_model.sh", str(LENGTH), SET, "def001", "--epochs", "1", "--quiet",
              "--models_dir", f"models_{name}", "--bank", bank_file, *(["--stream"] if stream else []))
    assert done.returncode == 0, done.stderr
    from_ascii, from_bank = manifest_of(workspace / MODEL), manifest_of(workspace / f"models_{name}" / f"{SET}_def001")
    for field in ("seed", "segments", "files", "skipped", "history", "test_metrics"):
        assert from_bank[field] == from_ascii[field], field
    assert from_ascii["bank"]["kind"] == "ascii" and from_ascii["parameters"]["stream"] is False
    assert from_bank["bank"]["kind"] == "hdf5" and from_bank["bank"]["path"] == bank_file
    assert from_bank["bank"]["sha256"] == sha256_file(workspace / bank_file)
    assert from_bank["parameters"]["stream"] is stream


def test_stream_needs_a_bank(workspace):
    done = sh(workspace, "run_create_and_train_model.sh", str(LENGTH), SET, "def001", "--stream")
    assert done.returncode == 1
    assert "--stream reads from an HDF5 bank: give --bank BANK.h5" in done.stderr
