"""The restoration methods behind one protocol and one registry, and the model handles behind one
protocol: a toy method registered here runs through ``restore`` and ``evaluate``; a fake model
handle that implements only :class:`~seisclip.learn.models.ModelHandle` runs through ``restore``
(one record and an archive), ``evaluate``, ``compare``, ``trace`` and ``summary``."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import model_manifest, run_in_process
from seisclip.bank.clipping import runs_of
from seisclip.cli import build_parser, main
from seisclip.fsio import sha256_file
from seisclip.learn import manifest as manifest_module
from seisclip.learn import models
from seisclip.learn.model_dir import LoadedModel, ModelDirectory
from seisclip.restore.baselines import enforce_clip_consistency
from seisclip.restore.methods import WINDOW_SPREAD, RecordByRecord
from seisclip.restore.output import plot_restoration
from seisclip.restore.records import ClippedRecord
from seisclip.restore.registry import RECOMMENDED, REGISTRY, MethodEntry, build_method, method_names
from seisclip.sets.channels import resolve
from seisclip.sets.pairs import Representation


def clipped_wave(samples: int = 400, fraction: float = 0.5) -> tuple[np.ndarray, ClippedRecord]:
    t = np.arange(samples)
    truth = 1000.0 * np.sin(2 * np.pi * t / 23.0) * np.exp(-((t - samples / 2) / (samples / 4)) ** 2) + 3.0 * np.cos(t)
    level = fraction * np.abs(truth).max()
    status = (truth >= level).astype(np.int8) - (truth <= -level).astype(np.int8)
    return truth, ClippedRecord("wave.txt", np.clip(truth, -level, level), status, level, -level)


def assert_clip_consistent(record: ClippedRecord, restored: np.ndarray) -> None:
    assert (restored[record.status > 0] >= record.clip_high).all()
    assert (restored[record.status < 0] <= record.clip_low).all()
    np.testing.assert_array_equal(restored[record.status == 0], record.values[record.status == 0])


# --- the registry ---------------------------------------------------------------------------------

def test_restore_offers_the_registrys_methods_and_defaults_to_its_recommended_one(capsys):
    assert list(REGISTRY) == ["hybrid", "model", "spline", "pocs", "aspade", "cwr"]
    assert build_parser().parse_args(["restore", "r.txt"]).method == RECOMMENDED == "hybrid"
    assert REGISTRY[RECOMMENDED].needs_model
    with pytest.raises(SystemExit):
        build_parser().parse_args(["restore", "r.txt", "--method", "linear"])
    assert "(choose from 'hybrid', 'model', 'spline', 'pocs', 'aspade', 'cwr')" in capsys.readouterr().err


def test_every_classic_method_gives_a_clip_consistent_restoration_and_only_cwr_a_band():
    _, record = clipped_wave()
    for name in method_names(model=False):
        restoration = build_method(name).restore(record)
        assert restoration.method == name
        if name == "cwr":
            assert restoration.band is not None
            assert restoration.lower.shape == restoration.upper.shape == (record.values.size,)
        else:
            assert restoration.lower is None and restoration.upper is None and restoration.band is None
        assert_clip_consistent(record, restoration.restored)
        assert not restoration.window_spread.any()


def test_a_method_that_needs_a_model_refuses_without_one():
    with pytest.raises(Exception, match="'model' needs --model"):
        build_method("model")
    with pytest.raises(Exception, match="method must be one of"):
        build_method("cubic")


def test_the_networks_spread_across_windows_is_a_named_diagnostic_and_the_hybrid_shares_the_networks_windows(
        tiny_model):
    from seisclip.learn.models import load_any_model
    from seisclip.restore.inference import ModelRestorer
    from seisclip.restore.registry import build_methods

    _, record = clipped_wave()
    restorer = ModelRestorer.of(load_any_model(tiny_model))
    methods = build_methods(["hybrid", "model"], restorer)
    hybrid, network = methods["hybrid"].restore(record), methods["model"].restore(record)
    # Built together, the hybrid's network is the "model" method itself: its windows predicted once.
    assert methods["hybrid"].method.network is methods["model"]
    for restoration in (hybrid, network):
        assert restoration.lower is None and restoration.upper is None
        assert WINDOW_SPREAD in restoration.diagnostics and restoration.windows > 0
        assert_clip_consistent(record, restoration.restored)
    assert network.window_spread[record.clipped].any()
    np.testing.assert_array_equal(network.restored, build_method("model", restorer).restore(record).restored)

    figure = plot_restoration(record, network, "title")
    labels = {text for axis in figure.axes for text in (axis.get_xlabel(), axis.get_ylabel())}
    assert labels == {"sample number (from the record's start)", "amplitude (counts)"}
    # The spread across windows is no band: the figure does not draw it as one.
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == ["restored (model)", "clipped input"]


class Linear(RecordByRecord):
    """A toy method: a straight line across each clipped run, from the sample before it to the one after."""

    name = "linear"

    def estimate(self, record: ClippedRecord) -> np.ndarray:
        values = record.values.astype(np.float64)
        known = np.flatnonzero(~record.clipped)
        line = values.copy()
        for start, stop in runs_of(record.clipped):
            line[start:stop] = np.interp(np.arange(start, stop), known, values[known])
        return enforce_clip_consistency(line, record.values, record.status, record.clip_high, record.clip_low)


@pytest.fixture
def linear(monkeypatch):
    """The toy method, registered by one entry, as a new method's module would register it."""
    monkeypatch.setitem(REGISTRY, "linear", MethodEntry("linear", lambda build: Linear(), "a straight line"))


