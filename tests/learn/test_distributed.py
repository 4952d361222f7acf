"""Training with ``--strategy`` and ``--precision``: a cluster of two workers on this machine
(the chief alone writes), resuming it, one-machine mirrored training, mixed precision, and
the bad ``TF_CONFIG``s.

Multiworker runs are subprocesses (MultiWorkerMirroredStrategy must configure TensorFlow before
its first op); the others run in this process, through the definition script's entry point.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from seisclip.sets.selection import SelectionRequest, select_segments

from conftest import METADATA_NAME, REPO_ROOT, write_bank

LENGTH = 64
SET = f"dist_{LENGTH}_300"
MODEL = f"{SET}_def001"
DEF001 = "create_and_train_model_def001.py"
EPOCHS = "3"
BATCH = "32"
ENV = dict(os.environ)
#: Seconds a two-worker run may take before both workers are killed.
CLUSTER_TIMEOUT = 240


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A bank and a set of 300 segments of 64 samples."""
    root = tmp_path_factory.mktemp("distributed")
    write_bank(root, (20, 400, 900, 1500, 3000, 5000))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        select_segments(SelectionRequest(LENGTH, 300, "outfiles", METADATA_NAME, f"indices_files/{SET}.txt", seed=3))
    return root


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now (the OS picks them; each socket is closed before use)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                       "task": {"type": "worker", "index": index}})


def training_command(*args: str) -> list[str]:
    return [sys.executable, str(REPO_ROOT / DEF001), "--number_of_consecutive_samples", str(LENGTH),
            "--segdefname", SET, "--quiet", "--batch_size", BATCH, *args]


@contextlib.contextmanager
def cluster(folders: list[Path], logs: Path, *args: str):
    """Start the two workers of a cluster, worker i in ``folders[i]``; yield their processes and
    kill both (their process groups) on the way out, whatever happened."""
    ports = free_ports(2)
    logs.mkdir(parents=True, exist_ok=True)
    processes = []
    try:
        for index, folder in enumerate(folders):
            with open(logs / f"worker{index}.err", "w") as stderr:
                # On the CPU: two processes on one machine would otherwise share its GPUs.
                processes.append(subprocess.Popen(
                    training_command("--strategy", "multiworker", *args), cwd=folder, start_new_session=True,
                    env={**ENV, "TF_CONFIG": tf_config(ports, index), "CUDA_VISIBLE_DEVICES": ""},
                    stdout=subprocess.DEVNULL, stderr=stderr))
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_cluster(folders: list[Path], logs: Path, *args: str) -> list[tuple[int, str]]:
    """Exit status and stderr of each worker of a cluster run to its end."""
    with cluster(folders, logs, *args) as processes:
        deadline = time.monotonic() + CLUSTER_TIMEOUT
        for process in processes:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    return [(process.returncode, (logs / f"worker{index}.err").read_text()) for index, process in enumerate(processes)]


def manifest_of(model_dir: Path) -> dict:
    return json.loads((model_dir / "manifest.json").read_text())


def weights_of(model_dir: Path) -> list[np.ndarray]:
    import keras

    return keras.models.load_model(model_dir / "model.keras").get_weights()


@pytest.fixture(scope="module")
def two_workers(workspace) -> list[tuple[int, str]]:
    """Two workers trained models_cluster/MODEL together, both in the workspace."""
    return run_cluster([workspace, workspace], workspace / "logs_cluster", "--epochs", EPOCHS,
                       "--models_dir", "models_cluster")


# --- two workers ------------------------------------------------------------------------------

def test_two_workers_train_one_model_which_the_chief_alone_writes(workspace, two_workers):
    import keras

    (chief_status, chief_err), (worker_status, worker_err) = two_workers
    assert (chief_status, worker_status) == (0, 0), (chief_err, worker_err)
    models = workspace / "models_cluster"
    # output_lock removes its lock file when released: the model directory is all that is left.
    assert sorted(os.listdir(models)) == [MODEL]
    manifest = manifest_of(models / MODEL)
    distribution = manifest["distribution"]
    assert {key: distribution[key] for key in ("strategy", "replicas", "workers", "task", "precision")} == {
        "strategy": "multiworker", "replicas": 2, "workers": 2, "task": {"type": "worker", "index": 0},
        "precision": "float32"}
    assert [address.split(":")[0] for address in distribution["cluster"]["worker"]] == ["127.0.0.1"] * 2
    assert distribution["devices"] and all(device.startswith("/job:worker/replica:0/task:0/")
                                           for device in distribution["devices"])
    assert all(len(values) == int(EPOCHS) and np.isfinite(values).all() for values in manifest["history"].values())
    assert manifest["parameters"]["batch_size"] == int(BATCH)

    model = keras.models.load_model(models / MODEL / "model.keras")
    prediction = model.predict(np.random.default_rng(0).normal(size=(3, LENGTH, 2)), verbose=0)
    assert prediction.shape == (3, LENGTH) and np.isfinite(prediction).all()
    assert all(weight.dtype == np.float32 for weight in model.get_weights())

    assert "training on 2 replicas over 2 workers; worker 0 here: /job:worker/replica:0/task:0/" in chief_err
    assert f"models_cluster/{MODEL}: test MSE" in chief_err
    assert "training on 2 replicas over 2 workers; worker 1 here: /job:worker/replica:0/task:1/" in worker_err
    assert "worker 1 of 2: trained; the chief writes the model" in worker_err.splitlines()
    # TensorFlow's heartbeat may log a failed RPC after that line when the chief, which hosts the
    # coordination service, exits first (a race at shutdown); neither task may fail.
    assert not any(marker in err for err in (chief_err, worker_err) for marker in ("Traceback", ": error:"))


