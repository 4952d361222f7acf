"""The user's shell wrappers: run_select_training_samples.sh and linker.sh."""

import os

import pytest

SELECT = "run_select_training_samples.sh"


# --- run_select_training_samples.sh ----------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["64", "100"], ["64", "100", "set1", "extra"]], ids=["0", "2", "4"])
def test_wrong_number_of_arguments_prints_usage_and_exits_1(run, tmp_path, args):
    code, out, err = run(SELECT, *args)
    assert (code, out) == (1, "")
    assert err.startswith("usage: sh ./run_select_training_samples.sh SEGLEN NUMSEG SETID\n")
    assert "examples:" in err and "sh ./run_select_training_samples.sh 256  40000 set00001" in err
    assert list(tmp_path.iterdir()) == []


def test_writes_the_set_and_its_manifest_creating_indices_files(bank, run, tmp_path):
    assert not (tmp_path / "indices_files").exists()
    code, _, err = run(SELECT, "64", "500", "set00001")
    assert code == 0, err
    index = tmp_path / "indices_files/set00001_64_500.txt"
    lines = index.read_text().splitlines()
    assert len(lines) == 500
    assert all(line.split()[2].removeprefix("outfiles/") in bank.eligible(64) for line in lines)
    assert (tmp_path / "indices_files/set00001_64_500.json").is_file()


def test_same_set_id_reproduces_the_set(bank, run, tmp_path):
    index = tmp_path / "indices_files/set00001_64_500.txt"
    assert run(SELECT, "64", "500", "set00001")[0] == 0
    first = index.read_bytes()
    (tmp_path / "moved").mkdir()
    for made in (index, index.with_suffix(".json")):
        made.rename(tmp_path / "moved" / made.name)
    assert run(SELECT, "64", "500", "set00001")[0] == 0
    assert index.read_bytes() == first
    assert run(SELECT, "64", "500", "set00002")[0] == 0
    assert (tmp_path / "indices_files/set00002_64_500.txt").read_bytes() != first


@pytest.mark.parametrize("existing", ["set00001_64_500.txt", "set00001_64_500.json"])
def test_refuses_to_overwrite_an_existing_set(bank, run, tmp_path, existing):
    (tmp_path / "indices_files").mkdir()
    kept = tmp_path / "indices_files" / existing
    kept.write_bytes(b"precious\n")
    code, _, err = run(SELECT, "64", "500", "set00001")
    assert code == 1
    assert err.startswith(f"run_select_training_samples.sh: error: indices_files/{existing} already exists")
    assert kept.read_bytes() == b"precious\n"
    assert [path.name for path in (tmp_path / "indices_files").iterdir()] == [existing]


@pytest.mark.parametrize(
    "seglen, numseg, setid, message",
    [
        ("abc", "500", "set1", "SEGLEN must be a positive integer"),
        ("2.5", "500", "set1", "SEGLEN must be a positive integer"),
        ("-64", "500", "set1", "SEGLEN must be a positive integer"),
        ("0", "500", "set1", "SEGLEN must be a positive integer"),
        ("", "500", "set1", "SEGLEN must be a positive integer"),
        ("64", "1e3", "set1", "NUMSEG must be a positive integer"),
        ("64", "0", "set1", "NUMSEG must be a positive integer"),
        ("64", "500", "a/b", "SETID 'a/b' must be"),
        ("64", "500", "../set1", "SETID '../set1' must be"),
        ("64", "500", "..", "SETID '..' must be"),
        ("64", "500", "set 1", "SETID 'set 1' must be"),
        ("64", "500", "set\t1", "SETID 'set\t1' must be"),
        ("64", "500", "", "SETID '' must be"),
    ],
)
def test_rejects_bad_arguments(bank, run, tmp_path, seglen, numseg, setid, message):
    code, _, err = run(SELECT, seglen, numseg, setid)
    assert code == 1
    assert err.startswith(f"run_select_training_samples.sh: error: {message}")
    assert not (tmp_path / "indices_files").exists()


# --- linker.sh -------------------------------------------------------------------------------

def test_linker_without_argument_links_the_demo_bank(run, tmp_path):
    (tmp_path / "demo_bank").mkdir()
    code, out, _ = run("linker.sh")
    assert (code, out) == (0, "outfiles -> demo_bank\n")
    assert os.readlink(tmp_path / "outfiles") == "demo_bank"


@pytest.mark.parametrize("old_target", ["old_bank", "gone"], ids=["link", "dangling-link"])
def test_linker_replaces_an_existing_link(run, tmp_path, old_target):
    (tmp_path / "old_bank").mkdir()
    (tmp_path / "archive").mkdir()
    (tmp_path / "outfiles").symlink_to(old_target)
    assert run("linker.sh", "archive")[0] == 0
    assert os.readlink(tmp_path / "outfiles") == "archive"
    assert (tmp_path / "old_bank").is_dir()


def test_linker_never_touches_a_real_folder_named_outfiles(run, tmp_path):
    (tmp_path / "archive").mkdir()
    (tmp_path / "outfiles").mkdir()
    (tmp_path / "outfiles/waveform").write_text("1\n2\n")
    code, _, err = run("linker.sh", "archive")
    assert code == 1
    assert err == "linker.sh: error: outfiles exists and is not a symbolic link; it is left untouched (move it away first)\n"
    assert not (tmp_path / "outfiles").is_symlink()
    assert [path.name for path in (tmp_path / "outfiles").iterdir()] == ["waveform"]
    assert (tmp_path / "outfiles/waveform").read_text() == "1\n2\n"


def test_linker_never_touches_a_file_named_outfiles(run, tmp_path):
    (tmp_path / "archive").mkdir()
    (tmp_path / "outfiles").write_text("keep\n")
    code, _, err = run("linker.sh", "archive")
    assert code == 1
    assert "outfiles exists and is not a symbolic link" in err
    assert (tmp_path / "outfiles").read_text() == "keep\n"


@pytest.mark.parametrize("args, target", [([], "demo_bank"), (["no/such/folder"], "no/such/folder")],
                         ids=["default", "given"])
def test_linker_errors_on_a_missing_target(run, tmp_path, args, target):
    code, _, err = run("linker.sh", *args)
    assert code == 1
    assert err.startswith(f"linker.sh: error: {target} is not a folder")
    assert not os.path.lexists(tmp_path / "outfiles")
