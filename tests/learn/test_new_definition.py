"""``seisclip new-definition`` starts a definition under a free name and never overwrites; a
definition that takes another's choices records both with their sha256, loads from the model
directory's own copies, and is refused when the one it imports changed since training."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import seisclip.learn.new_definition as new_definition_module
from seisclip.cli import main
from seisclip.errors import SeisclipError
from seisclip.fsio import sha256_file
from seisclip.learn.model_dir import ModelDirectory

from conftest import REPO_ROOT, error_line, run_in_process, seisclip, sh, write_bank

LENGTH = 64
SET = f"copies_{LENGTH}_120"
SCRIPTS = ("create_and_train_model_def001.py", "create_and_train_model_def004.py", "create_and_train_model_def011.py")


@pytest.fixture
def wrappers(tmp_path, monkeypatch) -> Path:
    """A folder of wrappers holding def001, def004 and def011, made the working folder."""
    for name in SCRIPTS:
        shutil.copy(REPO_ROOT / name, tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def hashes(folder: Path) -> dict[str, str]:
    return {path.name: sha256_file(path) for path in sorted(folder.glob("*.py"))}


def test_twice_in_a_row_gives_two_new_different_free_numbers_and_overwrites_nothing(wrappers, capsys):
    before = hashes(wrappers)
    outputs = [run_in_process(capsys, main, ["new-definition", "def011"]) for _ in range(2)]
    assert [(status, out) for status, out, _ in outputs] == [
        (0, "wrote create_and_train_model_def012.py\n"), (0, "wrote create_and_train_model_def013.py\n")]
    after = hashes(wrappers)
    assert {name: after[name] for name in before} == before
    source = (wrappers / "create_and_train_model_def011.py").read_text()
    origin = f"STARTED_FROM = ('def011', '{sha256_file(wrappers / 'create_and_train_model_def011.py')}')"
    for name in ("def012", "def013"):
        copy = (wrappers / f"create_and_train_model_{name}.py").read_text()
        assert copy == source.replace('NAME = "def011"', f'NAME = "{name}"\n{origin}')


def test_a_copy_of_a_copy_names_only_the_script_it_was_copied_from(wrappers, capsys):
    run_in_process(capsys, main, ["new-definition", "def011"])
    run_in_process(capsys, main, ["new-definition", "def012"])
    copy = (wrappers / "create_and_train_model_def013.py").read_text()
    assert [line for line in copy.splitlines() if line.startswith("STARTED_FROM")] == [
        f"STARTED_FROM = ('def012', '{sha256_file(wrappers / 'create_and_train_model_def012.py')}')"]


def test_the_number_follows_the_highest_and_keeps_its_width(wrappers, capsys):
    shutil.copy(REPO_ROOT / "create_and_train_model_def004.py", wrappers / "create_and_train_model_def0099.py")
    status, out, _ = run_in_process(capsys, main, ["new-definition", "def001"])
    assert (status, out) == (0, "wrote create_and_train_model_def0100.py\n")


def test_a_number_another_run_takes_meanwhile_is_left_to_it(wrappers, monkeypatch):
    """Between listing the folder and taking the name, another run takes def012: this one takes
    def013 and leaves the other's file as it wrote it."""
    write = new_definition_module.write_file_atomic
    theirs = wrappers / "create_and_train_model_def012.py"

    def racing(path, data, overwrite=False):
        if not theirs.exists():
            theirs.write_text("the other run's copy\n")
        write(path, data, overwrite)

    monkeypatch.setattr(new_definition_module, "write_file_atomic", racing)
    written = new_definition_module.new_definition("def011")
    assert written.name == "create_and_train_model_def013.py"
    assert theirs.read_text() == "the other run's copy\n"
    assert 'NAME = "def013"' in written.read_text()


def test_name_and_dir_choose_where_the_copy_goes(wrappers, tmp_path_factory, capsys):
    other = tmp_path_factory.mktemp("wrappers")
    shutil.copy(REPO_ROOT / "create_and_train_model_def004.py", other)
    status, out, _ = run_in_process(capsys, main, ["new-definition", "def004", "--dir", str(other), "--name", "mine"])
    assert (status, out) == (0, f"wrote {other / 'create_and_train_model_mine.py'}\n")
    assert 'NAME = "mine"' in (other / "create_and_train_model_mine.py").read_text()
    # FROM as a path, the copy in the working folder under the next number
    status, out, _ = run_in_process(capsys, main, ["new-definition", str(other / "create_and_train_model_mine.py")])
    assert (status, out) == (0, "wrote create_and_train_model_def012.py\n")
    assert 'NAME = "def012"' in (wrappers / "create_and_train_model_def012.py").read_text()


