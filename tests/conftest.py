"""Shared fixtures and helpers of the whole test tree (tests/<stage>/): a small synthetic bank
laid out like the user's, a runner for the project's scripts and commands as subprocesses, entry
points run in this process and a tiny model directory; the tally of bad inputs tried.

``pythonpath = ["tests"]`` (pyproject.toml) lets a test module in any folder ``from conftest import``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from seisclip.bank.wc_list import format_wc_line
from seisclip.fsio import sha256_file

REPO_ROOT = Path(__file__).resolve().parents[1]
METADATA_NAME = "outfiles_contents_reordered.txt"
#: Sample counts of the default test bank: for segments of 64 samples the first three files are
#: too short and the next two just long enough (one and two possible starts).
BANK_LENGTHS = (5, 40, 63, 64, 65, 100, 257, 1000, 2500, 6000)


@dataclass(frozen=True)
class Bank:
    """A bank in ``root``: waveforms in ``root/bank``, the ``outfiles`` link to it and the metadata."""

    root: Path
    folder: Path
    metadata: Path
    counts: dict[str, int]

    def eligible(self, segment_length: int) -> set[str]:
        return {name for name, count in self.counts.items() if count >= segment_length}


def waveform_name(number: int) -> str:
    return f"19830924.0500.BRV.SKM.s09E0.024.txtseg{number:08d}"


def write_bank(root: Path, lengths) -> Bank:
    """Write one waveform file per length (one integer per line) and its wc-format metadata."""
    rng = np.random.default_rng(7)
    folder = root / "bank"
    folder.mkdir(parents=True)
    counts, metadata_lines = {}, []
    for number, length in enumerate(lengths):
        name = waveform_name(number)
        data = "".join(f"{value}\n" for value in rng.integers(-30_000, 30_000, size=length).tolist()).encode()
        (folder / name).write_bytes(data)
        counts[name] = length
        metadata_lines.append(format_wc_line(length, length, len(data), name))
    metadata = root / METADATA_NAME
    metadata.write_text("".join(metadata_lines))
    (root / "outfiles").symlink_to("bank")
    return Bank(root=root, folder=folder, metadata=metadata, counts=counts)


def sh(cwd: Path, script: Path, *args: str) -> subprocess.CompletedProcess:
    """A shell wrapper run in ``cwd`` with this interpreter (``PYTHON``)."""
    return subprocess.run(["sh", str(script), *args], cwd=cwd, env={**os.environ, "PYTHON": sys.executable},
                          capture_output=True, text=True, timeout=600)


def seisclip(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m seisclip ARGS`` run in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "seisclip", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def make_bank(tmp_path, monkeypatch):
    """``make_bank(lengths)`` writes a bank into ``tmp_path`` and makes it the working folder,
    as in the user's workflow: index lines name ``outfiles/<name>``."""
    monkeypatch.chdir(tmp_path)
    return lambda lengths=BANK_LENGTHS: write_bank(tmp_path, lengths)


@pytest.fixture
def bank(make_bank) -> Bank:
    return make_bank()


