"""`seisclip adopt INDEX`: the manifest of an index file the group's original selector made.

Such a file has no manifest and clip levels with two decimals. Once adopted, `seisclip verify`
passes and catches a changed byte of any waveform file, training and export read its manifest,
and every bad line is one error line naming it, with nothing written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seisclip.cli import main
from seisclip.fsio import sha256_file
from seisclip.provenance import check_fields
from seisclip.sets import adopt
from seisclip.sets.selection import SelectionRequest, select_segments
from seisclip.sets.split import read_selection_manifest
from seisclip.sets.verify import SELECTION_MANIFEST_FIELDS

from conftest import METADATA_NAME, waveform_name

L = 64
SEGMENTS = 600
INDEX = f"indices_files/old_{L}_{SEGMENTS}.txt"
MANIFEST = f"indices_files/old_{L}_{SEGMENTS}.json"
#: The file of 100 samples in the test bank (conftest.BANK_LENGTHS).
FILE_OF_100 = waveform_name(5)


def row(row_id: str, *values, case: str):
    """A case of row ``row_id`` of the table "What happens when…" (docs/robustness.md)."""
    return pytest.param(*values, id=f"{row_id}@{case}", marks=pytest.mark.bad_input(row_id))


def old_index_text(bank, segments: int = SEGMENTS) -> str:
    """Segments as the original selector wrote them: a file long enough for L, a start that fits,
    a clip level in [0.1, 1] with two decimals, the path under outfiles/."""
    rng = np.random.default_rng(11)
    names = sorted(bank.eligible(L))
    lines = []
    for _ in range(segments):
        name = names[rng.integers(len(names))]
        start = rng.integers(0, bank.counts[name] - L, endpoint=True)
        lines.append(f"{start} {rng.integers(10, 101) / 100:.2f} outfiles/{name}\n")
    return "".join(lines)


@pytest.fixture
def old_index(bank, tmp_path) -> Path:
    """The test bank with an index file of 600 segments of 64 samples and no manifest."""
    (tmp_path / "indices_files").mkdir()
    index = tmp_path / INDEX
    index.write_text(old_index_text(bank))
    return index


def run_main(capsys, *argv: str) -> tuple[int, str, list[str]]:
    """Exit status, stdout and stderr lines of ``seisclip ARGV`` run in this process."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:   # argparse errors exit through the parser
        status = exit_.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err.splitlines()


def adopt_error(capsys, *argv: str) -> str:
    """The one stderr line of a refused adoption."""
    status, out, err = run_main(capsys, "adopt", *argv)
    assert (status, out) == (1, ""), err
    assert len(err) == 1, err
    return err[0]


def paths_in(index: Path) -> set[str]:
    return {line.split()[2] for line in index.read_text().splitlines()}


def change_one_digit(path: str) -> None:
    """Change one digit of a waveform file: the same size, the same lines, another value."""
    data = bytearray(Path(path).read_bytes())
    position = next(i for i, byte in enumerate(data) if byte in b"12345678")
    data[position] += 1
    Path(path).write_bytes(bytes(data))


def test_adoption_records_the_hashes_and_the_unknown_seed_and_verify_passes(old_index, tmp_path, run):
    code, out, err = run("seisclip", "adopt", INDEX)
    assert (code, out) == (0, "")
    files = paths_in(old_index)
    assert err.splitlines() == [
        f"adopted {SEGMENTS} segments of {L} samples from {len(files)} files (clip levels with 2 decimals, "
        f"seed unknown) -> {MANIFEST}; check the set with `seisclip verify {INDEX}`"]
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    check_fields(manifest, MANIFEST, SELECTION_MANIFEST_FIELDS)
    assert manifest["kind"] == "seisclip selection" and manifest["adopted"] is True
    assert manifest["seed"] is None and manifest["seed_source"].startswith("unknown: ")
    assert {key: manifest[key] for key in ("index_file", "segment_length", "segment_length_source",
                                           "number_of_segments", "clip_level_range", "clip_level_decimals",
                                           "ASCII_file_dir", "metadata_file", "files_used")} == {
        "index_file": old_index.name, "segment_length": L, "segment_length_source": "from the index file's name",
        "number_of_segments": SEGMENTS, "clip_level_range": [0.1, 1.0], "clip_level_decimals": 2,
        "ASCII_file_dir": "outfiles", "metadata_file": METADATA_NAME, "files_used": len(files)}
    assert manifest["index_sha256"] == sha256_file(old_index)
    assert manifest["metadata_sha256"] == sha256_file(tmp_path / METADATA_NAME)
    assert manifest["waveform_sha256"] == {path: sha256_file(tmp_path / path) for path in sorted(files)}
    assert manifest["ASCII_file_dir_resolved"] == str((tmp_path / "bank").resolve())
    assert manifest["adopted_utc"].endswith("Z") and manifest["versions"]["numpy"] == np.__version__

    code, out, err = run("seisclip", "verify", INDEX)
    assert (code, err) == (0, "")
    assert out == (f"verify: OK, {SEGMENTS} segments of {L} samples from {len(files)} files checked against "
                   f"{MANIFEST}, {METADATA_NAME} and the bank, each file also against its recorded sha256\n")
    assert sorted(os.listdir(tmp_path / "indices_files")) == [Path(MANIFEST).name, old_index.name]


