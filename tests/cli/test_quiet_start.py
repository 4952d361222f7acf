"""Commands start quietly and, unless they need a network, without TensorFlow.

TensorFlow writes start-up notices straight to stderr on CPUs where oneDNN is on (or with
``TF_ENABLE_ONEDNN_OPTS=1``); seisclip drops them so an error stays one line. Commands that
never need a network do not import TensorFlow or Keras at all, so they start fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

NOTICES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1795981616.743129    2102 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders. To turn "
    "them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.\n"
    "I0000 00:00:1795981616.800146    2102 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.\n"
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the "
    "appropriate compiler flags.\n"
)
WARNING = "W0000 00:00:1795981617.000001    2102 gpu_device.cc:2344] Cannot dlopen some GPU libraries.\n"
ERROR = "E0000 00:00:1795981617.000002    2102 cuda_executor.cc:1228] failed call to cuInit: UNKNOWN ERROR (303)\n"
PYTHON_WARNING = "/x/site-packages/keras/src/layers/layer.py:421: UserWarning: a real warning\n"


def test_notices_are_dropped_and_warnings_errors_and_other_output_kept():
    from seisclip.learn.quiet_tensorflow import without_start_up_notices

    assert without_start_up_notices(NOTICES) == ""
    text = NOTICES + WARNING + PYTHON_WARNING + NOTICES + ERROR + "plain text\n"
    assert without_start_up_notices(text) == WARNING + PYTHON_WARNING + ERROR + "plain text\n"
    # a line after an INFO record that is no continuation of it is kept
    assert without_start_up_notices(NOTICES + "To enable nothing\n") == "To enable nothing\n"


def test_captured_descriptor_2_is_written_on_without_the_notices(capfd):
    from seisclip.learn.quiet_tensorflow import start_up_notices_dropped

    with start_up_notices_dropped():
        os.write(2, NOTICES.encode())
        os.write(2, WARNING.encode())
        print("from Python", file=sys.stderr)
    # (pytest replaces sys.stderr, so Python's line may come first)
    assert sorted(capfd.readouterr().err.splitlines(keepends=True)) == sorted([WARNING, "from Python\n"])


@pytest.mark.parametrize("set_by_user, expected", [(None, "1"), ("0", "0")])
def test_onednn_is_turned_on_unless_the_user_set_it(set_by_user, expected):
    env = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
    if set_by_user is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = set_by_user
    done = subprocess.run([sys.executable, "-c", "import os; import seisclip.learn.quiet_tensorflow; "
                           "print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected + "\n"


def _one_line(done: subprocess.CompletedProcess, message: str) -> None:
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_errors_after_tensorflow_started_are_one_line_with_onednn_on(tmp_path):
    """A failing training command and a failing ``restore --model``: TensorFlow is imported and has
    worked before the error, with oneDNN turned on and no log level set."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_CPP")}
    env.update(TF_ENABLE_ONEDNN_OPTS="1", PYTHON=sys.executable)

    def command(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    _one_line(command("sh", str(REPO_ROOT / "run_create_and_train_model.sh"), "32", "none_32_10", "def001"),
              "indices_files/none_32_10.txt: index file not found")
    _one_line(command(sys.executable, str(REPO_ROOT / "create_and_train_model_def002.py"),
                      "--number_of_consecutive_samples", "32", "--segdefname", "none_32_10", "--epochs", "0"),
              "--epochs")
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.keras").write_bytes(b"not a Keras file")
    (tmp_path / "r.txt").write_text("0\n9\n9\n0\n-9\n-9\n")
    _one_line(command(sys.executable, "-m", "seisclip", "restore", "r.txt", "--model", "model"),
              "manifest.json: manifest not found")


#: Runs the seisclip command (or a top-level script) in this process, then records whether
#: TensorFlow or Keras were imported.
_RUNNER = """
import json, runpy, sys
report, target, *argv = sys.argv[1:]
sys.argv = [target, *argv]
try:
    if target.endswith(".py"):
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module("seisclip", run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as exit:
    code = exit.code
with open(report, "w") as handle:
    json.dump({"code": code, "imported": sorted({"tensorflow", "keras"} & set(sys.modules))}, handle)
"""


def _modules_after(cwd: Path, target: str, *argv: str) -> list[str]:
    report = cwd / "modules.json"
    done = subprocess.run([sys.executable, "-c", _RUNNER, str(report), target, *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    result = json.loads(report.read_text())
    assert result["code"] in (0, None), done.stderr
    return result["imported"]


LIGHT_COMMANDS = (
    ("demo-bank", "--files", "2", "--quiet", "demo"),
    ("select", "--number_of_consecutive_samples", "64", "--number_of_training_segments", "40",
     "--output_file", "indices_files/s_64_40.txt"),
    ("verify", "indices_files/s_64_40.txt"),
    ("adopt", "indices_files/old_64_40.txt", "--quiet"),
    ("verify", "indices_files/old_64_40.txt"),
    ("bank", "ingest", "--metadata", "outfiles_contents_reordered.txt", "--ascii-dir", "bank", "--out", "bank.h5",
     "--quiet"),
    ("bank", "verify", "bank.h5", "--quiet"),
    ("bank", "import", "test.mseed", "--out", "imported.h5", "--quiet"),
    ("export", "indices_files/s_64_40.txt", "--bank", "bank.h5", "--out", "set.h5", "--quiet"),
    ("clip", "bank/19830924.0500.BRV.SKM.s09E0.024.txtseg00000009", "--fraction", "0.4", "--out", "clipped.txt"),
    ("restore", "clipped.txt", "--method", "spline", "--out", "spline.txt"),
    ("restore", "clipped.txt", "--method", "pocs", "--out", "pocs.txt"),
    ("restore", "clipped.txt", "bank/19830924.0500.BRV.SKM.s09E0.024.txtseg00000009", "--method", "spline",
     "--out-dir", "archive", "--quiet"),
    ("verify-restorations", "archive"),
    ("restore", "clipped.txt", "--method", "aspade", "--out", "aspade.txt"),
    ("restore", "clipped.txt", "--method", "cwr", "--out", "cwr.txt"),
)
HELP = ((), ("demo-bank",), ("select",), ("verify",), ("bank",), ("bank", "ingest"), ("bank", "import"),
        ("bank", "verify"), ("export",), ("clip",), ("restore",), ("evaluate",), ("trace",), ("summary",),
        ("adopt",), ("adopt-model",), ("verify-restorations",), ("merge-restorations",), ("compare",),
        ("evaluation-summary",))


def test_commands_without_a_network_never_import_tensorflow(bank, tmp_path):
    import obspy  # its packaged 40 Hz miniSEED file, read only to test the import command

    (tmp_path / "test.mseed").write_bytes((Path(obspy.__file__).parent / "io/mseed/tests/data/test.mseed").read_bytes())
    for argv in LIGHT_COMMANDS:
        if argv[0] == "adopt":   # an index file as the original selector wrote them: no manifest, two decimals
            drawn = (tmp_path / "indices_files/s_64_40.txt").read_text().splitlines()
            (tmp_path / argv[1]).write_text("".join(f"{start} {float(level):.2f} {path}\n" for start, level, path in
                                                    (line.split() for line in drawn)))
        assert _modules_after(tmp_path, "seisclip", *argv) == [], argv
    assert (tmp_path / "set.h5").is_file() and (tmp_path / "pocs.txt").is_file()
    for argv in HELP:
        assert _modules_after(tmp_path, "seisclip", *argv, "--help") == [], argv
    script = str(REPO_ROOT / "select_training_samples.py")
    assert _modules_after(tmp_path, script, "--number_of_consecutive_samples", "64",
                          "--number_of_training_segments", "40", "--output_file", "indices_files/t_64_40.txt") == []
    script = str(REPO_ROOT / "restore_clipped_waveform.py")
    assert _modules_after(tmp_path, script, "--input_file", "clipped.txt", "--method", "spline",
                          "--output_file", "spline2.txt") == []
    for script in ("predict_clipped_real_data_mean.py", "predict_clipped_real_data_mean_heatmap.py"):
        assert _modules_after(tmp_path, str(REPO_ROOT / script), "--help") == [], script


@pytest.mark.parametrize("argv", [("--version",), ("verify", "--help")])
def test_python_dash_m_seisclip_is_the_seisclip_command(argv, tmp_path):
    by_module = subprocess.run([sys.executable, "-m", "seisclip", *argv], cwd=tmp_path, capture_output=True, text=True)
    by_script = subprocess.run([str(Path(sys.executable).with_name("seisclip")), *argv], cwd=tmp_path,
                               capture_output=True, text=True)
    assert by_module.returncode == by_script.returncode == 0
    assert by_module.stdout == by_script.stdout and by_module.stdout.startswith(("seisclip", "usage: seisclip verify"))


@pytest.mark.bad_input("tensorflow-missing")
def test_without_tensorflow_a_command_that_needs_it_says_what_to_install(tmp_path):
    """TensorFlow is an extra (cpu or gpu); a light install runs every other command."""
    code = "import sys; sys.modules['tensorflow'] = None; import seisclip.learn.training"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("seisclip: error: TensorFlow is missing (") and line.endswith(
        "); training and restoring with a model need it: pip install 'seisclip[cpu]' (or '[gpu]' for NVIDIA GPUs)")