def test_a_method_registered_by_one_entry_runs_through_restore_and_evaluate(linear, tmp_path, capsys):
    assert build_parser().parse_args(["restore", "r.txt", "--method", "linear"]).method == "linear"
    truth, record = clipped_wave()
    np.savetxt(tmp_path / "truth.txt", truth)
    status, _, err = run_in_process(capsys, main, ["evaluate", "--records", str(tmp_path / "truth.txt"),
                                                   "--clip-fractions", "0.4", "0.7", "--out-dir", str(tmp_path / "ev"),
                                                   "--quiet"])
    assert status == 0, err
    rows = list(csv.DictReader((tmp_path / "ev" / "records.csv").open()))
    by_method = {(row["method"], row["clip_fraction"]): row for row in rows}
    assert {method for method, _ in by_method} == {"spline", "pocs", "aspade", "cwr", "linear", "clipped input"}
    for level in ("0.4", "0.7"):
        # A line between two samples inside the clip levels, pushed to them, is the clipped input.
        assert by_method["linear", level]["rms_clipped"] == by_method["clipped input", level]["rms_clipped"]
        assert float(by_method["spline", level]["rms_clipped"]) < float(by_method["linear", level]["rms_clipped"])
    assert "linear" in {row["method"] for row in csv.DictReader((tmp_path / "ev" / "evaluation.csv").open())}

    labelled = tmp_path / "clipped.txt"
    labelled.write_text("index value status\n" + "".join(
        f"{i} {value:.6f} {flag}\n" for i, (value, flag) in enumerate(zip(record.values, record.status))))
    status, _, err = run_in_process(capsys, main, ["restore", str(labelled), "--method", "linear",
                                                   "--out", str(tmp_path / "out.txt")])
    assert status == 0, err
    restored = np.loadtxt(tmp_path / "out.txt", comments="#")
    np.testing.assert_allclose(restored[:, 3], Linear().estimate(ClippedRecord(
        "r", restored[:, 1], restored[:, 2].astype(np.int8), record.clip_high, record.clip_low)), rtol=1e-9)


# --- the model handle protocol ----------------------------------------------------------------------