@pytest.mark.bad_input("new-definition-unknown")
def test_an_unknown_definition_is_one_error_line(wrappers, capsys):
    assert error_line(capsys, main, ["new-definition", "def099"]) == (
        "seisclip new-definition: error: create_and_train_model_def099.py: definition script not found: no "
        "definition 'def099' in .")
    assert error_line(capsys, main, ["new-definition", "notes.txt"]) == (
        "seisclip new-definition: error: notes.txt: is not a definition script (create_and_train_model_<NAME>.py) "
        "nor a definition's name")
    assert hashes(wrappers) == {name: sha256_file(REPO_ROOT / name) for name in SCRIPTS}


@pytest.mark.bad_input("new-definition-bad-name")
def test_a_bad_name_is_one_error_line(wrappers, capsys):
    assert error_line(capsys, main, ["new-definition", "def004", "--name", "../def012"]) == (
        "seisclip new-definition: error: --name '../def012' is not a definition name (letters, digits and _, such "
        "as def012)")
    assert sorted(hashes(wrappers)) == list(SCRIPTS)


@pytest.mark.bad_input("new-definition-exists")
def test_an_existing_name_is_refused_and_left_as_it_is(wrappers, capsys):
    before = hashes(wrappers)
    assert error_line(capsys, main, ["new-definition", "def004", "--name", "def011"]) == (
        "seisclip new-definition: error: create_and_train_model_def011.py: already exists: new-definition never "
        "replaces a file (choose another --name)")
    assert hashes(wrappers) == before


@pytest.mark.bad_input("new-definition-no-name-line")
def test_a_script_without_its_name_line_is_refused(wrappers, capsys):
    script = wrappers / "create_and_train_model_def050.py"
    script.write_text((REPO_ROOT / "create_and_train_model_def001.py").read_text().replace('NAME = "def001"',
                                                                                          'NAME = "def" + "050"'))
    assert error_line(capsys, main, ["new-definition", "def050"]) == (
        'seisclip new-definition: error: create_and_train_model_def050.py: has no NAME = "…" line to set')
    assert not (wrappers / "create_and_train_model_def051.py").exists()


# --- a copy of def011, which takes def004's choices, trained ----------------------------------

