"""Every definition script of the repository passes the checks training runs before it trains,
and builds its network on a tiny input; one that fails its check fails this test."""

from __future__ import annotations

import runpy
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import seisclip.learn.training as training

from conftest import REPO_ROOT

#: A window short enough to build every network fast, long enough for the deepest U-Net's padding.
LENGTH = 64
SCRIPTS = sorted(REPO_ROOT.glob("create_and_train_model_*.py"))


def checked_and_built(script: Path, monkeypatch, capsys):
    """Run ``script`` as its wrapper does, up to training: it must pass every check of
    train_definition and the parsing of its flags. Then build its network for windows of LENGTH
    samples and run it on zeros. Return the definition."""
    seen = []
    monkeypatch.setattr(training, "train", lambda definition, config: seen.append((definition, config)))
    monkeypatch.setattr(sys, "argv", [str(script), "--segment-length", str(LENGTH), "--set-name", f"check_{LENGTH}_9"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(script), run_name="__main__")
    errors = capsys.readouterr().err
    assert exit_.value.code == 0 and seen, f"{script.name} fails its definition check: {errors.strip()}"
    definition, config = seen[0]
    hyperparameters = {**definition.hyperparameters, "epochs": config.epochs, "batch_size": config.batch_size,
                       "learning_rate": config.learning_rate}
    network = definition.make_model(LENGTH, hyperparameters)
    output = np.asarray(network.predict(np.zeros((2, LENGTH, len(definition.inputs)), np.float32), verbose=0))
    assert output.shape == (2, LENGTH), f"{script.name}: network maps windows of {LENGTH} to {output.shape}"
    return definition


def test_the_repository_holds_the_definitions_it_names():
    assert {script.name for script in SCRIPTS} >= {f"create_and_train_model_def{n:03d}.py" for n in range(1, 12)}


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.stem.rsplit("_", 1)[-1] for script in SCRIPTS])
def test_every_definition_script_passes_its_check_and_builds_its_network(script, monkeypatch, capsys):
    definition = checked_and_built(script, monkeypatch, capsys)
    assert definition.source_file == str(script)
    # The definitions that take def004's choices take them from the script beside them, recorded.
    takes_from_def004 = "definition_module(\"def004\")" in script.read_text()
    assert dict(definition.imported) == ({"def004": REPO_ROOT / "create_and_train_model_def004.py"}
                                         if takes_from_def004 else {})


@pytest.mark.parametrize("change, problem", [
    (('NAME = "def011"', 'NAME = "def111"'), "NAME is 'def111' but the file name says 'def011'"),
    (('def004 = definition_module("def004")', 'def004 = definition_module("def004")\nimport create_and_train_model_def004'),
     "imports create_and_train_model_def004 through the import path, which the model would not record"),
])
@pytest.mark.bad_input("definition-import-by-path")
def test_a_script_that_fails_its_check_fails_the_test(tmp_path, monkeypatch, capsys, change, problem):
    """A broken copy of def011 (beside the def004 it imports) makes the check above fail, naming
    the script and the problem."""
    shutil.copy(REPO_ROOT / "create_and_train_model_def004.py", tmp_path)
    broken = tmp_path / "create_and_train_model_def011.py"
    source = (REPO_ROOT / broken.name).read_text()
    assert change[0] in source
    broken.write_text(source.replace(*change))
    monkeypatch.syspath_prepend(str(tmp_path))   # an import through the path would find def004 here
    with pytest.raises(AssertionError, match=f"create_and_train_model_def011.py fails its definition check: .*{problem}"):
        checked_and_built(broken, monkeypatch, capsys)