class FakeHandle:
    """A model that implements only ModelHandle: a tiny Keras network built here, whose training a
    model directory records."""

    def __init__(self, path: Path, network, record_dir: Path):
        self.path, self.network, self.record_dir = path, network, record_dir
        self.loads = 0

    name = "fake_32"
    manifest_path = None
    normalisation = "clip"
    inputs = ["clipped", "status"]
    sbrl = False
    segment_length = 32
    sampling_rate = 40.0
    lowest_clip_level = 0.1
    custom_names: set[str] = set()
    description = "a fake model of the test"
    definition_name = "fake"
    training_data = "nothing recorded (a fake model of the test)"

    def representation(self, custom=None) -> Representation:
        return Representation(sbrl=False, normalisation="clip", channels=tuple(resolve(self.inputs, {})))

    def check_files(self) -> None:
        pass

    def load(self, trust_definition: bool = False) -> LoadedModel:
        self.loads += 1
        return LoadedModel(self, self.network, {})

    def sha256(self) -> str:
        return "f" * 64

    def files_key(self) -> dict:
        return {"network": self.sha256()}

    def manifest_json(self) -> dict:
        return {}

    def model_columns(self, parameter_count):
        return {"definition": self.description, "parameters": parameter_count, "epochs": None, "training_s": None,
                "test_mse": None, "test_mae": None, "test_mse_clipped": None}

    def summary_lines(self) -> list[str]:
        return [f"{self.name}: {self.description}, L={self.segment_length}"]

    def training_record(self, command: str) -> ModelDirectory:
        return ModelDirectory.open(self.record_dir)

    def fed_as_group_scripts(self, sbrl: bool) -> "FakeHandle":
        return self


@pytest.fixture
def fake_model(tmp_path, monkeypatch, tiny_model):
    """The fake handle at tmp_path/fake_model, its kind known to open_model; its training recorded by
    a model directory whose index file and one waveform file exist with their sha256."""
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(32, 2))
    network = keras.Model(inputs, keras.layers.Dense(32)(keras.layers.Flatten()(inputs)))
    record_dir = tmp_path / "recorded"
    record_dir.mkdir()
    for name in ("model.keras", "definition.py"):
        (record_dir / name).write_bytes((tiny_model / name).read_bytes())
    np.savetxt(tmp_path / "waveform.txt", np.arange(100.0))
    (tmp_path / "index.txt").write_text("waveform.txt 0 0.5\n")
    manifest = model_manifest(32, folder=record_dir)
    manifest.update(index_file="index.txt", index_sha256=sha256_file(tmp_path / "index.txt"),
                    working_directory=str(tmp_path),
                    files=[{"path": "waveform.txt", "sha256": sha256_file(tmp_path / "waveform.txt"), "samples": 100}],
                    segments={"columns": ["index_line", "istart", "rscale", "file", "split"],
                              "rows": [[1, 0, 0.5, 0, "test"]]})
    (record_dir / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "fake_model").mkdir()
    handle = FakeHandle(tmp_path / "fake_model", network, record_dir)
    monkeypatch.setattr(models, "MODEL_KINDS", [(lambda path: path.name == "fake_model", lambda path: handle),
                                                *models.MODEL_KINDS])
    monkeypatch.chdir(tmp_path)
    return handle


