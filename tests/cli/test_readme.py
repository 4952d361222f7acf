"""README.md: a newcomer's first page. At most 130 lines; every command of its code blocks runs as
written in a copy of the repository's top level, its placeholders replaced by fixtures; its
results table is the one its results page prints."""

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO_ROOT
from seisclip.bank.synthetic import synthetic_seismogram

README = REPO_ROOT / "README.md"
#: The commands a test cannot run: they build a virtual environment and take minutes.
NOT_RUN = ("make demo", "make test")
SEGLEN, NUMSEG, SETID = "64", "300", "readme"
SET = f"{SETID}_{SEGLEN}_{NUMSEG}"
#: Each placeholder and the fixture it stands for, the longer names first.
PLACEHOLDERS = {
    "SETID_SEGLEN_NUMSEG": SET, "SEGLEN": SEGLEN, "NUMSEG": NUMSEG, "SETID": SETID,
    "INDEX": f"indices_files/{SET}.txt", "MODEL_DIR": f"models/{SET}_def004", "WAVEFORM": "bank/trace0",
    "RECORD": "clipped.txt", "ARCHIVE": "archive", "DIR": "bank",
}
#: What a training command gets besides the README's arguments: one epoch on the tiny set.
TRAINING_OPTIONS = " --epochs 1 --quiet"


def code_blocks(text: str) -> list[list[str]]:
    """The commands of each ```sh block, comments and blank lines dropped."""
    blocks = re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)
    return [[line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()] for block in blocks]


def as_run(command: str) -> str:
    for name, value in PLACEHOLDERS.items():
        command = re.sub(rf"\b{name}\b", value, command)
    assert not re.search(r"\b[A-Z][A-Z_]{2,}\b", command), f"a placeholder the test does not know: {command}"
    if "run_create_and_train_model" in command:
        command += TRAINING_OPTIONS
    return command


def write_values(path: Path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{value}\n" for value in values.tolist()))


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The repository's top level (scripts and wrappers) with a bank of six generated seismograms,
    a development set of two families, and an archive of one clipped record; ``seisclip`` and
    ``python`` on the PATH run this tree's package with this interpreter."""
    root = tmp_path_factory.mktemp("clone")
    for script in [*REPO_ROOT.glob("*.py"), *REPO_ROOT.glob("*.sh")]:
        shutil.copy2(script, root / script.name)
    for number in range(6):
        write_values(root / "bank" / f"trace{number}", synthetic_seismogram(np.random.default_rng(number), 3000))
    for family, seed in (("teleseismic", 221), ("local_volcanic", 222)):
        write_values(root / "dev_records" / family / f"r{seed}.txt",
                     synthetic_seismogram(np.random.default_rng(seed), 600))
    archived = synthetic_seismogram(np.random.default_rng(223), 2000)
    level = 0.5 * np.max(np.abs(archived))
    write_values(root / "archive" / "clipped_record.txt", np.clip(archived, -level, level))
    shims = root / ".bin"
    shims.mkdir()
    for name, command in (("seisclip", f'exec "{sys.executable}" -m seisclip "$@"'),
                          ("python", f'exec "{sys.executable}" "$@"')):
        (shims / name).write_text(f"#!/bin/sh\n{command}\n")
        (shims / name).chmod(stat.S_IRWXU)
    return root


def run(clone: Path, command: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PATH": f"{clone / '.bin'}{os.pathsep}{os.environ['PATH']}",
                   "PYTHONPATH": str(REPO_ROOT), "PYTHON": sys.executable}
    return subprocess.run(["bash", "-c", command], cwd=cwd or clone, env=environment, capture_output=True, text=True,
                          timeout=600)


def test_the_readme_is_at_most_130_lines():
    assert len(README.read_text().splitlines()) <= 130


def test_only_make_demo_and_make_test_are_left_unrun():
    commands = [command for block in code_blocks(README.read_text()) for command in block]
    assert [command for command in commands if not command.startswith(("seisclip ", "sh ", "python ", "(cd "))] == [
        *NOT_RUN]


@pytest.fixture(scope="module")
def workflow(clone) -> list[str]:
    """The workflow's block run command by command; what ran."""
    blocks = code_blocks(README.read_text())
    workflow = next(block for block in blocks if any(command.startswith("sh linker.sh") for command in block))
    ran = []
    for command in map(as_run, workflow):
        done = run(clone, command)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        ran.append(command)
    return ran


def test_every_command_of_the_workflow_runs_as_written(workflow, clone):
    assert (clone / "outfiles").resolve() == (clone / "bank").resolve()
    assert (clone / "indices_files" / f"{SET}.json").is_file()
    model = clone / "models" / f"{SET}_def004"
    assert (model / "manifest.json").is_file() and (model / "model.keras").is_file()
    assert (clone / "clipped.restored.txt").is_file() and (clone / "clipped.restored.png").is_file()
    assert (clone / "restored" / "restorations.jsonl").is_file()
    assert (clone / "evaluations" / f"{SET}_def004_records" / "evaluation.md").is_file()
    assert list((clone / "evaluations").glob("compare_*/compare.md"))


def test_the_first_restoration_runs_as_written_with_the_bundled_model(clone):
    block = code_blocks(README.read_text())[0]
    assert block[0].startswith("seisclip restore RECORD")
    folder = clone / "first"
    folder.mkdir()
    shutil.copy(clone / "archive" / "clipped_record.txt", folder / "clipped.txt")
    outputs = []
    for command in map(as_run, block):
        done = run(clone, command, cwd=folder)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        outputs.append(done)
    assert "the bundled model reference-v1" in outputs[0].stderr
    assert (folder / "clipped.restored.txt").is_file() and (folder / "clipped.restored.png").is_file()
    assert "with pocs" in outputs[1].stderr
    assert outputs[2].stdout.splitlines()[1].startswith("reference-v1 (reference)")


def test_a_new_definition_as_the_readme_makes_it(workflow, clone):
    block = next(block for block in code_blocks(README.read_text())
                 if any(command.startswith("seisclip new-definition") for command in block))
    for command in map(as_run, block):
        done = run(clone, command)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
    assert (clone / "create_and_train_model_def013.py").is_file()
    assert (clone / "models" / f"{SET}_def013" / "model.keras").is_file()


def test_the_results_table_is_the_one_its_page_prints():
    text = README.read_text()
    section = text.split("## Which method to use\n", 1)[1].split("\n## ", 1)[0]
    page = re.search(r"\]\((docs/results/[a-z_]+\.md)\)", section).group(1)
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    assert table.count("\n") - 1 <= 6, "at most 6 rows"
    assert table + "\n" in (REPO_ROOT / page).read_text()


def test_the_python_lines_run_as_written_on_a_miniseed_record(tmp_path):
    import obspy

    (code,) = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    values = synthetic_seismogram(np.random.default_rng(7), 4000)
    level = int(0.5 * np.abs(values).max())
    header = {"network": "XX", "station": "RDME", "channel": "SHZ", "sampling_rate": 40.0}
    obspy.Trace(np.clip(values, -level, level).astype(np.int32), header=header).write(
        str(tmp_path / "record.mseed"), format="MSEED")
    code += "\nprint(type(restored).__name__, restored[0].id, restored[0].stats.processing[-1])\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr
    kind, trace_id, note = done.stdout.split(maxsplit=2)
    assert (kind, trace_id) == ("Stream", "XX.RDME..SHZ")
    assert "method='hybrid', model='reference-v1'" in note
