"""The group's own models and prediction commands: a Keras-2 SavedModel with a custom layer and a
legacy .h5 model, made with tf_keras (group_models.py), restored, evaluated and compared by
seisclip with and without ``adopt-model``; predict_clipped_real_data_mean(_heatmap).py."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seisclip.cli import main
from seisclip.errors import SeisclipError
from seisclip.fsio import sha256_file
from seisclip.sets.labels import scale_by_run_length

from conftest import error_line, run_in_process

L = 64
SAVED_MODEL = "set00001_64_600_def002"
H5_NAME = "set00001_64_600_def001"
GROUP_STRIDE, SBRL_STRIDE = 20, 10
CLIP_COUNTS = 1500


def clipped_truth(samples: int = 1200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A wave packet in counts, its copy clipped at ±CLIP_COUNTS, and the status."""
    t = np.arange(samples)
    truth = np.round(3000 * np.exp(-((t - 500) / 250.0) ** 2) * np.sin(t / 4.0) + 40 * np.sin(t / 1.3))
    status = (truth >= CLIP_COUNTS).astype(np.int8) - (truth <= -CLIP_COUNTS).astype(np.int8)
    return truth, np.clip(truth, -CLIP_COUNTS, CLIP_COUNTS), status


def write_labelled(path: Path, values: np.ndarray, status: np.ndarray) -> Path:
    path.write_text("index value status\n" + "".join(f"{i} {int(v)} {s}\n" for i, (v, s) in
                                                      enumerate(zip(values.tolist(), status.tolist()))))
    return path


def group_windows(values: np.ndarray, status: np.ndarray, stride: int) -> np.ndarray:
    """Starts of the windows the group's scripts predict: every ``stride`` samples and one flush
    with the end, those holding a clipped sample."""
    starts = list(range(0, values.size - L + 1, stride))
    if starts[-1] != values.size - L:
        starts.append(values.size - L)
    return np.array([start for start in starts if status[start:start + L].any()])


def group_inputs(values: np.ndarray, status: np.ndarray, starts: np.ndarray, sbrl: bool) -> np.ndarray:
    """The windows as the group's scripts fed them: divided by the record's largest |value| with
    the status, or (sbrl) in counts with the run-length status."""
    scale = 1.0 if sbrl else np.abs(values).max()
    windows = np.stack([values[start:start + L] for start in starts]) / scale
    state = np.stack([status[start:start + L] for start in starts]).astype(np.float64)
    return np.stack([windows, scale_by_run_length(state) if sbrl else state], axis=-1).astype(np.float32)