@pytest.fixture
def run(tmp_path):
    """Run a project script or command in a subprocess; return ``(returncode, stdout, stderr)``.

    ``command`` is a ``.py`` script or ``.sh`` wrapper at the repository root, or ``seisclip``.
    The working folder defaults to ``tmp_path``.
    """

    def run_command(command: str, *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
        if command == "seisclip":
            argv = [sys.executable, "-m", "seisclip.cli"]
        elif command.endswith(".py"):
            argv = [sys.executable, str(REPO_ROOT / command)]
        elif command.endswith(".sh"):
            argv = ["sh", str(REPO_ROOT / command)]
        else:
            raise ValueError(f"unknown command {command!r}")
        done = subprocess.run(
            [*argv, *args], cwd=cwd or tmp_path, env={**os.environ, "PYTHON": sys.executable},
            capture_output=True, text=True, timeout=120,
        )
        return done.returncode, done.stdout, done.stderr

    return run_command


# --- entry points run in this process, and a tiny model ---------------------------------------

def run_in_process(capsys, command, *args) -> tuple[int, str, list[str]]:
    """Exit status, stdout and stderr lines of an entry point run in this process."""
    try:
        status = command(*args)
    except SystemExit as exit_:   # argparse errors exit through the parser
        status = exit_.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err.splitlines()


def error_line(capsys, command, *args, warnings: int = 0) -> str:
    """The one line an entry point printed on stderr when it failed with status 1 (after
    ``warnings`` lines of warnings)."""
    status, _, lines = run_in_process(capsys, command, *args)
    assert status == 1, lines
    assert len(lines) == warnings + 1, lines
    return lines[-1]


def model_manifest(length: int, sbrl: bool = False, normalisation: str = "clip", folder: Path | None = None) -> dict:
    """The fields of a trained model's manifest that the commands read; with ``folder``, the
    sha256 of its model.keras and definition.py."""
    return {
        "kind": "seisclip model", "format_version": 2, "model_name": f"tiny_{length}", "definition": "tiny",
        **({"model_sha256": sha256_file(folder / "model.keras"), "definition_sha256": sha256_file(folder / "definition.py")}
           if folder else {}),
        "index_file": "none.txt",
        "index_sha256": "0" * 64, "seed": 1, "working_directory": ".",
        "parameters": {"segment_length": length, "sbrl": sbrl, "normalisation": normalisation, "min_peak": 50.0,
                       "epochs": 1},
        "segment_counts": {"index_lines": 0, "used": 0, "train": 0, "validation": 0, "test": 0},
        "test_metrics": {"mse": 0.1, "mae": 0.1, "clipped_input_mse": 0.2},
        "files": [], "segments": {"columns": ["index_line", "istart", "rscale", "file", "split"], "rows": []},
    }


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A model directory with an untrained network of Keras layers only, for windows of 32 samples."""
    import keras

    folder = tmp_path_factory.mktemp("model") / "tiny_32"
    folder.mkdir()
    inputs = keras.Input(shape=(32, 2))
    outputs = keras.layers.Dense(32)(keras.layers.Flatten()(inputs))
    with warnings.catch_warnings():   # Keras's own saving code under NumPy 2, nothing of ours
        warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
        keras.Model(inputs, outputs).save(folder / "model.keras")
    (folder / "definition.py").write_text('"""Keras layers only: nothing to register."""\n')
    (folder / "manifest.json").write_text(json.dumps(model_manifest(32, folder=folder)))
    return folder


# --- a method with a band, registered for a test only ------------------------------------------

#: The toy band's half-width on a clipped sample, as a share of how far its estimate lies beyond the clip level.
BANDED_HALF_WIDTH = 0.25
BANDED_BAND_DESCRIPTION = "the spline's estimate +- a quarter of its excess over the clip level (a test's toy)"


class Banded:
    """A toy method with a band: the spline's estimate, and around each clipped sample's estimate
    ± :data:`BANDED_HALF_WIDTH` of its excess over the clip level, made consistent with the clip
    levels by ``clip_bounded``; its coverage never measured."""

    name = "banded"

    def restore(self, record):
        from seisclip.restore.baselines import restore_spline
        from seisclip.restore.methods import Band, Restoration, clip_bounded

        restored = restore_spline(record.values, record.status, record.clip_high, record.clip_low)
        level = np.where(record.status > 0, record.clip_high, np.where(record.status < 0, record.clip_low, restored))
        half = BANDED_HALF_WIDTH * np.abs(restored - level)
        lower, upper = clip_bounded(restored - half, restored + half, restored, record.status, record.clip_high,
                                    record.clip_low)
        return Restoration(restored, self.name, lower=lower, upper=upper, band=Band(BANDED_BAND_DESCRIPTION, calibrated=True))

    def restore_all(self, records):
        return [self.restore(record) for record in records]


@pytest.fixture
def banded(monkeypatch):
    """:class:`Banded`, registered by one entry as ``--method banded`` for one test."""
    from seisclip.restore.registry import REGISTRY, MethodEntry

    monkeypatch.setitem(REGISTRY, "banded", MethodEntry("banded", lambda build: Banded(), "a toy with a band"))
    return Banded()


# --- bad inputs: the table "What happens when…" (docs/robustness.md), fuzzing and their count -----

settings.register_profile("seisclip", max_examples=200, deadline=None, database=None, derandomize=True)
settings.register_profile("explore", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "seisclip"))

#: The table of bad inputs lives with the reference, in docs/.
TABLE_PAGE = REPO_ROOT / "docs" / "robustness.md"
TABLE_HEADING = "## What happens when…"
_TABLE_ROW = re.compile(r"\| `(?P<row>[a-z0-9-]+)` \|")
_tally = {"cases": 0, "rows": set(), "fuzz_examples": 0}
_FUZZED = pytest.StashKey[bool]()   # whether a test counted fuzz examples of its own


def table_rows() -> list[str]:
    """The row ids (first column) of the table of bad inputs, in order."""
    text = TABLE_PAGE.read_text()
    if TABLE_HEADING not in text:
        return []
    section = text.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    return [match["row"] for match in map(_TABLE_ROW.match, section.splitlines()) if match]


def count_fuzz_example() -> None:
    """Called by a property test for each input it tries."""
    _tally["fuzz_examples"] += 1


def pytest_configure(config):
    config.addinivalue_line("markers", "bad_input(row): tries the bad input of this row of the table "
                                       "'What happens when…' in docs/robustness.md")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    before = _tally["fuzz_examples"]
    try:
        return (yield)
    finally:
        item.stash[_FUZZED] = _tally["fuzz_examples"] > before


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    rows = [mark.args[0] for mark in item.iter_markers("bad_input")]
    if rows and report.when == "call" and report.passed:
        _tally["rows"].update(rows)
        if not item.stash.get(_FUZZED, False):   # a property test's inputs are counted one by one
            _tally["cases"] += 1
    return report


def pytest_terminal_summary(terminalreporter):
    """One line counting the bad inputs tried, by tests that passed: one per case marked
    bad_input, and every input a property test tried."""
    table = table_rows()
    terminalreporter.write_line(
        f"bad inputs tried: {_tally['cases'] + _tally['fuzz_examples']} "
        f"(table rows: {len(_tally['rows'] & set(table))} of {len(table)}, fuzz examples: {_tally['fuzz_examples']})")