@pytest.fixture(scope="module")
def trained_copy(tmp_path_factory) -> tuple[Path, Path]:
    """def011 copied by new-definition to def012 beside def004, trained one epoch on 120 windows."""
    root = tmp_path_factory.mktemp("copies")
    write_bank(root, (400, 900, 1500, 3000, 5000))
    done = sh(root, REPO_ROOT / "run_select_training_samples.sh", str(LENGTH), "120", "copies")
    assert done.returncode == 0, done.stderr
    for name in ("run_create_and_train_model.sh", *SCRIPTS[1:]):
        shutil.copy(REPO_ROOT / name, root)
    done = seisclip(root, "new-definition", "def011")
    assert (done.returncode, done.stdout) == (0, "wrote create_and_train_model_def012.py\n"), done.stderr
    done = sh(root, root / "run_create_and_train_model.sh", str(LENGTH), SET, "def012", "--epochs", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    return root, root / "models" / f"{SET}_def012"


def test_the_model_records_both_definitions_with_their_sha256_and_holds_their_copies(trained_copy):
    root, model = trained_copy
    manifest = json.loads((model / "manifest.json").read_text())
    def004 = root / "create_and_train_model_def004.py"
    def011 = root / "create_and_train_model_def011.py"
    assert (manifest["format_version"], manifest["definition"]) == (5, "def012")
    assert manifest["definition_sha256"] == sha256_file(root / "create_and_train_model_def012.py")
    assert manifest["started_from"] == {"name": "def011", "file": def011.name, "sha256": sha256_file(def011)}
    assert manifest["imported_definitions"] == [
        {"name": "def004", "file": def004.name, "sha256": sha256_file(def004)}]
    assert (model / def004.name).read_bytes() == def004.read_bytes()
    done = seisclip(root, "trace", str(model))
    assert done.returncode == 0, done.stderr
    assert (f"trace: {model.name}: definition.py (def012) and the definitions it imports "
            f"(create_and_train_model_def004.py) match the recorded sha256") in done.stderr.splitlines()
    assert (f"trace: {model.name}: the definition started as a copy of def011 (sha256 {sha256_file(def011)}), "
            "unchanged since") in done.stderr.splitlines()


def loaded_definition_files() -> set[str]:
    return {getattr(module, "__file__", None) for name, module in sys.modules.items()
            if name.startswith("seisclip_definition_")}


def test_trusted_it_runs_its_own_copies_whatever_the_import_path(trained_copy, monkeypatch, tmp_path):
    """Trusted where its scripts lie, or by --trust-definition anywhere, the model runs the model
    directory's definition.py and its copy of def004: nothing is looked for on sys.path."""
    root, model = trained_copy
    assert str(root) not in sys.path
    for folder, trust in ((root, False), (tmp_path, True)):
        monkeypatch.chdir(folder)
        directory = ModelDirectory.open(model)
        assert (directory.trusted_script() is not None) is (not trust)
        assert directory.load(trust_definition=trust).network.output_shape == (None, None)
        assert {str(model / "definition.py"), str(model / "create_and_train_model_def004.py")} <= loaded_definition_files()


def changed_copy(trained_copy, tmp_path: Path) -> tuple[Path, Path]:
    """The training folder copied, its model directory's manifest pointing at the copy."""
    root, model = trained_copy
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    manifest = json.loads((copy / "models" / model.name / "manifest.json").read_text())
    (copy / "models" / model.name / "manifest.json").write_text(json.dumps({**manifest, "working_directory": str(copy)}))
    return copy, copy / "models" / model.name


@pytest.mark.bad_input("model-imported-definition-changed")
def test_loading_refuses_when_the_imported_def004_changed_since_training(trained_copy, tmp_path, monkeypatch):
    copy, model = changed_copy(trained_copy, tmp_path)
    def004 = copy / "create_and_train_model_def004.py"
    def004.write_text(def004.read_text() + "\nERROR_FLOOR = 0.5\n")
    monkeypatch.chdir(copy)
    with pytest.raises(SeisclipError) as raised:
        ModelDirectory.open(model).load()
    assert str(raised.value) == (
        f"{def004}: the model's definition create_and_train_model_def012.py imports this script, which changed since "
        "training: it is not the one that trained the model (put it back as it was, or add --trust-definition to run "
        "the model directory's copy)")
    # Through the CLI: one line, and the model directory's own copy with --trust-definition.
    (copy / "record.txt").write_text("".join(f"{value}\n" for value in [0, 5, 9, 9, 9, 4, -3, -9, -9, 0] * 20))
    done = seisclip(copy, "restore", "record.txt", "--model", str(model), "--method", "model")
    assert (done.returncode, done.stderr.splitlines()) == (1, [f"seisclip restore: error: {raised.value}"])
    done = seisclip(copy, "restore", "record.txt", "--model", str(model), "--method", "model", "--trust-definition")
    assert done.returncode == 0, done.stderr


@pytest.mark.bad_input("model-changed-file")
def test_a_changed_copy_of_def004_in_the_model_directory_is_refused_and_traced(trained_copy, tmp_path, monkeypatch):
    copy, model = changed_copy(trained_copy, tmp_path)
    (model / "create_and_train_model_def004.py").write_text("raise SystemExit('this must never run')\n")
    monkeypatch.chdir(copy)
    for trust in (False, True):
        with pytest.raises(SeisclipError) as raised:
            ModelDirectory.open(model).load(trust_definition=trust)
        assert str(raised.value) == (f"{model / 'create_and_train_model_def004.py'}: sha256 differs from the "
                                     "manifest's imported_definitions sha256 of def004: the file changed after training")
    done = seisclip(copy, "trace", str(model))
    assert done.returncode == 1
    assert f"{model / 'create_and_train_model_def004.py'}: definition script sha256" in done.stderr


def test_new_definition_never_imports_tensorflow(wrappers):
    code = ("import sys\nfrom seisclip.cli import main\nstatus = main(['new-definition', 'def004'])\n"
            "print(status, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=wrappers, capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines() == ["wrote create_and_train_model_def012.py", "0 False False"], done.stderr


@pytest.mark.bad_input("definition-import-missing")
def test_a_definition_whose_imported_one_is_not_beside_it_is_one_error_line(wrappers, tmp_path_factory, capsys):
    """A copy of def011 put where no def004 lies stops at once, before anything trains."""
    other = tmp_path_factory.mktemp("alone")
    assert run_in_process(capsys, main, ["new-definition", str(wrappers / "create_and_train_model_def011.py"),
                                         "--dir", str(other)])[0] == 0
    script = other / "create_and_train_model_def001.py"
    done = subprocess.run([sys.executable, str(script), "--segment-length", "64", "--set-name", "a_64_9"],
                          cwd=other, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr.splitlines()) == (1, [
        f"{script.name}: error: {script}: takes definition 'def004', but there is no "
        "create_and_train_model_def004.py beside it"])
    assert not (other / "models").exists()


def test_trace_says_when_a_model_predates_the_record_of_imported_definitions(tiny_model, tmp_path, monkeypatch, capsys):
    """A format 2 manifest records definition.py's sha256 but nothing of what it imported."""
    monkeypatch.chdir(tmp_path)
    status, _, err = run_in_process(capsys, main, ["trace", str(tiny_model)])
    assert status == 1   # its index file, none.txt, is nowhere
    assert f"trace: {tiny_model.name}: definition.py (tiny; made before seisclip recorded the definitions a " \
           "definition imports) match the recorded sha256" in err


@pytest.mark.bad_input("model-imported-definition-changed")
def test_loading_refuses_when_the_imported_def004_is_not_here(trained_copy, tmp_path, monkeypatch):
    copy, model = changed_copy(trained_copy, tmp_path)
    (copy / "create_and_train_model_def004.py").unlink()
    monkeypatch.chdir(copy)
    with pytest.raises(SeisclipError, match="create_and_train_model_def012.py imports this script, which is missing: "):
        ModelDirectory.open(model).load()
    assert ModelDirectory.open(model).load(trust_definition=True).network.output_shape == (None, None)