@pytest.fixture(scope="module")
def group(tmp_path_factory) -> Path:
    """A folder with the models of group_models.py, a labelled record and the models' own
    predictions of that record's windows."""
    if importlib.util.find_spec("tf_keras") is None:
        pytest.fail("tf_keras is missing: `make test` installs it (tf-keras matching TensorFlow, without its "
                    "dependencies); these tests make the group's Keras-2 models with it")
    folder = tmp_path_factory.mktemp("group")
    _, values, status = clipped_truth()
    write_labelled(folder / "record.txt", values, status)
    np.save(folder / f"{SAVED_MODEL}.inputs.npy",
            group_inputs(values, status, group_windows(values, status, GROUP_STRIDE), sbrl=False))
    np.save(folder / f"{H5_NAME}.inputs.npy",
            group_inputs(values, status, group_windows(values, status, SBRL_STRIDE), sbrl=True))
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("group_models.py")), str(folder)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.fixture
def models(group, tmp_path, monkeypatch) -> Path:
    """A copy of the group's folder laid out as theirs: models/ and the record, as the working folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    shutil.copytree(group / SAVED_MODEL, tmp_path / "models" / SAVED_MODEL)
    shutil.copy(group / f"{H5_NAME}.h5", tmp_path / "models")
    shutil.copytree(group / "wrong_channels", tmp_path / "models" / "wrong_channels")
    shutil.copy(group / "record.txt", tmp_path)
    return tmp_path / "models"


def restored_columns(path: Path) -> np.ndarray:
    return np.loadtxt(path, skiprows=1)


@pytest.mark.parametrize("name, adopt, stride, sbrl", [
    (SAVED_MODEL, [], GROUP_STRIDE, False),
    (SAVED_MODEL, ["--normalisation", "peak"], GROUP_STRIDE, False),
    (f"{H5_NAME}.h5", ["--normalisation", "none", "--sbrl"], SBRL_STRIDE, True),
])
def test_the_groups_models_predict_as_their_own_keras_does(group, models, name, adopt, stride, sbrl):
    from seisclip.learn.models import load_any_model
    from seisclip.restore.records import read_clipped_record
    from seisclip.restore.inference import ModelRestorer

    if adopt:
        assert main(["adopt-model", str(models / name), *adopt]) == 0
    restorer = ModelRestorer.of(load_any_model(models / name))
    assert (restorer.length, restorer.sbrl) == (L, sbrl)
    record = read_clipped_record("record.txt")
    starts = group_windows(record.values, record.status, stride)
    predicted = restorer.predict_record_windows(record, starts, L)
    expected = np.load(group / f"{name.removesuffix('.h5')}.expected.npy")
    scale = 1.0 if sbrl else np.abs(record.values).max()
    assert predicted.shape == expected.shape == (len(starts), L)
    np.testing.assert_allclose(predicted / scale, expected, rtol=0, atol=1e-5)


@pytest.mark.bad_input("adopted-model-manifest-exists")
def test_adopt_model_records_how_it_is_fed_and_every_files_sha256_and_never_overwrites(models, capsys):
    saved = models / SAVED_MODEL
    assert main(["adopt-model", str(saved), "--normalisation", "peak"]) == 0
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["kind"] == "seisclip adopted model" and manifest["adopted"] is True
    assert manifest["training"] is None and manifest["model_format"] == "savedmodel"
    assert manifest["parameters"] | {} == {"segment_length": L, "channels": 2, "inputs": ["clipped", "status"],
                                           "sbrl": False, "normalisation": "record_peak"}
    assert manifest["format_version"] == 2
    files = {path.relative_to(saved).as_posix() for path in saved.rglob("*") if path.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == files and "saved_model.pb" in files
    assert all(manifest["files"][name] == sha256_file(saved / name) for name in files)
    before = (saved / "manifest.json").read_bytes()
    capsys.readouterr()
    line = error_line(capsys, main, ["adopt-model", str(saved), "--normalisation", "none", "--sbrl"])
    assert line.startswith(f"seisclip adopt-model: error: {saved}/manifest.json: manifest already exists and is kept")
    assert (saved / "manifest.json").read_bytes() == before

    assert main(["adopt-model", str(models / f"{H5_NAME}.h5"), "--normalisation", "none", "--sbrl"]) == 0
    h5_manifest = json.loads((models / f"{H5_NAME}.json").read_text())
    assert h5_manifest["files"] == {f"{H5_NAME}.h5": sha256_file(models / f"{H5_NAME}.h5")}
    assert h5_manifest["parameters"]["sbrl"] is True and h5_manifest["parameters"]["normalisation"] == "none"


def test_a_format_1_manifest_naming_the_choice_scaling_reads_as_its_normalisation(models):
    from seisclip.learn.adopted import AdoptedModel

    saved = models / SAVED_MODEL
    assert main(["adopt-model", str(saved), "--normalisation", "none", "--sbrl"]) == 0
    manifest = json.loads((saved / "manifest.json").read_text())
    parameters = {key: value for key, value in manifest["parameters"].items() if key != "normalisation"}
    (saved / "manifest.json").write_text(json.dumps({**manifest, "format_version": 1,
                                                     "parameters": {**parameters, "scaling": "none"}}))
    assert (AdoptedModel.open(saved).normalisation, AdoptedModel.open(saved).sbrl) == ("none", True)


@pytest.mark.parametrize("name, adopt", [(SAVED_MODEL, None), (SAVED_MODEL, "peak"), (f"{H5_NAME}.h5", "none")])
def test_restore_and_evaluate_run_on_the_groups_models_and_keep_unclipped_samples(models, capsys, name, adopt):
    if adopt:
        assert main(["adopt-model", f"models/{name}", "--normalisation", adopt, *(["--sbrl"] if adopt == "none" else [])]) == 0
    capsys.readouterr()
    status, _, err = run_in_process(capsys, main, ["restore", "record.txt", "--model", f"models/{name}",
                                                   "--out", "restored.txt"])
    assert status == 0, err
    note = [line for line in err if line.startswith("note:")]
    assert (len(note) == 1 and "no seisclip manifest" in note[0] and "adopt-model" in note[0]) if adopt is None \
        else not note
    columns = restored_columns(Path("restored.txt"))
    truth, values, state = clipped_truth()
    np.testing.assert_array_equal(columns[:, 1], values)
    np.testing.assert_array_equal(columns[state == 0, 3], values[state == 0])
    assert np.all(np.abs(columns[state != 0, 3]) >= CLIP_COUNTS)
    assert Path("restored.png").stat().st_size > 10_000

    Path("truth.txt").write_text("".join(f"{int(v)}\n" for v in truth))
    status, out, err = run_in_process(capsys, main, ["evaluate", "--model", f"models/{name}", "--records", "truth.txt",
                                                     "--clip-levels", "0.4", "0.7", "--out-dir", "evaluation", "--quiet"])
    assert status == 0, err
    evaluation = json.loads(Path("evaluation/evaluation.json").read_text())
    assert {"hybrid", "model", "spline"} <= set(evaluation["metrics"])
    assert [row["signals"] for row in evaluation["metrics"]["model"] if row["signals"]] == [1, 1]
    recorded = evaluation["model_manifest_sha256"]
    manifest = Path(f"models/{name}/manifest.json") if adopt and name == SAVED_MODEL else Path(f"models/{H5_NAME}.json")
    assert recorded == (sha256_file(manifest) if adopt else None)


def test_an_evaluation_on_the_test_split_of_a_group_model_is_refused(models, capsys):
    line = error_line(capsys, main, ["evaluate", "--model", f"models/{SAVED_MODEL}"])
    assert line == (f"seisclip evaluate: error: models/{SAVED_MODEL}: a model of the group's own scripts: nothing "
                    "recorded which segments trained it, so there is nothing to evaluate on its test split (restore, "
                    "evaluate --records and compare use it)")


def test_compare_puts_a_group_model_beside_the_baselines(models, capsys):
    assert main(["adopt-model", f"models/{SAVED_MODEL}", "--normalisation", "peak"]) == 0
    family = Path("teleseismic")
    family.mkdir()
    (family / "truth.txt").write_text("".join(f"{int(v)}\n" for v in clipped_truth()[0]))
    status, out, err = run_in_process(capsys, main, ["compare", f"models/{SAVED_MODEL}", "--records",
                                                     "teleseismic/truth.txt", "--clip-levels", "0.5",
                                                     "--out-dir", "comparison", "--quiet"])
    assert status == 0, err
    table = Path("comparison/compare.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith(f"| {SAVED_MODEL} |"))
    assert "adopted SavedModel, record_peak normalisation" in row and "normalisation=" not in row   # one model
    assert Path("comparison/compare.png").stat().st_size > 10_000


@pytest.mark.bad_input("adopted-model-changed-file")
def test_a_group_model_changed_after_adopt_model_is_refused(models, capsys):
    saved = models / SAVED_MODEL
    assert main(["adopt-model", str(saved), "--normalisation", "peak"]) == 0
    variables = next((saved / "variables").glob("*.data-*"))
    data = bytearray(variables.read_bytes())
    data[-1] ^= 1
    variables.write_bytes(bytes(data))
    capsys.readouterr()
    line = error_line(capsys, main, ["restore", "record.txt", "--model", str(saved)])
    assert line == (f"seisclip restore: error: {variables}: sha256 differs from the manifest's: the file changed "
                    "after adopt-model")
    assert not list(Path().glob("record.txt.restored*"))


@pytest.mark.bad_input("adopted-model-broken")
def test_a_broken_savedmodel_is_one_line(models, capsys):
    broken = models / SAVED_MODEL
    (broken / "saved_model.pb").write_bytes(b"not a protocol buffer")
    for command in (["restore", "record.txt", "--model", str(broken)],
                    ["adopt-model", str(broken), "--normalisation", "peak"]):
        line = error_line(capsys, main, command, warnings=1 if command[0] == "restore" else 0)
        assert line.startswith(f"seisclip {command[0]}: error: {broken}: cannot load the SavedModel: "), line
    assert not (broken / "manifest.json").exists() and not list(Path().glob("record.txt.restored*"))


@pytest.mark.bad_input("adopted-model-wrong-shape")
def test_a_group_model_of_another_input_shape_is_one_line(models, capsys):
    line = error_line(capsys, main, ["adopt-model", "models/wrong_channels", "--normalisation", "peak"])
    assert line == ("seisclip adopt-model: error: models/wrong_channels: model maps (None, 64, 3) to (None, 64): "
                    "seisclip restores with networks that map windows (None, L, 1 or 2 channels: clipped[, status]) "
                    "to (None, L)")
    assert not (models / "wrong_channels" / "manifest.json").exists()


@pytest.mark.bad_input("adopted-model-not-a-model")
def test_adopt_model_on_something_else_is_one_line(models, capsys):
    line = error_line(capsys, main, ["adopt-model", "record.txt", "--normalisation", "peak"])
    assert line == ("seisclip adopt-model: error: record.txt: not a SavedModel directory (no saved_model.pb) nor a "
                    "legacy HDF5 model (.h5, .hdf5, .keras_h5)")


# --- the group's prediction commands --------------------------------------------------------------

def predict(capsys, heatmap: bool, *flags: str) -> tuple[int, list[str]]:
    from seisclip.restore.group_scripts import prediction_main

    status, _, err = run_in_process(capsys, prediction_main, heatmap, list(flags))
    return status, err


def group_flags(name: str = SAVED_MODEL, length: int = L, record: str = "record.txt") -> list[str]:
    return ["--number_of_consecutive_samples", str(length), "--modelname", name, "--ASCIIlabelledwaveform", record]


def test_the_heatmap_command_writes_its_plot_and_the_restored_record(models, capsys):
    from matplotlib.image import imread

    status, err = predict(capsys, True, *group_flags())
    assert status == 0, err
    stem = f"record.txt.{SAVED_MODEL}.mean_heatmap"
    image = imread(f"{stem}.png")
    assert image.shape[:2] == (700, 1200)
    red_dots = (image[..., 0] > 0.9) & (image[..., 1] < 0.6) & (image[..., 2] < 0.6)
    assert image[..., :3].std() > 0.05 and red_dots.sum() > 20
    columns = restored_columns(Path(f"{stem}.restored.txt"))
    _, values, state = clipped_truth()
    assert columns.shape == (values.size, 6)
    np.testing.assert_array_equal(columns[state == 0, 3], values[state == 0])
    assert np.all(np.abs(columns[state != 0, 3]) >= CLIP_COUNTS)
    assert np.array_equal(np.isnan(columns[:, 4]), np.isnan(columns[:, 5]))   # a band, or nan for both bounds
    assert Path(f"{stem}.restored.txt.amplitudes.csv").read_text().startswith("trace,start_sample,stop_sample,")


def test_the_mean_command_averages_the_windows_as_the_group_did(group, models, capsys):
    status, err = predict(capsys, False, *group_flags(f"{H5_NAME}.h5"), "--sbrl")
    assert status == 0, err
    restored = restored_columns(Path(f"record.txt.{H5_NAME}.mean.restored.txt"))[:, 3]
    _, values, state = clipped_truth()
    starts = group_windows(values, state, SBRL_STRIDE)
    predictions = np.load(group / f"{H5_NAME}.expected.npy")
    sums, counts = np.zeros(values.size), np.zeros(values.size)
    for start, prediction in zip(starts, predictions):
        sums[start:start + L] += prediction
        counts[start:start + L] += 1
    mean = np.where(state != 0, sums / np.maximum(counts, 1), values)
    consistent = np.where(state > 0, np.maximum(mean, values), np.where(state < 0, np.minimum(mean, values), values))
    np.testing.assert_allclose(restored, consistent, rtol=1e-5, atol=1e-3)
    assert Path(f"record.txt.{H5_NAME}.mean.png").stat().st_size > 10_000


@pytest.mark.bad_input("prediction-window-length")
def test_a_window_length_other_than_the_models_is_one_line(models, capsys):
    status, err = predict(capsys, False, *group_flags(length=128))
    assert status == 1 and len(err) == 2 and err[0].startswith("note:"), err
    assert err[1].endswith(f"error: models/{SAVED_MODEL}: model takes windows of 64 samples, not the "
                           "--number_of_consecutive_samples 128")
    assert not list(Path().glob("record.txt.*"))


@pytest.mark.bad_input("prediction-labelled-bad-line")
@pytest.mark.parametrize("line, problem", [
    ("3 12.5\n", "expected 3 columns 'index value status', found 2"),
    ("3 abc 0\n", "value 'abc' is not a number"),
    ("3 12 2\n", "status '2' is not -1, 0 or 1"),
])
def test_a_labelled_record_with_a_bad_line_is_one_line(models, capsys, line, problem):
    lines = Path("record.txt").read_text().splitlines(keepends=True)
    lines[4] = line
    Path("bad.txt").write_text("".join(lines))
    status, err = predict(capsys, True, *group_flags(record="bad.txt"))
    assert status == 1 and len(err) == 1 and err[0].endswith(f"error: bad.txt:5: {problem}"), err
    assert not list(Path().glob("bad.txt.*"))


@pytest.mark.bad_input("prediction-sbrl-disagrees")
def test_sbrl_against_an_adopted_models_manifest_is_one_line(models, capsys):
    assert main(["adopt-model", f"models/{SAVED_MODEL}", "--normalisation", "peak"]) == 0
    capsys.readouterr()
    status, err = predict(capsys, False, *group_flags(), "--sbrl")
    assert status == 1 and len(err) == 1, err
    assert err[0].endswith(f"models/{SAVED_MODEL}/manifest.json says the model was trained without sbrl; drop --sbrl")


@pytest.mark.bad_input("prediction-window-length")
def test_restore_clipped_waveform_takes_the_groups_flags(models, run):
    status, _, err = run("restore_clipped_waveform.py", *group_flags(), "--output_file", "restored.txt",
                         "--method", "model", cwd=Path.cwd())
    assert status == 0, err
    assert restored_columns(Path("restored.txt")).shape[1] == 6
    status, _, err = run("restore_clipped_waveform.py", *group_flags(length=32), "--output_file", "other.txt",
                         cwd=Path.cwd())
    assert status == 1 and err.strip().splitlines()[-1].endswith("not the --number_of_consecutive_samples 32"), err


def test_a_group_model_with_no_manifest_is_summarised_as_such(models, capsys):
    with pytest.raises(SeisclipError):
        from seisclip.learn.trace import summarise_model
        summarise_model(f"models/{SAVED_MODEL}")
    assert main(["adopt-model", f"models/{SAVED_MODEL}", "--normalisation", "peak"]) == 0
    capsys.readouterr()
    assert main(["summary", f"models/{SAVED_MODEL}"]) == 0
    assert capsys.readouterr().out.startswith(f"{SAVED_MODEL}: adopted SavedModel, record_peak normalisation, adopted ")
    line = error_line(capsys, main, ["trace", f"models/{SAVED_MODEL}"])
    assert "nothing recorded which segments trained it" in line
