"""SIGKILL at random moments: a selection, an ingest and a training run are killed again and again,
20 times each, with seeded random delays spread over every phase of the run.

An uninterrupted run is timed first. Each killed run then targets one phase in turn: it waits
until that phase has begun (a file appears, a line is printed) and is killed a random part of
the phase's length later, so the kills land across the whole run even when the machine is
slower or faster than when it was timed. After every kill: every entry that existed before is
byte-identical (a snapshot of the whole working folder: waveforms, metadata, other index files,
a model, a bank), nothing new exists but the documented leftovers (the lock file ``.NAME.lock``,
temporaries ``.NAME.<pid>.<random>.tmp``, training's working folder ``.NAME.work``) and the final
output, which exists only complete and valid. The next run of the same command clears the
leftovers; training resumes (``--resume``) and, however often it was killed, ends with the
weights of the uninterrupted run.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from seisclip.bank.verify import verify_bank
from seisclip.fsio import sha256_file
from seisclip.sets.verify import verify_index

from conftest import REPO_ROOT, write_bank

KILLS = 20
SEED = 20261121
LENGTH = 32
TRAINING_SET = f"tiny_{LENGTH}_150"
ENV = {**os.environ, "PYTHON": sys.executable, "PYTHONUNBUFFERED": "1"}
MODEL_FILES = ["definition.py", "history.csv", "manifest.json", "model.keras", "training_curves.png"]


class Watched:
    """A command in its own process group; its output lines are kept as they come."""

    def __init__(self, argv: list[str], cwd: Path):
        self.started = time.monotonic()
        self.process = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def running(self) -> bool:
        return self.process.poll() is None

    def wait_until(self, condition: Callable[[], bool], timeout: float = 180) -> float | None:
        """Seconds since the start when ``condition`` first held; None if the command ended first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return self.elapsed()
            if not self.running():
                self.reader.join()
                return self.elapsed() if condition() else None
            time.sleep(0.001)
        raise AssertionError(f"timed out; output so far:\n{self.output()}")

    def kill_at(self, seconds: float) -> bool:
        """SIGKILL the command ``seconds`` after its start; whether it was still running then."""
        while self.running() and self.elapsed() < seconds:
            time.sleep(min(0.001, max(0.0, seconds - self.elapsed())))
        killed = self.running()
        if killed:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.finish()
        return killed

    def finish(self) -> int:
        returncode = self.process.wait(timeout=300)
        self.reader.join()
        return returncode

    def output(self) -> str:
        return "\n".join(self.lines)


#: A phase of a run: the condition that says it has begun (given the run), and how long it lasted
#: in the uninterrupted run.
Phase = tuple[Callable[[Watched], bool], float]


