"""`seisclip verify INDEX`: a fresh set passes; each kind of later change is caught and named."""

import pytest

from seisclip.bank.wc_list import format_wc_line
from seisclip.cli import main
from seisclip.sets.selection import SelectionRequest, select_segments

L = 64
INDEX = "indices_files/set_64_2000.txt"


@pytest.fixture
def index(bank, tmp_path):
    select_segments(SelectionRequest(L, 2000, "outfiles", bank.metadata.name, INDEX, seed=3))
    return tmp_path / INDEX


def verify(index, capsys) -> tuple[int, str]:
    code = main(["verify", str(index)])
    return code, capsys.readouterr().out


def referenced_file(index) -> str:
    """The waveform path (as written in the index) of the first segment."""
    return index.read_text().split("\n", 1)[0].split()[2]


def test_fresh_set_passes(index, run):
    code, out, err = run("seisclip", "verify", INDEX)
    assert (code, err) == (0, "")
    assert out.startswith("verify: OK, 2000 segments of 64 samples from 7 files checked")


def test_edited_index_line_is_named(index, bank, capsys):
    lines = index.read_text().splitlines(keepends=True)
    _, level, path = lines[2].split()
    too_late = bank.counts[path.removeprefix("outfiles/")] - L + 1
    lines[2] = f"{too_late} {level} {path}\n"
    index.write_text("".join(lines))
    code, out = verify(index, capsys)
    assert code == 1
    assert f"{index}: sha256 " in out and "(the index changed after it was made)" in out
    assert f"{index}:3: segment [{too_late}, {too_late + L}) runs past the" in out
    assert "verify: FAILED" in out


def test_truncated_waveform_file_is_named(index, bank, capsys):
    path = referenced_file(index)
    with open(path, "r+") as handle:
        handle.truncate(len("".join(handle.readlines()[:10])))
    code, out = verify(index, capsys)
    assert code == 1
    assert f"{path}: 10 samples, {bank.metadata.name}:" in out
    assert f"{path}: 10 samples, too short for segments ending at sample" in out


def test_rewritten_waveform_file_of_the_same_length_is_named(index, bank, tmp_path, capsys):
    path = referenced_file(index)
    count = bank.counts[path.removeprefix("outfiles/")]
    (tmp_path / path).write_text("0\n" * count)
    code, out = verify(index, capsys)
    assert code == 1
    assert f"{path}: {2 * count} bytes, {bank.metadata.name}:" in out


def test_deleted_waveform_file_is_named(index, tmp_path, capsys):
    path = referenced_file(index)
    (tmp_path / path).unlink()
    code, out = verify(index, capsys)
    assert code == 1
    assert f"{path}: waveform file not found" in out


def test_changed_metadata_is_named(index, bank, capsys):
    with bank.metadata.open("a") as handle:
        handle.write(format_wc_line(300, 300, 1800, "added_later"))
    code, out = verify(index, capsys)
    assert code == 1
    assert f"{bank.metadata.name}: sha256 " in out and "(the metadata changed)" in out


def test_missing_manifest_is_one_line_and_exit_1(index, run):
    index.with_suffix(".json").unlink()
    code, out, err = run("seisclip", "verify", INDEX)
    assert (code, out) == (1, "")
    assert err.splitlines() == ["seisclip verify: error: indices_files/set_64_2000.json: manifest not found"]