def tree_of(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` with its size and modification time."""
    return {str(path.relative_to(folder)): (path.lstat().st_size, path.lstat().st_mtime_ns)
            for path in folder.rglob("*")}


def test_a_worker_writes_nothing(workspace, tmp_path):
    """Worker 1 runs in its own copy of the workspace (a node without a shared folder): nothing in
    it changes and its models folder never appears, while the chief writes the model in its own."""
    copy = tmp_path / "worker1"
    shutil.copytree(workspace, copy, symlinks=True, ignore=shutil.ignore_patterns("models*", "logs*"))
    before = tree_of(copy)
    results = run_cluster([workspace, copy], tmp_path / "logs", "--epochs", "1", "--models_dir", "models_apart")
    assert [status for status, _ in results] == [0, 0], results
    assert sorted(os.listdir(workspace / "models_apart")) == [MODEL]
    assert tree_of(copy) == before


@pytest.mark.parametrize("cluster, task, chief, workers", [
    ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, True, 2),
    ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 1}, False, 2),
    ({"chief": ["c:1"], "worker": ["a:1", "b:1"]}, {"type": "chief", "index": 0}, True, 3),
    ({"chief": ["c:1"], "worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, False, 3),
])
def test_the_chief_is_the_chief_task_or_else_worker_0(cluster, task, chief, workers):
    from seisclip.learn.distribution import read_tf_config

    parsed = read_tf_config(json.dumps({"cluster": cluster, "task": task}))
    assert (parsed.is_chief, parsed.workers, parsed.task_type, parsed.task_index) == (
        chief, workers, task["type"], task["index"])


def checkpoint_epochs(folder: Path) -> int:
    return json.loads((folder / "progress.json").read_text())["completed_epochs"]


def train_in_process(*argv: str) -> int:
    """The definition script's entry point in this process."""
    from seisclip.learn.training import train_definition

    spec = importlib.util.spec_from_file_location("definition_def001", REPO_ROOT / DEF001)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return train_definition(script.NAME, script.build_model, script.loss, script.HYPERPARAMETERS,
                            argv=["--number_of_consecutive_samples", str(LENGTH), "--segdefname", SET, "--quiet",
                                  "--batch_size", BATCH, *argv])


def test_a_killed_cluster_resumes_from_the_chiefs_checkpoint_to_the_uninterrupted_weights(
        workspace, two_workers, monkeypatch, capsys, tmp_path):
    assert [status for status, _ in two_workers] == [0, 0]
    working = workspace / "models_resume" / f".{MODEL}.work"
    with cluster([workspace, workspace], tmp_path / "killed", "--epochs", EPOCHS,
                 "--models_dir", "models_resume") as processes:
        deadline = time.monotonic() + CLUSTER_TIMEOUT
        while not (working / "checkpoint").exists():
            assert all(process.poll() is None for process in processes), "a worker ended before the first checkpoint"
            assert time.monotonic() < deadline
            time.sleep(0.005)
    epochs_done = checkpoint_epochs(working / "checkpoint")
    assert 1 <= epochs_done < int(EPOCHS) and not (workspace / "models_resume" / MODEL).exists()

    # The strategy and the precision are arguments of the run: resuming with others is refused.
    monkeypatch.chdir(workspace)
    assert train_in_process("--epochs", EPOCHS, "--models_dir", "models_resume", "--resume",
                            "--precision", "mixed_bfloat16") == 1
    assert "strategy 'multiworker', not 'default'; precision 'float32', not 'mixed_bfloat16'" in capsys.readouterr().err

    results = run_cluster([workspace, workspace], tmp_path / "resumed", "--epochs", EPOCHS,
                          "--models_dir", "models_resume", "--resume")
    assert [status for status, _ in results] == [0, 0], results
    for _, stderr in results:   # each worker restored the chief's checkpoint
        assert f"resuming models_resume/{MODEL} after epoch {epochs_done} of {EPOCHS}" in stderr
    resumed, uninterrupted = workspace / "models_resume" / MODEL, workspace / "models_cluster" / MODEL
    assert sorted(os.listdir(workspace / "models_resume")) == [MODEL]
    manifests = [manifest_of(folder) for folder in (resumed, uninterrupted)]
    assert manifests[0]["resumed_after_epochs"] == [epochs_done]
    assert manifests[0]["history"] == manifests[1]["history"]
    assert all(np.array_equal(a, b) for a, b in zip(weights_of(resumed), weights_of(uninterrupted), strict=True))


# --- one machine: mirrored, mixed precision -----------------------------------------------------

@pytest.fixture
def in_workspace(workspace, monkeypatch, tmp_path):
    """In-process runs in the workspace, writing their models into ``tmp_path``."""
    monkeypatch.chdir(workspace)
    return tmp_path


def test_fit_across_workers_gives_the_history_and_weights_of_keras_fit():
    """The loop a multiworker run trains with, under a strategy where Keras' own fit runs too."""
    import keras
    import tensorflow as tf

    from seisclip.learn.distribution import fit_across_workers
    from seisclip.learn.training import TRAINING_METRICS

    rng = np.random.default_rng(0)
    inputs, targets = rng.normal(size=(2, 64, LENGTH, 2)).astype(np.float32)
    training = tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(16).repeat(3)
    validation = tf.data.Dataset.from_tensor_slices((inputs[:20], targets[:20])).batch(16)
    strategy = tf.distribute.MirroredStrategy()

    class Logs(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.history = {}

        def on_epoch_end(self, epoch, logs=None):
            for key, value in logs.items():
                self.history.setdefault(key, []).append(value)

    def compiled():
        keras.utils.set_random_seed(3)
        with strategy.scope():
            window = keras.Input((LENGTH, 2))
            model = keras.Model(window, keras.layers.Dense(LENGTH)(keras.layers.Flatten()(window)))
            model.compile(optimizer="adam", loss=lambda target, prediction: keras.ops.mean(
                keras.ops.square(target[..., 0] - prediction), axis=-1), metrics=list(TRAINING_METRICS))
        return model

    ours, logs = compiled(), Logs()
    fit_across_workers(ours, strategy, TRAINING_METRICS, training, validation, 4, 1, 3, [logs], 0)
    theirs = compiled()
    history = theirs.fit(training, validation_data=validation, steps_per_epoch=4, initial_epoch=1, epochs=3,
                         verbose=0, shuffle=False).history
    assert set(logs.history) == set(history) == {"loss", "restored_mse", "restored_mae", "val_loss",
                                                 "val_restored_mse", "val_restored_mae"}
    assert all(np.allclose(logs.history[key], history[key], rtol=1e-6) and len(history[key]) == 2 for key in history)
    assert all(np.array_equal(a, b) for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True))


def test_mirrored_trains_on_every_replica_of_this_machine_and_records_them(in_workspace, capsys):
    assert train_in_process("--epochs", "1", "--strategy", "mirrored", "--models_dir", str(in_workspace / "m")) == 0
    mirrored_err = capsys.readouterr().err
    assert train_in_process("--epochs", "1", "--models_dir", str(in_workspace / "d")) == 0
    mirrored, default = (manifest_of(in_workspace / folder / MODEL) for folder in ("m", "d"))
    distribution = mirrored["distribution"]
    assert distribution["strategy"] == "mirrored" and distribution["replicas"] == len(distribution["devices"]) >= 1
    assert (distribution["workers"], distribution["task"], distribution["cluster"]) == (1, None, None)
    replicas = f"{distribution['replicas']} replica{'s' if distribution['replicas'] > 1 else ''}"
    line = f"training on {replicas}: {', '.join(distribution['devices'])}"
    if not any("GPU" in device for device in distribution["devices"]):
        line += " (no GPU visible: --strategy mirrored uses the CPU)"
    assert line in mirrored_err.splitlines()
    assert default["distribution"]["strategy"] == "default" and default["distribution"]["replicas"] == 1
    if distribution["replicas"] == 1:   # one replica: the same training as without a strategy
        for key, values in default["history"].items():
            np.testing.assert_allclose(mirrored["history"][key], values, rtol=1e-6, err_msg=key)


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_and_saves_a_float32_model(in_workspace, precision):
    import keras

    assert train_in_process("--epochs", "1", "--precision", precision, "--models_dir", str(in_workspace)) == 0
    assert keras.mixed_precision.global_policy().name == "float32"
    manifest = manifest_of(in_workspace / MODEL)
    assert manifest["distribution"]["precision"] == precision
    assert all(np.isfinite(values).all() for values in manifest["history"].values())
    model = keras.models.load_model(in_workspace / MODEL / "model.keras")
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    assert all(weight.dtype == np.float32 for weight in model.get_weights())
    prediction = model.predict(np.zeros((2, LENGTH, 2)), verbose=0)
    assert prediction.dtype == np.float32 and np.isfinite(prediction).all()


def test_mixed_float16_resumes_with_its_loss_scale_to_the_uninterrupted_weights(in_workspace, monkeypatch, capsys):
    """Keras wraps the optimizer in a LossScaleOptimizer: its loss scale is in the checkpoint too."""
    import keras

    from seisclip.learn import resume

    args = ("--epochs", "2", "--precision", "mixed_float16")
    assert train_in_process(*args, "--models_dir", str(in_workspace / "reference")) == 0

    save_epoch = resume.Checkpoint.on_epoch_end

    def interrupt_after_the_first_epoch(self, epoch, logs=None):
        save_epoch(self, epoch, logs)
        optimizer = self.model.optimizer
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        with h5py.File(self.folder / "model.weights.h5") as weights:
            saved = list(weights["optimizer"]["vars"])
        assert len(saved) == len(optimizer.variables) > len(optimizer.inner_optimizer.variables)
        raise KeyboardInterrupt

    monkeypatch.setattr(resume.Checkpoint, "on_epoch_end", interrupt_after_the_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        train_in_process(*args, "--models_dir", str(in_workspace / "resumed"))
    assert keras.mixed_precision.global_policy().name == "float32"
    monkeypatch.setattr(resume.Checkpoint, "on_epoch_end", save_epoch)
    assert train_in_process(*args, "--models_dir", str(in_workspace / "resumed"), "--resume") == 0
    assert f"resuming {in_workspace / 'resumed' / MODEL} after epoch 1 of 2" in capsys.readouterr().err
    resumed, reference = (in_workspace / folder / MODEL for folder in ("resumed", "reference"))
    assert manifest_of(resumed)["history"] == manifest_of(reference)["history"]
    assert all(np.array_equal(a, b) for a, b in zip(weights_of(resumed), weights_of(reference), strict=True))


# --- bad input ----------------------------------------------------------------------------------

def one_error_line(capsys, *argv: str) -> str:
    """The one stderr line of a training run that failed with exit status 1."""
    try:
        status = train_in_process(*argv)
    except SystemExit as exit_:   # argparse errors exit through the parser
        status = exit_.code
    lines = capsys.readouterr().err.splitlines()
    assert status == 1 and len(lines) == 1, lines
    return lines[0]


@pytest.mark.bad_input("strategy-no-tf-config")
def test_multiworker_without_tf_config_is_one_error_line(in_workspace, workspace, monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    before = sorted(os.listdir(workspace))
    assert one_error_line(capsys, "--strategy", "multiworker", "--models_dir", str(in_workspace / "models")) == (
        f"{DEF001}: error: TF_CONFIG: not set: --strategy multiworker reads the cluster and this task from it; "
        'expected e.g. {"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}')
    assert sorted(os.listdir(workspace)) == before and not (in_workspace / "models").exists()


@pytest.mark.parametrize("config, problem", [
    pytest.param("{cluster: worker}", "not JSON (Expecting property name enclosed in double quotes: "
                                      "line 1 column 2 (char 1))", id="not-json"),
    pytest.param('["127.0.0.1:1"]', 'needs a "cluster" object and a "task" object', id="not-an-object"),
    pytest.param('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}',
                 """"cluster" must list "worker" (and at most one "chief") addresses, not ['ps']""", id="ps"),
    pytest.param('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}',
                 '"task" "index" 2 is not the index of one of the 2 "worker" addresses', id="index"),
    pytest.param('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}',
                 """"task" "type" 'chief' is not a job of "cluster\"""", id="type"),
])
@pytest.mark.bad_input("strategy-bad-tf-config")
def test_multiworker_with_a_malformed_tf_config_is_one_error_line(in_workspace, workspace, monkeypatch, capsys,
                                                                  config, problem):
    monkeypatch.setenv("TF_CONFIG", config)
    before = sorted(os.listdir(workspace))
    line = one_error_line(capsys, "--strategy", "multiworker", "--models_dir", str(in_workspace / "models"))
    assert line.startswith(f"{DEF001}: error: TF_CONFIG: {problem}"), line
    assert sorted(os.listdir(workspace)) == before and not (in_workspace / "models").exists()


def test_an_unknown_strategy_or_precision_is_refused_by_the_parser(in_workspace, capsys):
    assert one_error_line(capsys, "--strategy", "foo") == (
        f"{DEF001}: error: argument --strategy: invalid choice: 'foo' "
        "(choose from 'default', 'mirrored', 'multiworker') (see --help)")
    assert one_error_line(capsys, "--precision", "float16") == (
        f"{DEF001}: error: argument --precision: invalid choice: 'float16' "
        "(choose from 'float32', 'mixed_float16', 'mixed_bfloat16') (see --help)")
