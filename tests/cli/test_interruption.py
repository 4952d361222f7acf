"""Interruption and concurrency: locks on output names, what killed runs leave and how the next
run clears it, two runs of one output at once, and training resumed from its checkpoint."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from seisclip.errors import SeisclipError
from seisclip.fsio import atomic_directory, atomic_files, output_lock

from conftest import REPO_ROOT, write_bank

SELECT = "run_select_training_samples.sh"
LENGTH = 32
SET = f"tiny_{LENGTH}_150"
ENV = {**os.environ, "PYTHON": sys.executable}


def exited_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def hidden(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


# --- locks and leftovers ---------------------------------------------------------------------

def test_a_second_holder_of_an_output_lock_is_refused_and_the_lock_file_removed(tmp_path):
    target = tmp_path / "set.txt"
    with output_lock(target, "index file"):
        assert (tmp_path / ".set.txt.lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(SeisclipError, match=rf"set.txt: another run \(pid {os.getpid()}\) is writing this index "
                                                r"file; wait for it to finish, or choose another name"):
            with output_lock(target, "index file"):
                pass
    assert hidden(tmp_path) == []


def test_a_lock_file_left_by_a_killed_run_is_taken_over(tmp_path):
    (tmp_path / ".set.txt.lock").write_text(f"{exited_pid()}\n")
    with output_lock(tmp_path / "set.txt"):
        assert (tmp_path / ".set.txt.lock").read_text() == f"{os.getpid()}\n"
    assert hidden(tmp_path) == []


def test_stale_temporaries_of_the_output_are_removed_and_nothing_else(tmp_path, capsys):
    dead = exited_pid()
    stale_file = tmp_path / f".set.txt.{dead}.k2x_9a.tmp"
    stale_file.write_text("half an index")
    stale_folder = tmp_path / f".set.txt.{dead}.q8z1mm.tmp"
    stale_folder.mkdir()
    (stale_folder / "model.keras").write_text("half a model")
    kept = [tmp_path / f".set.txt.{os.getppid()}.abc123.tmp",   # its writer (our parent) is running
            tmp_path / f".set.txt.b.{dead}.abc123.tmp",         # a temporary of another output, set.txt.b
            tmp_path / f".set.txt.{dead}.abc123.txt",           # not a temporary name
            tmp_path / "set.txt.lock.tmp"]
    for path in kept:
        path.write_text("kept")
    with output_lock(tmp_path / "set.txt"):
        pass
    assert not stale_file.exists() and not stale_folder.exists()
    assert all(path.read_text() == "kept" for path in kept)
    assert f"note: removed 2 temporaries of {tmp_path / 'set.txt'} left by interrupted runs" in capsys.readouterr().err


def test_a_folder_an_interrupted_overwrite_moved_aside_takes_its_name_back(tmp_path):
    dead = exited_pid()
    aside = tmp_path / f".model.{dead}.replaced"
    aside.mkdir()
    (aside / "manifest.json").write_text("the old model")
    unfinished = tmp_path / f".model.{dead}.ab12cd.tmp"
    unfinished.mkdir()
    with output_lock(tmp_path / "model"):
        pass
    assert (tmp_path / "model" / "manifest.json").read_text() == "the old model"
    assert hidden(tmp_path) == []


def test_atomic_files_take_no_name_if_one_is_taken_or_writing_fails(tmp_path):
    (tmp_path / "set.json").write_text("kept")
    with pytest.raises(SeisclipError, match="set.json: output already exists"):
        with atomic_files([tmp_path / "set.txt", tmp_path / "set.json"]) as (index, manifest):
            index.write_text("new")
            manifest.write_text("new")
    with pytest.raises(RuntimeError):
        with atomic_files([tmp_path / "other.txt"]) as (other,):
            other.write_text("half")
            raise RuntimeError("disk full")
    assert sorted(os.listdir(tmp_path)) == ["set.json"] and (tmp_path / "set.json").read_text() == "kept"


def test_atomic_directory_overwrite_replaces_the_old_folder_and_leaves_nothing_aside(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old").write_text("old")
    with atomic_directory(tmp_path / "model", overwrite=True) as work:
        (work / "new").write_text("new")
    assert os.listdir(tmp_path / "model") == ["new"] and hidden(tmp_path) == []


# --- selection ---------------------------------------------------------------------------------

def test_a_set_killed_between_naming_its_two_files_is_completed_by_the_next_run(bank, run, tmp_path):
    assert run(SELECT, "64", "500", "set1")[0] == 0
    index = tmp_path / "indices_files" / "set1_64_500.txt"
    manifest = index.with_suffix(".json")
    written = manifest.read_bytes()
    manifest.rename(index.parent / f".set1_64_500.json.{exited_pid()}.k3x9_a.tmp")

    code, _, err = run(SELECT, "64", "500", "set1")
    assert code == 1
    assert f"note: {manifest.relative_to(tmp_path)} put in place" in err
    assert "index file already exists" in err
    assert manifest.read_bytes() == written
    assert run("seisclip", "verify", str(index.relative_to(tmp_path)))[0] == 0
    assert hidden(index.parent) == []


def test_a_manifest_temporary_that_does_not_describe_the_index_is_removed_not_used(bank, run, tmp_path):
    assert run(SELECT, "64", "500", "set1")[0] == 0
    index = tmp_path / "indices_files" / "set1_64_500.txt"
    manifest = index.with_suffix(".json")
    half = manifest.read_bytes()[:100]
    manifest.unlink()
    (index.parent / f".set1_64_500.json.{exited_pid()}.k3x9_a.tmp").write_bytes(half)

    code, _, err = run(SELECT, "64", "500", "set1")
    assert code == 1 and "removed 1 temporary" in err and "index file already exists" in err
    assert not manifest.exists() and hidden(index.parent) == []


def start_together(argvs: list[list[str]], cwd: Path) -> list[subprocess.CompletedProcess]:
    """Start the commands at once; wait for all."""
    processes = [subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for argv in argvs]
    outputs = [process.communicate(timeout=600) for process in processes]
    return [subprocess.CompletedProcess(process.args, process.returncode, *output)
            for process, output in zip(processes, outputs)]


def one_succeeded(results: list[subprocess.CompletedProcess], output: str) -> str:
    """Exactly one exit 0; the other exit 1 with one line naming the output; that line."""
    assert sorted(result.returncode for result in results) == [0, 1], [result.stderr for result in results]
    refused = next(result for result in results if result.returncode == 1)
    message = refused.stderr.strip()
    assert len(message.splitlines()) == 1 and output in message, refused.stderr
    assert "is writing this" in message or "already exists" in message, message
    return message


def test_two_selections_of_one_set_at_once_one_succeeds_and_the_set_is_whole(bank, run, tmp_path):
    refused_by_lock = 0
    for attempt in range(5):
        setid = f"race{attempt}"
        output = f"indices_files/{setid}_64_300000.txt"
        results = start_together([["sh", str(REPO_ROOT / SELECT), "64", "300000", setid]] * 2, tmp_path)
        refused_by_lock += "another run (pid" in one_succeeded(results, output)
        assert run("seisclip", "verify", output)[0] == 0
        assert hidden(tmp_path / "indices_files") == []
    assert refused_by_lock, "no attempt overlapped: the lock was never tried"


# --- training ----------------------------------------------------------------------------------

def train_command(*args: str) -> list[str]:
    return ["sh", str(REPO_ROOT / "run_create_and_train_model.sh"), str(LENGTH), SET, "def001", "--quiet", *args]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("interruption")
    write_bank(root, (20, 400, 900, 1500, 3000, 5000))
    done = subprocess.run(["sh", str(REPO_ROOT / SELECT), str(LENGTH), "150", "tiny"], cwd=root, env=ENV,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root


def test_two_trainings_of_one_model_at_once_one_succeeds_and_the_model_is_whole(workspace):
    refused_by_lock = 0
    for attempt, resume in enumerate([(), ("--resume",)]):
        models = f"race{attempt}"
        results = start_together([train_command("--epochs", "1", "--models_dir", models, *resume)] * 2, workspace)
        refused_by_lock += "another run (pid" in one_succeeded(results, f"{models}/{SET}_def001")
        assert sorted(path.name for path in (workspace / models).iterdir()) == [f"{SET}_def001"]
        manifest = json.loads((workspace / models / f"{SET}_def001" / "manifest.json").read_text())
        assert manifest["parameters"]["epochs"] == 1 and manifest["resumed_after_epochs"] == []
        if resume:   # --resume with nothing to resume trains from the start
            winner = next(result for result in results if result.returncode == 0)
            assert (f"note: no interrupted run of {models}/{SET}_def001 to resume; training from the first epoch"
                    in winner.stderr)
    assert refused_by_lock, "no attempt overlapped: the lock was never tried"


def train_in_process(workspace: Path, monkeypatch, *args: str) -> int:
    """The definition script's entry point in this process (TensorFlow is imported once): for the
    refusals, which come before any training."""
    spec = importlib.util.spec_from_file_location("definition_def001", REPO_ROOT / "create_and_train_model_def001.py")
    definition = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(definition)
    monkeypatch.chdir(workspace)
    return definition.train_definition(definition.NAME, definition.build_model, definition.loss,
                                       definition.HYPERPARAMETERS,
                                       ["--number_of_consecutive_samples", str(LENGTH), "--segdefname", SET, *args])


def checkpoint_epochs(folder: Path) -> int:
    return json.loads((folder / "progress.json").read_text())["completed_epochs"]


def test_killed_training_resumes_from_its_last_epoch_to_the_uninterrupted_weights(workspace, monkeypatch, capsys):
    import keras

    done = subprocess.run(train_command("--epochs", "3", "--models_dir", "reference"), cwd=workspace, env=ENV,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    reference = workspace / "reference" / f"{SET}_def001"

    working = workspace / "models" / f".{SET}_def001.work"
    killed = subprocess.Popen(train_command("--epochs", "3"), cwd=workspace, env=ENV, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (working / "checkpoint").exists():
        assert killed.poll() is None, "the run ended before its first checkpoint"
        time.sleep(0.005)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    model_dir = workspace / "models" / f"{SET}_def001"
    assert not model_dir.exists()
    epochs_done = checkpoint_epochs(working / "checkpoint")
    assert sorted(os.listdir(working)) == ["arguments.json", "checkpoint"]

    assert train_in_process(workspace, monkeypatch, "--epochs", "3") == 1
    assert (f"an interrupted run left its checkpoint after epoch {epochs_done} in models/.{SET}_def001.work: "
            "add --resume to continue it, or remove that folder to start again") in capsys.readouterr().err
    assert train_in_process(workspace, monkeypatch, "--epochs", "4", "--seed", "5", "--resume") == 1
    assert (f"--resume: the interrupted run in models/.{SET}_def001.work had epochs 3, not 4; seed "
            in capsys.readouterr().err)
    assert working.exists()

    done = subprocess.run(train_command("--epochs", "3", "--resume"), cwd=workspace, env=ENV, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert f"resuming models/{SET}_def001 after epoch {epochs_done} of 3" in done.stderr
    resumed, uninterrupted = (keras.models.load_model(folder / "model.keras").get_weights()
                              for folder in (model_dir, reference))
    assert all(np.array_equal(a, b) for a, b in zip(resumed, uninterrupted, strict=True))
    manifests = [json.loads((folder / "manifest.json").read_text()) for folder in (model_dir, reference)]
    assert manifests[0]["history"] == manifests[1]["history"]
    assert manifests[0]["test_metrics"] == manifests[1]["test_metrics"]
    assert (manifests[0]["resumed_after_epochs"], manifests[1]["resumed_after_epochs"]) == ([epochs_done], [])
    assert hidden(workspace / "models") == []


@pytest.mark.bad_input("resume-earlier-checkpoint")
def test_a_checkpoint_of_an_earlier_seisclip_is_refused_and_kept(workspace, monkeypatch, capsys):
    working = workspace / "models_earlier" / f".{SET}_def001.work"
    working.mkdir(parents=True)
    (working / "arguments.json").write_text("{}")
    (working / "checkpoint.npz").write_bytes(b"an earlier checkpoint")
    assert train_in_process(workspace, monkeypatch, "--epochs", "3", "--models_dir", "models_earlier", "--resume") == 1
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        f"models_earlier/.{SET}_def001.work holds the checkpoint of an earlier seisclip (checkpoint.npz), which this "
        "one cannot resume: finish the run with that seisclip, or remove the folder to start again")
    assert sorted(os.listdir(working)) == ["arguments.json", "checkpoint.npz"]
    assert (working / "checkpoint.npz").read_bytes() == b"an earlier checkpoint"
