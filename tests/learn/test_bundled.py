"""The models shipped inside the package: taken by name, listed, checked like any other model,
never running their definition, and traceable to training data that their commands make again."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import seisclip.learn.bundled as bundled
from seisclip.cli import main
from seisclip.errors import SeisclipError
from seisclip.fsio import sha256_file
from seisclip.learn.models import model_identity, open_model

from conftest import REPO_ROOT, error_line, run_in_process

#: What the clone's root holds that the reference's rebuild commands use.
REBUILD_FILES = ("linker.sh", "run_select_training_samples.sh", "select_training_samples.py",
                 "outfiles_contents_reordered.txt")


def test_reference_is_the_newest_version_and_a_restoration_names_the_version():
    assert bundled.aliases()["reference"] == "reference-v1"
    assert bundled.known_names()[:2] == ["reference", "reference-v1"]
    handle = open_model("reference")
    assert (handle.name, handle.sampling_rate, handle.segment_length) == ("reference-v1", 40.0, 1024)
    assert model_identity("reference") == model_identity("reference-v1") == "reference-v1"
    assert model_identity("models/x") == "models/x"


def test_a_newer_version_takes_the_bare_name(tmp_path, monkeypatch):
    shutil.copytree(bundled.PRETRAINED / "reference-v1", tmp_path / "reference-v1")
    shutil.copytree(bundled.PRETRAINED / "reference-v1", tmp_path / "reference-v10")
    shutil.copytree(bundled.PRETRAINED / "reference-v1", tmp_path / "reference-v2")
    monkeypatch.setattr(bundled, "PRETRAINED", tmp_path)
    assert bundled.aliases() == {"reference": "reference-v10"}
    assert list(bundled.bundled_models()) == ["reference-v1", "reference-v2", "reference-v10"]


def test_seisclip_models_lists_the_bundled_model_and_the_model_directories(tmp_path, monkeypatch, capsys, tiny_model):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    shutil.copytree(tiny_model, tmp_path / "models" / "tiny_32")
    (tmp_path / "models" / "notes").mkdir()
    status, out, err = run_in_process(capsys, main, ["models"])
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["model", "rate_hz", "window_samples", "definition", "test_mse", "training_data"]
    assert lines[1].split()[:6] == ["reference-v1", "(reference)", "40", "1024", "def004", "0.00294"]
    assert "398 generated seismograms (seisclip demo-bank), 10814 training segments" in lines[1]
    assert lines[2].split()[:5] == ["models/tiny_32", "40", "32", "tiny", "0.10000"]
    assert err == ["note: not listed: models/notes/manifest.json: manifest not found"]


@pytest.mark.bad_input("model-unknown-name")
def test_an_unknown_model_name_is_one_line_naming_the_bundled_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("record.txt").write_text("".join(f"{v}\n" for v in (0, 5, 9, 9, 9, 4, 0, -3) * 20))
    assert error_line(capsys, main, ["restore", "record.txt", "--model", "refrence"]) == (
        "seisclip restore: error: unknown model 'refrence': no such model directory here, and the bundled models are "
        "reference, reference-v1")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["record.txt"]


def test_it_never_runs_its_definition_even_beside_the_script_that_matches_it(tmp_path, monkeypatch):
    shutil.copy(bundled.PRETRAINED / "reference-v1" / "definition.py", tmp_path / "create_and_train_model_def004.py")
    monkeypatch.chdir(tmp_path)
    handle = open_model("reference")
    assert handle.trusted_script() is not None   # def004 lies here byte for byte: any other model would run it
    before = {name for name in sys.modules if name.startswith("seisclip_definition_")}
    loaded = handle.load(trust_definition=True)
    assert loaded.network.input_shape == (None, None, 2)
    assert {name for name in sys.modules if name.startswith("seisclip_definition_")} == before


@pytest.mark.bad_input("bundled-model-changed-file")
def test_a_bundled_model_whose_network_changed_is_refused(tmp_path, monkeypatch):
    shutil.copytree(bundled.PRETRAINED / "reference-v1", tmp_path / "reference-v1")
    monkeypatch.setattr(bundled, "PRETRAINED", tmp_path)
    with open(tmp_path / "reference-v1" / "model.keras", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(SeisclipError) as raised:
        open_model("reference").load()
    assert str(raised.value) == (f"{tmp_path / 'reference-v1' / 'model.keras'}: sha256 differs from the manifest's "
                                 "model_sha256: the file changed after training")


def test_its_manifest_says_how_to_rebuild_its_training_data():
    manifest = json.loads((bundled.PRETRAINED / "reference-v1" / "manifest.json").read_text())
    assert manifest["working_directory"] == "."
    assert manifest["rebuild"]["commands"] == ["seisclip demo-bank demo_bank", "sh linker.sh demo_bank",
                                               "sh run_select_training_samples.sh 1024 20000 set00002"]
    assert manifest["rebuild"]["packaged_waveforms"] == []
    copy = bundled.PRETRAINED / "reference-v1" / bundled.SELECTION_COPY
    assert sha256_file(copy) == manifest["selection_manifest_sha256"]


def test_trace_reports_its_training_data_and_after_the_rebuild_that_they_match(tmp_path):
    def trace() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "seisclip", "trace", "reference"], cwd=tmp_path,
                              capture_output=True, text=True)

    before = trace()
    assert before.returncode == 1
    err = before.stderr.splitlines()
    assert err[0].startswith("trace: reference-v1: trained on 398 seismograms seisclip generates (seisclip demo-bank)")
    assert err[0].endswith("made again in a clone's root by: seisclip demo-bank demo_bank; sh linker.sh demo_bank; "
                           "sh run_select_training_samples.sh 1024 20000 set00002")
    assert ".: none of the 398 waveform files is here: run the commands above first" in err

    for name in REBUILD_FILES:
        shutil.copy(REPO_ROOT / name, tmp_path)
    commands = json.loads((bundled.PRETRAINED / "reference-v1" / "manifest.json").read_text())["rebuild"]["commands"]
    bin_folder = Path(sys.executable).parent
    for command in commands:
        done = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True,
                              env={"PATH": f"{bin_folder}:/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
    after = trace()
    assert after.returncode == 0, after.stderr
    assert after.stdout.count("\n") == 20_001   # the header and every segment of the index file
    assert "trace: reference-v1: index file and 398 waveform files match the recorded sha256" in after.stderr
    assert ("indices_files/set00002_1024_20000.json was made again and describes the same index file"
            in after.stderr)


def test_restore_with_no_model_uses_the_bundled_reference_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    t = np.arange(4000) / 40.0
    truth = np.rint(2000 * np.sin(2 * np.pi * 0.7 * t) * np.exp(-((t - 50) / 12) ** 2))
    np.savetxt("record.txt", np.clip(truth, -1200, 1200), fmt="%d")
    status, _, err = run_in_process(capsys, main, ["restore", "record.txt", "--out-dir", "out", "--quiet"])
    assert status == 0, err
    assert err[0] == ("note: restoring with method hybrid and the bundled model reference-v1 (--model chooses "
                      "another; --method spline, pocs, aspade or cwr needs none)")
    line = json.loads(Path("out/restorations.jsonl").read_text().splitlines()[0])
    assert (line["method"], line["model_dir"]) == ("hybrid", "reference-v1")
    assert line["model_sha256"] == sha256_file(bundled.PRETRAINED / "reference-v1" / "model.keras")
    status, _, err = run_in_process(capsys, main, ["restore", "record.txt", "--method", "pocs", "--out", "pocs.txt"])
    assert status == 0 and not any("bundled" in line for line in err)


def test_bundling_needs_a_versioned_name_and_never_replaces_one(tmp_path, monkeypatch):
    shipped = bundled.PRETRAINED / "reference-v1"
    monkeypatch.setattr(bundled, "PRETRAINED", tmp_path)
    (tmp_path / "reference-v1").mkdir()
    with pytest.raises(SeisclipError, match="must carry its version"):
        bundled.bundle(shipped, "reference", ["true"])
    with pytest.raises(SeisclipError, match="bundled model already exists"):
        bundled.bundle(shipped, "reference-v1", ["true"])
    assert list((tmp_path / "reference-v1").iterdir()) == []


def test_an_evaluation_names_the_bundled_models_version(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    t = np.arange(3000) / 40.0
    np.savetxt("record.txt", np.rint(1500 * np.sin(2 * np.pi * 0.9 * t) * np.exp(-((t - 37) / 9) ** 2)), fmt="%d")
    status, _, err = run_in_process(capsys, main, ["evaluate", "--model", "reference", "--records", "record.txt",
                                                   "--clip-fractions", "0.5", "--out-dir", "ev", "--quiet"])
    assert status == 0, err
    report = json.loads(Path("ev/evaluation.json").read_text())
    assert report["model_dir"] == "reference-v1"
    assert report["model_manifest_sha256"] == sha256_file(bundled.PRETRAINED / "reference-v1" / "manifest.json")