def time_phases(argv: list[str], root: Path, beginnings: dict[str, Callable[[Watched], bool]]) -> dict[str, Phase]:
    """Run ``argv`` to the end once and time its phases, which begin in the order given."""
    run = Watched(argv, root)
    starts = []
    for name, begun in beginnings.items():
        at = run.wait_until(lambda: begun(run))
        assert at is not None, f"phase {name!r} never began:\n{run.output()}"
        starts.append(at)
    assert run.finish() == 0, run.output()
    ends = starts[1:] + [run.elapsed()]
    return {name: (begun, end - start) for (name, begun), start, end in zip(beginnings.items(), starts, ends)}


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root``: a file's SHA-256, a link's target, or 'folder'."""
    entries = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(folder, name)
            relative = str(path.relative_to(root))
            if path.is_symlink():
                entries[relative] = "link " + os.readlink(path)
            elif path.is_dir():
                entries[relative] = "folder"
            else:
                entries[relative] = sha256_file(path)
    return entries


def leftover_pattern(folder: str, names: list[str], working_folder: bool = False) -> re.Pattern:
    """What a killed run writing ``folder/<name>`` may leave: the lock file and the temporaries
    (and training's working folder, with the temporaries of making it), with their contents."""
    hidden = []
    for name in map(re.escape, names):
        hidden += [rf"\.{name}\.lock", rf"\.{name}\.\d+\.[a-z0-9_]+\.tmp"]
        if working_folder:
            hidden += [rf"\.{name}\.work", rf"\.\.{name}\.work\.\d+\.[a-z0-9_]+\.tmp"]
    return re.compile(rf"{re.escape(folder + '/') if folder else ''}({'|'.join(hidden)})(/.*)?")


def check_nothing_lost(before: dict[str, str], root: Path, outputs: list[str], leftovers: re.Pattern) -> None:
    """Every earlier entry unchanged (but earlier leftovers of the same output, which the next run
    takes over or removes); new entries only leftovers or under the final output names."""
    after = snapshot(root)
    changed = sorted(path for path, digest in before.items()
                     if after.get(path) != digest and not leftovers.fullmatch(path))
    assert not changed, f"changed or removed by a killed run: {changed}"
    unexpected = sorted(path for path in after if path not in before and not leftovers.fullmatch(path)
                        and not any(path == output or path.startswith(output + "/") for output in outputs))
    assert not unexpected, f"unexpected files after a kill: {unexpected}"


def kill_repeatedly(command: list[str], root: Path, seed: int, phases: dict[str, Phase], order: list[str],
                    outputs: list[str], leftovers: re.Pattern,
                    check_run: Callable[[Watched, bool], str]) -> tuple[Counter, int]:
    """Run ``command`` and SIGKILL it, targeting the phases in ``order`` in turn, until it has been
    killed KILLS times. After each run, check that nothing was lost, then ``check_run(run, killed)``
    checks the outputs and names the phase the kill landed in. The kills per phase, and the
    number of runs that ended before their kill."""
    rng = np.random.default_rng([SEED, seed])
    kills, completions = Counter(), 0
    for target in itertools.cycle(order):
        if sum(kills.values()) == KILLS:
            return kills, completions
        begun, duration = phases[target]
        before = snapshot(root)
        run = Watched(command, root)
        begins = run.wait_until(lambda: begun(run))
        killed = run.kill_at((begins or 0.0) + float(rng.uniform(0, 1.2 * duration)))
        assert killed or run.process.returncode == 0, run.output()
        check_nothing_lost(before, root, outputs, leftovers)
        phase = check_run(run, killed)
        if killed:
            kills[phase] += 1
        else:
            completions += 1
            assert completions < 2 * KILLS, "most runs end before their kill: the timing is off"


def report(capsys, command: str, kills: Counter, completions: int, checked: int, seconds: float) -> None:
    with capsys.disabled():
        phases = ", ".join(f"{count} {phase}" for phase, count in sorted(kills.items(), key=lambda item: -item[1]))
        print(f"\nkill test, {command}: {sum(kills.values())} SIGKILLs in {seconds:.0f} s ({phases}); "
              f"{completions} runs ended before their kill; {checked} complete outputs checked")


def hidden_temporaries(folder: Path, name: str) -> list[Path]:
    return list(folder.glob(f".{name}.*.tmp")) if folder.is_dir() else []


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A working folder as the user's: waveforms, metadata, the outfiles link, an index file with
    its manifest and an HDF5 bank, all of which the killed runs must leave as they are."""
    root = tmp_path_factory.mktemp("kill")
    write_bank(root, (20, 400, 900, 1500, 3000, 5000) + (40_000,) * 25)
    done = subprocess.run(["sh", str(REPO_ROOT / "run_select_training_samples.sh"), str(LENGTH), "150", "tiny"],
                          cwd=root, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "seisclip.cli", "bank", "ingest", "--metadata",
                           "outfiles_contents_reordered.txt", "--ascii-dir", "outfiles", "--out", "bank.h5", "--quiet"],
                          cwd=root, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root


def test_killed_selection_leaves_no_partial_set_and_changes_nothing(workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    started = time.monotonic()
    command = ["sh", str(REPO_ROOT / "run_select_training_samples.sh"), str(LENGTH), "300000", "killed"]
    folder, stem = workspace / "indices_files", f"killed_{LENGTH}_300000"
    index, manifest = folder / f"{stem}.txt", folder / f"{stem}.json"
    names = [index.name, manifest.name]

    phases = time_phases(command, workspace, {
        "starting and drawing": lambda run: True,
        "writing": lambda run: bool(hidden_temporaries(folder, index.name)),
        "finishing": lambda run: manifest.exists()})
    reference = index.read_bytes()
    index.unlink()
    manifest.unlink()
    checked = 0

    def check_run(run: Watched, killed: bool) -> str:
        nonlocal checked
        assert not (manifest.exists() and not index.exists()), "manifest without its index file"
        if index.exists() and not manifest.exists():
            phase = "between naming the index file and its manifest"
            again = subprocess.run(command, cwd=workspace, env=ENV, capture_output=True, text=True)
            assert again.returncode == 1 and "put in place" in again.stderr, again.stderr
        elif index.exists():
            phase = "after the set was complete"
        elif any(hidden_temporaries(folder, name) for name in names):
            phase = "while writing the set"
        else:
            phase = "before writing (starting, reading metadata, drawing)"
        if index.exists():
            assert index.read_bytes() == reference
            assert verify_index(index)[0] == []
            checked += 1
            index.unlink()
            manifest.unlink()
        return phase

    kills, completions = kill_repeatedly(command, workspace, 1, phases, list(phases),
                                         [f"indices_files/{name}" for name in names],
                                         leftover_pattern("indices_files", names), check_run)
    done = subprocess.run(command, cwd=workspace, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert index.read_bytes() == reference
    assert not [path for path in folder.iterdir() if path.name.startswith(".")], "leftovers not removed"
    report(capsys, "selection", kills, completions, checked, time.monotonic() - started)


def test_killed_ingest_leaves_no_partial_bank_and_changes_nothing(workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    started = time.monotonic()
    command = [sys.executable, "-m", "seisclip.cli", "bank", "ingest", "--metadata", "outfiles_contents_reordered.txt",
               "--ascii-dir", "outfiles", "--out", "killed.h5", "--quiet"]
    bank = workspace / "killed.h5"

    phases = time_phases(command, workspace, {
        "starting and reading waveforms": lambda run: True,
        "writing the bank": lambda run: bool(hidden_temporaries(workspace, bank.name)),
        "finishing": lambda run: bank.exists()})
    bank.unlink()
    checked = 0

    def check_run(run: Watched, killed: bool) -> str:
        nonlocal checked
        if bank.exists():
            assert verify_bank(bank.name, "outfiles", progress=False)[0] == []
            checked += 1
            bank.unlink()
            return "after the bank was complete"
        if hidden_temporaries(workspace, bank.name):
            return "while writing the bank"
        return "before writing (starting, reading waveforms)"

    kills, completions = kill_repeatedly(command, workspace, 2, phases, list(phases), [bank.name],
                                         leftover_pattern("", [bank.name]), check_run)
    done = subprocess.run(command, cwd=workspace, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not [path.name for path in workspace.iterdir() if path.name.startswith(".killed.h5")], "leftovers"
    report(capsys, "bank ingest", kills, completions, checked, time.monotonic() - started)


def loaded(run: Watched) -> bool:
    """The segments are loaded (training's summary line of them is printed)."""
    return any("segments used" in line for line in run.lines)


def trained(run: Watched) -> bool:
    """Every epoch is done: the last epoch's end line is printed, or a run resumed after it."""
    if any(re.fullmatch(r"resuming .* after epoch (\d+) of \1", line) for line in run.lines):
        return True
    last = [number for number, line in enumerate(run.lines) if re.fullmatch(r"Epoch (\d+)/\1", line)]
    return bool(last) and any(re.match(r"\d+/\d+ - ", line) for line in run.lines[last[0] + 1:])


def test_killed_training_resumes_to_the_uninterrupted_weights_and_changes_nothing(workspace, monkeypatch, capsys):
    import keras

    monkeypatch.chdir(workspace)
    started = time.monotonic()
    model = f"{TRAINING_SET}_def002"
    command = ["sh", str(REPO_ROOT / "run_create_and_train_model.sh"), str(LENGTH), TRAINING_SET, "def002",
               "--epochs", "3", "--resume"]
    model_dir = workspace / "models" / model
    starting, training, saving = ("starting (imports, reading)", "training (epochs, checkpoints)",
                                  "saving (test metrics, model directory)")

    # The uninterrupted run gives the weights every resumed run must end with, and the phases' lengths.
    phases = time_phases(command, workspace, {starting: lambda run: True, training: loaded, saving: trained})
    reference = keras.models.load_model(model_dir / "model.keras").get_weights()
    reference_history = json.loads((model_dir / "manifest.json").read_text())["history"]
    # Kept as a model of the same folder that every kill must leave untouched.
    shutil.move(model_dir, workspace / "models" / f"{TRAINING_SET}_earlier")
    checked = resumed = 0

    def check_run(run: Watched, killed: bool) -> str:
        nonlocal checked, resumed
        if model_dir.exists():
            assert sorted(path.name for path in model_dir.iterdir()) == MODEL_FILES
            manifest = json.loads((model_dir / "manifest.json").read_text())
            assert manifest["history"] == reference_history
            weights = keras.models.load_model(model_dir / "model.keras").get_weights()
            assert all(np.array_equal(a, b) for a, b in zip(weights, reference, strict=True)), "weights differ"
            checked += 1
            resumed += bool(manifest["resumed_after_epochs"])
            shutil.rmtree(model_dir)
        return saving if trained(run) else training if loaded(run) else starting

    kills, completions = kill_repeatedly(command, workspace, 3, phases, [training, training, saving, starting],
                                         [f"models/{model}"], leftover_pattern("models", [model], working_folder=True),
                                         check_run)
    final = Watched(command, workspace)
    assert final.finish() == 0, final.output()
    assert model_dir.is_dir()
    check_run(final, False)
    assert not [path.name for path in (workspace / "models").iterdir() if path.name.startswith(".")], "leftovers"
    assert resumed, "no killed run was resumed to the end"
    report(capsys, "training", kills, completions, checked, time.monotonic() - started)
    with capsys.disabled():
        print(f"  {resumed} of the {checked} complete models came from resumed runs; all have the uninterrupted "
              "run's exact weights and history")