def test_adoption_never_imports_tensorflow(old_index, tmp_path):
    probe = ("import sys; from seisclip.cli import main; "
             f"print(main(['adopt', '{INDEX}', '--quiet']), sorted({{'tensorflow', 'keras'}} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.stdout == "0 []\n", done.stderr


@pytest.mark.bad_input("waveform-changed-after-adoption")
def test_one_changed_byte_of_a_waveform_file_fails_verify_naming_it(old_index, tmp_path, capsys):
    assert run_main(capsys, "adopt", INDEX)[0] == 0
    changed = sorted(paths_in(old_index))[0]
    recorded = json.loads((tmp_path / MANIFEST).read_text())["waveform_sha256"][changed]
    change_one_digit(changed)
    status, out, err = run_main(capsys, "verify", INDEX)
    assert (status, err) == (1, [])
    assert out.splitlines()[:-1] == [
        f"{changed}: sha256 {sha256_file(changed)} differs from the manifest's {recorded} "
        "(the waveform file changed after its hash was recorded)"]
    assert out.splitlines()[-1].startswith("verify: FAILED, 1 problem(s);")


def test_a_drawn_set_records_no_file_hashes_and_verifies_as_before(bank, tmp_path, capsys):
    drawn = "indices_files/drawn_64_200.txt"
    select_segments(SelectionRequest(L, 200, "outfiles", METADATA_NAME, drawn, seed=3))
    capsys.readouterr()
    assert "waveform_sha256" not in json.loads((tmp_path / drawn).with_suffix(".json").read_text())
    change_one_digit(sorted(paths_in(tmp_path / drawn))[0])   # the metadata cannot tell: same size and count
    status, out, err = run_main(capsys, "verify", drawn)
    assert (status, err) == (0, [])
    assert out.startswith("verify: OK, 200 segments") and out.endswith(f"{METADATA_NAME} and the bank\n")


def test_training_and_export_read_the_adopted_manifest(old_index, tmp_path, capsys):
    """What training reads (`read_selection_manifest`) and export, the TensorFlow-free path through
    the same split, take an adopted set as they take a drawn one; its seed is null."""
    assert run_main(capsys, "adopt", INDEX)[0] == 0
    manifest, manifest_sha256 = read_selection_manifest(Path(INDEX), sha256_file(old_index), L)
    assert manifest["seed"] is None and manifest["adopted"] is True
    assert manifest_sha256 == sha256_file(tmp_path / MANIFEST)
    assert run_main(capsys, "bank", "ingest", "--metadata", METADATA_NAME, "--ascii-dir", "bank",
                    "--out", "bank.h5", "--quiet")[0] == 0
    status, out, err = run_main(capsys, "export", INDEX, "--bank", "bank.h5", "--out", "set.h5", "--quiet")
    assert (status, err) == (0, [])
    assert out.startswith(f"set.h5: {SEGMENTS} segments of {L} samples")


def test_adoption_against_an_hdf5_bank_records_the_banks_provenance(old_index, tmp_path, capsys):
    assert run_main(capsys, "bank", "ingest", "--metadata", METADATA_NAME, "--ascii-dir", "bank",
                    "--out", "bank.h5", "--quiet")[0] == 0
    status, _, err = run_main(capsys, "adopt", INDEX, "--bank", "bank.h5")
    assert status == 0, err
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["bank"]["sha256"] == sha256_file(tmp_path / "bank.h5") and manifest["bank"]["path"] == "bank.h5"
    assert not {"metadata_file", "metadata_sha256", "waveform_sha256"} & set(manifest)
    status, out, err = run_main(capsys, "verify", INDEX)
    assert (status, err) == (0, [])
    assert out.startswith(f"verify: OK, {SEGMENTS} segments of {L} samples from ") and "trace table of the bank" in out
    assert read_selection_manifest(Path(INDEX), sha256_file(old_index), L)[0]["bank"]["path"] == "bank.h5"


def test_the_segment_length_may_be_given_when_the_name_does_not_say_it(old_index, tmp_path, capsys):
    renamed = tmp_path / "indices_files" / "old.txt"
    old_index.rename(renamed)
    status, _, err = run_main(capsys, "adopt", "indices_files/old.txt", "--segment-length", str(L))
    assert status == 0, err
    manifest = json.loads(renamed.with_suffix(".json").read_text())
    assert (manifest["segment_length"], manifest["segment_length_source"]) == (L, "given")


def test_a_folder_given_with_a_trailing_slash_is_the_folder_the_lines_name(old_index, tmp_path, capsys):
    assert run_main(capsys, "adopt", INDEX, "--ascii-dir", "outfiles/")[0] == 0
    assert json.loads((tmp_path / MANIFEST).read_text())["ASCII_file_dir"] == "outfiles"
    assert run_main(capsys, "verify", INDEX)[0] == 0


# --- bad input: one line naming the file (and line), exit status 1, nothing written --------------

@pytest.mark.parametrize("bad_line, message", [
    row("adopt-line-not-listed", "0 0.50 outfiles/not_in_the_bank\n",
        f"outfiles/not_in_the_bank is not listed in {METADATA_NAME}", case="unknown-file"),
    row("adopt-line-past-end", f"37 0.50 outfiles/{FILE_OF_100}\n",
        f"segment [37, 101) runs past the 100 samples {METADATA_NAME} lists for {FILE_OF_100}", case="one-sample"),
    row("adopt-line-clip-level", f"0 0.05 outfiles/{FILE_OF_100}\n",
        "clip level 0.05 is outside [0.1, 1.0], the range the original selector drew from", case="below-0.1"),
    row("adopt-line-clip-level", f"0 1.2 outfiles/{FILE_OF_100}\n", "clip level 1.2 is outside (0, 1]",
        case="above-1"),
    row("adopt-line-malformed", f"0 abc outfiles/{FILE_OF_100}\n", "clip level 'abc' is not a number",
        case="clip-level-not-a-number"),
    row("adopt-line-malformed", f"x 0.50 outfiles/{FILE_OF_100}\n", "start 'x' is not an integer",
        case="start-not-a-number"),
    row("adopt-line-malformed", "0 0.50\n", "expected 3 fields 'istart rscale path', found 2", case="2-fields"),
    row("adopt-mixed-folders", f"0 0.50 bank/{FILE_OF_100}\n",
        f"bank/{FILE_OF_100} is not in the folder outfiles that line 1 names: all lines must name one folder "
        "(give --ascii-dir if the names hold folders)", case="another-folder"),
])
def test_a_bad_line_is_one_error_naming_it_and_nothing_is_written(old_index, tmp_path, capsys, bad_line, message):
    lines = old_index.read_text().splitlines(keepends=True)
    lines[2] = bad_line
    old_index.write_text("".join(lines))
    assert adopt_error(capsys, INDEX) == f"seisclip adopt: error: {INDEX}:3: {message}"
    assert os.listdir(tmp_path / "indices_files") == [old_index.name]


@pytest.mark.bad_input("adopt-line-malformed")
def test_the_first_bad_line_is_named_whatever_its_kind(old_index, capsys):
    lines = old_index.read_text().splitlines(keepends=True)
    lines[3] = "0 0.50 outfiles/not_in_the_bank\n"
    lines[5] = "0 0,5 outfiles/not_in_the_bank\n"
    old_index.write_text("".join(lines))
    assert adopt_error(capsys, INDEX) == (
        f"seisclip adopt: error: {INDEX}:4: outfiles/not_in_the_bank is not listed in {METADATA_NAME}")
    lines[1] = "1 2 3 4\n"
    old_index.write_text("".join(lines))
    assert adopt_error(capsys, INDEX) == (
        f"seisclip adopt: error: {INDEX}:2: expected 3 fields 'istart rscale path', found 4")


@pytest.mark.bad_input("adopt-mixed-folders")
def test_a_given_folder_that_a_line_is_not_in_is_named(old_index, capsys):
    first_path = old_index.read_text().split("\n", 1)[0].split()[2]
    assert adopt_error(capsys, INDEX, "--ascii-dir", "bank") == (
        f"seisclip adopt: error: {INDEX}:1: {first_path} is not in the folder bank that --ascii-dir names: "
        "all lines must name one folder")


@pytest.mark.parametrize("name, argv, message", [
    row("adopt-segment-length", "old.txt", [],
        "indices_files/old.txt: the file name is not <SETID>_<SEGLEN>_<NUMSEG>.txt, so it does not say the "
        "segment length: give --segment-length", case="not-in-the-name"),
    row("adopt-segment-length", f"old_{L}_{SEGMENTS}.txt", ["--segment-length", "32"],
        f"indices_files/old_{L}_{SEGMENTS}.txt: --segment-length 32 differs from the {L} samples the file name says",
        case="other-than-the-name"),
    row("adopt-segment-length", "old.txt", ["--segment-length", "0"],
        "argument --segment-length: must be a positive integer, got 0 (see --help)", case="zero"),
    row("adopt-line-count", f"old_{L}_700.txt", [],
        f"indices_files/old_{L}_700.txt: index file has {SEGMENTS} lines, its name says 700: "
        "an interrupted selection?", case="fewer-lines"),
])
def test_the_segment_length_and_count_must_agree_with_the_name(old_index, tmp_path, capsys, name, argv, message):
    old_index.rename(tmp_path / "indices_files" / name)
    assert adopt_error(capsys, f"indices_files/{name}", *argv) == f"seisclip adopt: error: {message}"
    assert os.listdir(tmp_path / "indices_files") == [name]


@pytest.mark.parametrize("damage, message", [
    row("adopt-waveform-missing", os.unlink, "waveform file not found (relative to {cwd})", case="deleted"),
    row("adopt-waveform-missing", lambda path: (os.unlink(path), os.mkdir(path)),
        "cannot read waveform file: Is a directory", case="a-folder"),
])
def test_a_missing_or_unreadable_waveform_file_is_named(old_index, tmp_path, capsys, damage, message):
    path = sorted(paths_in(old_index))[-1]
    damage(tmp_path / path)
    assert adopt_error(capsys, INDEX) == f"seisclip adopt: error: {path}: {message.format(cwd=tmp_path)}"
    assert os.listdir(tmp_path / "indices_files") == [old_index.name]


@pytest.mark.bad_input("adopt-manifest-exists")
def test_adopting_again_is_refused_and_the_manifest_is_unchanged(old_index, tmp_path, capsys):
    assert run_main(capsys, "adopt", INDEX)[0] == 0
    before = (tmp_path / MANIFEST).read_bytes()
    assert adopt_error(capsys, INDEX) == (
        f"seisclip adopt: error: {MANIFEST}: manifest already exists: the set has one, and adopt never replaces it")
    assert (tmp_path / MANIFEST).read_bytes() == before
    assert sorted(os.listdir(tmp_path / "indices_files")) == [Path(MANIFEST).name, old_index.name]


@pytest.mark.bad_input("adopt-manifest-exists")
def test_a_drawn_set_is_not_adopted(bank, tmp_path, capsys):
    drawn = "indices_files/drawn_64_200.txt"
    select_segments(SelectionRequest(L, 200, "outfiles", METADATA_NAME, drawn, seed=3))
    capsys.readouterr()
    before = (tmp_path / drawn).with_suffix(".json").read_bytes()
    assert adopt_error(capsys, drawn) == (
        "seisclip adopt: error: indices_files/drawn_64_200.json: manifest already exists: the set has one, "
        "and adopt never replaces it")
    assert (tmp_path / drawn).with_suffix(".json").read_bytes() == before


@pytest.mark.parametrize("quiet", [False, True])
def test_hashing_shows_a_progress_bar_unless_quiet(old_index, capsys, monkeypatch, quiet):
    monkeypatch.setattr(adopt, "PROGRESS_DELAY_S", 0)   # as if hashing took long
    status, _, err = run_main(capsys, "adopt", INDEX, *(["--quiet"] if quiet else []))
    assert status == 0
    assert any("hashing waveforms" in line for line in err) != quiet