def test_a_fake_model_handle_runs_through_restore_evaluate_compare_trace_summary_and_models(fake_model, tmp_path,
                                                                                          capsys):
    truth, record = clipped_wave()
    labelled = tmp_path / "clipped.txt"
    labelled.write_text("index value status\n" + "".join(
        f"{i} {value:.6f} {flag}\n" for i, (value, flag) in enumerate(zip(record.values, record.status))))

    status, _, err = run_in_process(capsys, main, ["restore", str(labelled), "--model", "fake_model",
                                                   "--out", "restored.txt"])
    assert status == 0, err
    assert any("with fake_32" in line for line in err)
    restored = np.loadtxt("restored.txt", comments="#")
    values, flags = restored[:, 1], restored[:, 2].astype(np.int8)
    assert_clip_consistent(ClippedRecord("r", values, flags, values[flags > 0].min(), values[flags < 0].max()),
                           restored[:, 3])
    assert (restored[:, 3] != values)[flags != 0].any()
    # The lower and upper columns: both bounds, or nan for both where the method gives no band.
    assert restored.shape[1] == 6 and np.array_equal(np.isnan(restored[:, 4]), np.isnan(restored[:, 5]))

    status, _, err = run_in_process(capsys, main, ["restore", str(labelled), "--model", "fake_model", "--method",
                                                   "model", "--out-dir", "archive", "--quiet"])
    assert status == 0, err
    line, = (json.loads(row) for row in Path("archive/restorations.jsonl").read_text().splitlines())
    assert line["model_sha256"] == "f" * 64 and line["traces"][0]["windows"] > 0

    folder = tmp_path / "family"
    folder.mkdir()
    np.savetxt(folder / "truth.txt", truth)
    status, _, err = run_in_process(capsys, main, ["evaluate", "--model", "fake_model", "--records",
                                                   str(folder / "truth.txt"), "--clip-levels", "0.5",
                                                   "--out-dir", "ev", "--quiet"])
    assert status == 0, err
    methods = {row["method"] for row in csv.DictReader(Path("ev/records.csv").open())}
    assert methods == {"hybrid", "model", "spline", "pocs", "aspade", "cwr", "clipped input"}
    assert json.loads(Path("ev/evaluation.json").read_text())["model_manifest_sha256"] is None

    status, _, err = run_in_process(capsys, main, ["compare", "fake_model", "--records", str(folder / "truth.txt"),
                                                   "--clip-levels", "0.5", "--out-dir", "cmp", "--quiet"])
    assert status == 0, err
    rows = list(csv.DictReader(Path("cmp/compare.csv").open()))
    assert {row["model"] for row in rows} >= {"fake"}
    assert {row["method"] for row in rows if row["model"] == "fake"} >= {"hybrid", "model"}
    assert {row["definition"] for row in rows if row["model"] == "fake"} == {"a fake model of the test"}

    status, out, err = run_in_process(capsys, main, ["trace", "fake_model"])
    assert status == 0, err
    assert out.splitlines()[1:] == ["1\ttest\t0\t0.500\twaveform.txt"]
    assert err[-1].endswith("index file and 1 waveform files match the recorded sha256")

    status, out, err = run_in_process(capsys, main, ["summary", "fake_model"])
    assert (status, out) == (0, "fake_32: a fake model of the test, L=32\n")

    status, out, err = run_in_process(capsys, main, ["models", "--folder", "."])
    assert status == 0, err
    row, = (line for line in out.splitlines() if line.startswith("fake_model "))
    assert row.split()[1:4] == ["40", "32", "a"] and row.endswith("nothing recorded (a fake model of the test)")


def test_an_archive_run_opens_its_model_once_and_reads_its_manifest_once(tiny_model, tmp_path, monkeypatch, capsys):
    reads, recognitions = [], []
    read_manifest = manifest_module.read_manifest
    monkeypatch.setattr(manifest_module, "read_manifest", lambda path: reads.append(Path(path).name) or read_manifest(path))
    monkeypatch.setattr(models, "MODEL_KINDS", [(lambda path, kind=kind: recognitions.append(path) or kind(path), opener)
                                                for kind, opener in models.MODEL_KINDS])
    _, record = clipped_wave()
    np.savetxt(tmp_path / "clipped.txt", record.values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        status, _, err = run_in_process(capsys, main, ["restore", str(tmp_path / "clipped.txt"), "--model",
                                                       str(tiny_model), "--out-dir", str(tmp_path / "out"), "--quiet"])
    assert status == 0, err
    assert reads == ["manifest.json"]
    assert recognitions == [tiny_model]
