"""The table "What happens when…" of docs/robustness.md, row by row.

Bad input is one line on stderr naming the file (and line) and the problem, with exit status 1;
a bad line or segment that can be passed over is skipped, counted and summarised, and with
--strict is an error; nothing that exists is overwritten without --overwrite.

Each case is marked ``bad_input(<row>)`` with the id of its table row, and its parametrize id
is that row id (``<row>@<command>`` where several commands are tried). Commands run in this
process (the CLI, the scripts' entry points and a definition script's training), except the
shell wrappers' own argument checks, which never start Python.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seisclip.bank.wc_list import format_wc_line
from seisclip.cli import main, selection_main
from seisclip.errors import SeisclipError
from seisclip.fsio import sha256_file
from seisclip.sets.index_file import read_index
from seisclip.sets.segments import load_segments
from seisclip.sets.selection import SelectionRequest, select_segments

from conftest import METADATA_NAME, REPO_ROOT, TABLE_PAGE, error_line, model_manifest, run_in_process, table_rows

L = 64
SET = f"set_{L}_200"
INDEX = f"indices_files/{SET}.txt"
MANIFEST = f"indices_files/{SET}.json"
DEF001 = "create_and_train_model_def001.py"
HUGE = "1" + "0" * 30


def row(row_id: str, *values, command: str | None = None):
    """A case of table row ``row_id`` (tried with ``command`` where the row has several)."""
    return pytest.param(*values, id=row_id if command is None else f"{row_id}@{command}",
                        marks=pytest.mark.bad_input(row_id))


def seisclip(capsys, *argv: str) -> str:
    return error_line(capsys, main, list(argv))


@pytest.fixture(scope="module")
def def001():
    """The def001 definition script's entry point, run in this process with the given flags."""
    from seisclip.learn.training import train_definition

    spec = importlib.util.spec_from_file_location("definition_def001", REPO_ROOT / DEF001)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return lambda *argv: train_definition(script.NAME, script.build_model, script.loss, script.HYPERPARAMETERS,
                                          argv=list(argv))


def train(capsys, def001, *argv: str, length: str = str(L), segdefname: str = SET, warnings: int = 0) -> str:
    return error_line(capsys, def001, "--number_of_consecutive_samples", length, "--segdefname", segdefname,
                      "--quiet", *argv, warnings=warnings)


@pytest.fixture
def drawn(bank):
    """The test bank with a set of 200 segments of 64 samples and its manifest."""
    select_segments(SelectionRequest(L, 200, "outfiles", METADATA_NAME, INDEX, seed=3))
    return bank


def index_lines(root: Path) -> list[str]:
    return (root / INDEX).read_text().splitlines(keepends=True)


def rewrite_index(root: Path, lines: list[str], update_manifest: bool = True) -> None:
    """Write the index; with ``update_manifest`` its manifest records the new hash, as if the set
    had been drawn so (against an older bank, say), so that only the lines themselves are wrong."""
    index = root / INDEX
    index.write_text("".join(lines))
    if update_manifest:
        manifest = json.loads((root / MANIFEST).read_text())
        manifest["index_sha256"] = read_index(index, problems=[]).sha256
        (root / MANIFEST).write_text(json.dumps(manifest))


def ingest(capsys) -> str:
    return seisclip(capsys, "bank", "ingest", "--metadata", METADATA_NAME, "--ascii-dir", "bank", "--out", "bank.h5",
                    "--quiet")


def verify_problems(capsys) -> list[str]:
    status, out, err = run_in_process(capsys, main, ["verify", INDEX])
    assert status == 1 and err == []
    assert out.splitlines()[-1].startswith("verify: FAILED")
    return out.splitlines()[:-1]


# --- metadata ---------------------------------------------------------------------------------

SELECT = ["select", "--number_of_consecutive_samples", str(L), "--number_of_training_segments", "50",
          "--output_file", "set.txt", "--seed", "1"]


@pytest.mark.parametrize("content, message", [
    row("metadata-missing", None, "metadata file not found"),
    row("metadata-empty", b"", "metadata file is empty", command="empty"),
    row("metadata-empty", b" \n\t\r\n", "metadata file is empty", command="blank"),
    row("metadata-no-usable-line", b"1 2 3\n-1 1 1 a\n", "metadata file has no usable line (2 skipped)"),
])
def test_unusable_metadata_file(bank, tmp_path, capsys, content, message):
    if content is None:
        bank.metadata.unlink()
    else:
        bank.metadata.write_bytes(content)
    assert seisclip(capsys, *SELECT) == f"seisclip select: error: {METADATA_NAME}: {message}"
    assert not (tmp_path / "set.txt").exists()


@pytest.mark.parametrize("line, reason", [
    row("metadata-wrong-columns", b"5 5 only_three", "not 4 columns", command="3"),
    row("metadata-wrong-columns", b"12 1 2 b extra", "not 4 columns", command="5"),
    row("metadata-count-not-an-integer", b"x 1 2 c", "count not an integer", command="letters"),
    row("metadata-count-not-an-integer", b"1.5 1 2 c", "count not an integer", command="decimal"),
    row("metadata-count-not-an-integer", b"1_000 1 2 c", "count not an integer", command="underscore"),
    row("metadata-count-not-an-integer", "١٢ 1 2 c".encode(), "count not an integer", command="non-ascii-digits"),
    row("metadata-negative-count", b"-3 1 2 d", "negative count"),
    row("metadata-count-too-large", HUGE.encode() + b" 1 2 e", "count too large"),
    row("metadata-name-escapes", b"10 1 2 ../x", "name escapes the bank folder", command="parent"),
    row("metadata-name-escapes", b"10 1 2 a/../../x", "name escapes the bank folder", command="inner-parent"),
    row("metadata-name-escapes", b"10 1 2 /abs/y", "name escapes the bank folder", command="absolute"),
    row("metadata-name-escapes", b"10 1 2 back\\slash", "name escapes the bank folder", command="backslash"),
    row("metadata-name-control-character", b"10 1 2 a\x00b", "name holds a control character"),
    row("metadata-duplicate-name", format_wc_line(7, 7, 14, "19830924.0500.BRV.SKM.s09E0.024.txtseg00000009").encode(),
        "duplicate name"),
])
def test_bad_metadata_line_is_skipped_and_summarised_and_with_strict_an_error(bank, tmp_path, capsys, line, reason):
    bank.metadata.write_bytes(bank.metadata.read_bytes() + line.rstrip(b"\n") + b"\n")
    status, _, lines = run_in_process(capsys, main, SELECT)
    assert status == 0
    assert lines[0] == f"warning: {METADATA_NAME}: skipped 1 of 11 lines: 1 {reason} (line 11)"
    assert lines[1].startswith("selected 50 segments") and len(lines) == 2
    names = {path.split("/", 1)[1] for path in read_index(tmp_path / "set.txt").paths}
    assert names <= set(bank.counts)

    assert seisclip(capsys, *SELECT[:-3], "strict.txt", "--strict") == (
        f"seisclip select: error: {METADATA_NAME}:11: bad metadata line ({reason}; --strict is set)")
    assert not (tmp_path / "strict.txt").exists()


@pytest.mark.bad_input("metadata-crlf")
def test_metadata_with_crlf_line_endings_gives_the_same_set(bank, tmp_path, capsys):
    assert main(SELECT) == 0
    bank.metadata.write_bytes(bank.metadata.read_bytes().replace(b"\n", b"\r\n"))
    assert main([*SELECT[:-3], "crlf.txt", "--seed", "1"]) == 0
    assert (tmp_path / "crlf.txt").read_bytes() == (tmp_path / "set.txt").read_bytes()
    assert "warning" not in capsys.readouterr().err


@pytest.mark.bad_input("metadata-no-file-long-enough")
def test_no_file_long_enough_for_the_segment_length(bank, tmp_path, capsys):
    argv = ["select", "--number_of_consecutive_samples", "7000", "--output_file", "set.txt"]
    assert seisclip(capsys, *argv) == (f"seisclip select: error: {METADATA_NAME}: no file has at least 7000 samples "
                                       "(the longest has 6000); choose a shorter number_of_consecutive_samples")
    assert not (tmp_path / "set.txt").exists()


# --- arguments --------------------------------------------------------------------------------

POSITIVE = "must be a positive integer, got"


LENGTH_FLAG, COUNT_FLAG = "--number_of_consecutive_samples", "--number_of_training_segments"


@pytest.mark.parametrize("flag, value, message", [
    row("args-length-zero", LENGTH_FLAG, "0", f"number_of_consecutive_samples {POSITIVE} 0"),
    row("args-length-negative", LENGTH_FLAG, "-5", f"number_of_consecutive_samples {POSITIVE} -5"),
    row("args-length-not-an-integer", LENGTH_FLAG, "2.5",
        "argument --segment-length/--number_of_consecutive_samples: invalid int value: '2.5' (see --help)"),
    row("args-length-huge", LENGTH_FLAG, HUGE, f"{METADATA_NAME}: no file has at least {HUGE} samples "
                                               "(the longest has 6000); choose a shorter number_of_consecutive_samples"),
    row("args-count-zero", COUNT_FLAG, "0", f"number_of_training_segments {POSITIVE} 0"),
    row("args-count-negative", COUNT_FLAG, "-1", f"number_of_training_segments {POSITIVE} -1"),
    row("args-count-not-an-integer", COUNT_FLAG, "1e3",
        "argument --segments/--number_of_training_segments: invalid int value: '1e3' (see --help)"),
    row("args-count-huge", COUNT_FLAG, HUGE, f"number_of_training_segments {HUGE} is over the limit of 20000000; "
                                             "make several sets instead"),
])
def test_selection_script_rejects_a_bad_length_or_count(bank, tmp_path, capsys, flag, value, message):
    argv = ["--output_file", "set.txt", "--metadata_file", METADATA_NAME, flag, value]
    line = error_line(capsys, selection_main, argv, "select_training_samples.py")
    assert line == f"select_training_samples.py: error: {message}"
    assert not (tmp_path / "set.txt").exists()


@pytest.mark.parametrize("script, seglen, numseg, message", [
    row("args-length-zero", "run_select_training_samples.sh", "0", "500", "SEGLEN", command="select-wrapper"),
    row("args-length-negative", "run_select_training_samples.sh", "-64", "500", "SEGLEN", command="select-wrapper"),
    row("args-length-not-an-integer", "run_select_training_samples.sh", "2.5", "500", "SEGLEN", command="select-wrapper"),
    row("args-count-zero", "run_select_training_samples.sh", "64", "0", "NUMSEG", command="select-wrapper"),
    row("args-count-negative", "run_select_training_samples.sh", "64", "-1", "NUMSEG", command="select-wrapper"),
    row("args-count-not-an-integer", "run_select_training_samples.sh", "64", "1e3", "NUMSEG", command="select-wrapper"),
    row("args-length-zero", "run_create_and_train_model.sh", "0", SET, "SEGLEN", command="train-wrapper"),
    row("args-length-negative", "run_create_and_train_model.sh", "-64", SET, "SEGLEN", command="train-wrapper"),
    row("args-length-not-an-integer", "run_create_and_train_model.sh", "64.0", SET, "SEGLEN", command="train-wrapper"),
])
def test_wrappers_reject_a_length_or_count_that_is_not_a_positive_integer(bank, run, tmp_path, script, seglen, numseg,
                                                                          message):
    value = seglen if message == "SEGLEN" else numseg
    code, out, err = run(script, seglen, numseg, "set1" if script.startswith("run_select") else "def001")
    assert (code, out) == (1, "")
    assert err == f"{script}: error: {message} must be a positive integer without leading zeros, got '{value}'\n"
    assert not (tmp_path / "indices_files").exists() and not (tmp_path / "models").exists()


@pytest.mark.bad_input("args-count-huge")
def test_selection_wrapper_passes_a_huge_count_to_the_script_which_refuses_it(bank, run, tmp_path):
    code, out, err = run("run_select_training_samples.sh", "64", HUGE, "set1")
    assert (code, out) == (1, "")
    assert err == (f"select_training_samples.py: error: number_of_training_segments {HUGE} is over the limit of "
                   "20000000; make several sets instead\n")
    assert list((tmp_path / "indices_files").iterdir()) == []


@pytest.mark.parametrize("length, message", [
    row("args-length-zero", "0", f"--segment-length {POSITIVE} 0 (see --help)", command="train"),
    row("args-length-negative", "-5", f"--segment-length {POSITIVE} -5 (see --help)", command="train"),
    row("args-length-not-an-integer", "abc",
        "argument --segment-length/--number_of_consecutive_samples: invalid int value: 'abc' (see --help)",
        command="train"),
])
def test_training_rejects_a_bad_length(drawn, capsys, def001, length, message):
    assert train(capsys, def001, length=length) == f"{DEF001}: error: {message}"


@pytest.mark.bad_input("args-length-huge")
def test_training_rejects_an_absurd_length(drawn, tmp_path, capsys, def001):
    assert train(capsys, def001, length=HUGE) == (
        f"{DEF001}: error: {INDEX}: index file was drawn with segments of {L} samples, not the {HUGE} asked for")
    (tmp_path / MANIFEST).unlink()   # nothing to compare with: the length itself is refused
    assert train(capsys, def001, length=HUGE, warnings=1) == (
        f"{DEF001}: error: segment length must be a positive integer of at most 1000000 samples, got {HUGE}")


@pytest.mark.parametrize("length", [row("args-length-zero", "0", command="export"),
                                    row("args-length-huge", HUGE, command="export")])
def test_export_rejects_a_bad_length(drawn, capsys, length):
    assert main(["bank", "ingest", "--metadata", METADATA_NAME, "--ascii-dir", "bank", "--out", "bank.h5", "--quiet"]) == 0
    capsys.readouterr()
    line = seisclip(capsys, "export", INDEX, "--bank", "bank.h5", "--out", "set.h5", "--segment-length", length, "--quiet")
    assert line == ("seisclip export: error: segment length must be a positive integer of at most 1000000 samples, "
                    f"got {length}")


@pytest.mark.parametrize("setid", [
    row("args-setid-slash", "a/b"),
    row("args-setid-dot-dot", "..", command="dotdot"),
    row("args-setid-dot-dot", "../set1", command="parent"),
    row("args-setid-white-space", "set 1", command="space"),
    row("args-setid-white-space", "set\t1", command="tab"),
])
def test_set_names_with_a_slash_dot_dot_or_white_space_are_refused(drawn, run, tmp_path, capsys, def001, setid):
    code, out, err = run("run_select_training_samples.sh", "64", "500", setid)
    assert (code, out) == (1, "")
    assert err == (f"run_select_training_samples.sh: error: SETID '{setid}' must be letters, digits, '.', '_' or '-' "
                   "and not start with '.'\n")
    assert sorted(path.name for path in (tmp_path / "indices_files").iterdir()) == [f"{SET}.json", f"{SET}.txt"]
    assert train(capsys, def001, segdefname=setid) == (
        f"{DEF001}: error: argument --set-name/--segdefname: {setid!r} must be letters, digits, '.', '_' or '-' "
        "and not start with '.' (see --help)")
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("definition, message", [
    row("args-def-without-script", "def999",
        f"no model definition 'def999': {REPO_ROOT}/create_and_train_model_def999.py does not exist", command="missing"),
    row("args-def-without-script", "../def001", "DEF '../def001' must be letters, digits or '_' (e.g. def001)",
        command="path"),
    row("args-def-without-script", "def 1", "DEF 'def 1' must be letters, digits or '_' (e.g. def001)", command="space"),
])
def test_training_wrapper_refuses_a_definition_without_a_script(drawn, run, tmp_path, definition, message):
    code, out, err = run("run_create_and_train_model.sh", str(L), SET, definition)
    assert (code, out, err) == (1, "", f"run_create_and_train_model.sh: error: {message}\n")
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("argv, message", [
    row("args-clip-level-range", ["--min_rscale", "0"], "clip-level range [0.0, 1.0] must satisfy 0 < low <= high <= 1",
        command="zero"),
    row("args-clip-level-range", ["--max_rscale", "1.5"], "clip-level range [0.1, 1.5] must satisfy 0 < low <= high <= 1",
        command="above-1"),
    row("args-clip-level-range", ["--min_rscale", "0.6", "--max_rscale", "0.5"],
        "clip-level range [0.6, 0.5] must satisfy 0 < low <= high <= 1", command="reversed"),
    row("args-clip-level-range", ["--min_rscale", "nan"], "clip-level range [nan, 1.0] must satisfy 0 < low <= high <= 1",
        command="nan"),
    row("args-ascii-dir-white-space", ["--ASCII_file_dir", "my bank"],
        "ASCII_file_dir 'my bank' must be a folder name without white space or control characters: "
        "it is written into every index line"),
])
def test_selection_rejects_a_bad_clip_level_range_or_folder(bank, tmp_path, capsys, argv, message):
    assert seisclip(capsys, *SELECT, *argv) == f"seisclip select: error: {message}"
    assert not (tmp_path / "set.txt").exists()


@pytest.mark.parametrize("argv, message", [
    row("args-clip-level-range", ["clip", "w.txt", "--level", "0", "--out", "c.txt"],
        "seisclip clip: error: clip level must be a fraction of the peak in (0, 1], got 0.0", command="clip"),
    row("args-clip-level-range", ["clip", "w.txt", "--level", "1.5", "--out", "c.txt"],
        "seisclip clip: error: clip level must be a fraction of the peak in (0, 1], got 1.5", command="clip-above-1"),
    row("args-clip-level-range", ["evaluate", "--records", "w.txt", "--clip-levels", "0.5", "1.5", "--out-dir", "ev"],
        "seisclip evaluate: error: clip levels must be in (0, 1], got [0.5, 1.5]", command="evaluate"),
    row("args-other-options", ["restore", "w.txt", "--method", "spline", "--stride", "0"],
        "seisclip restore: error: argument --stride: must be a positive integer, got 0 (see --help)", command="stride"),
    row("args-other-options", ["restore", "w.txt", "--method", "spline", "--batch-size", "-1"],
        "seisclip restore: error: argument --batch-size: must be a positive integer, got -1 (see --help)",
        command="batch-size"),
    row("args-other-options", ["restore", "w.txt", "--method", "spline", "--tolerance", "-1"],
        "seisclip restore: error: tolerance must be a finite number of counts >= 0, got -1.0", command="tolerance"),
    row("args-other-options", ["restore", "w.txt", "--method", "spline", "--clip-counts", "0"],
        "seisclip restore: error: w.txt: clip level must be positive, got 0.0", command="clip-counts"),
    row("args-other-options", ["restore", "w.txt", "--method", "spline", "--clip-level", "0"],   # its older spelling
        "seisclip restore: error: w.txt: clip level must be positive, got 0.0", command="clip-level"),
    row("args-other-options", ["evaluate", "--records", "w.txt", "--stride", "0"],
        "seisclip evaluate: error: argument --stride: must be a positive integer, got 0 (see --help)",
        command="evaluate-stride"),
    row("args-other-options", ["demo-bank", "demo", "--files", "-3"],
        "seisclip demo-bank: error: argument --files: must be a positive integer, got -3 (see --help)",
        command="demo-bank-files"),
])
def test_clip_restore_and_evaluate_reject_bad_options(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.txt").write_text("".join(f"{v}\n" for v in (0, 50, 100, 100, 40, -100, -100, 0) * 8))
    assert seisclip(capsys, *argv) == message
    assert sorted(path.name for path in tmp_path.iterdir()) == ["w.txt"]


@pytest.mark.bad_input("args-min-peak")
def test_a_min_peak_that_lets_a_segment_of_zeros_through_is_refused(drawn, capsys, def001):
    for value in ("0", "-5"):
        assert train(capsys, def001, "--min_peak", value) == (
            f"{DEF001}: error: min_peak must be positive (segments whose peak is below it are skipped), got {float(value)}")


# --- waveform files ---------------------------------------------------------------------------

def damage(root: Path, change) -> tuple[str, int]:
    """Apply ``change`` to the waveform file of the index's first line; its path (as the index
    writes it) and its metadata line."""
    path = index_lines(root)[0].split()[2]
    name = path.split("/", 1)[1]
    change(root / "bank" / name)
    line = next(number for number, text in enumerate((root / METADATA_NAME).read_text().splitlines(), start=1)
                if text.endswith(" " + name))
    return path, line


def truncate_to_10_samples(file: Path) -> None:
    file.write_text("".join(file.read_text().splitlines(keepends=True)[:10]))


def segments_of(root: Path, **options):
    return load_segments(read_index(root / INDEX), L, progress=False, **options)


@pytest.mark.parametrize("change, reason, bank_message, verify_message", [
    row("waveform-missing", Path.unlink, "file missing", "{path}: waveform file listed on {meta} line {line} not found",
        "{path}: waveform file not found"),
    row("waveform-shorter-than-metadata", truncate_to_10_samples, "file too short",
        "{path}: 10 samples, {meta}:{line} lists {count}", "{path}: 10 samples, too short for segments ending at"),
    row("waveform-empty", lambda file: file.write_bytes(b""), "file too short",
        "{path}: 0 samples, {meta}:{line} lists {count}", "{path}: 0 samples, {meta}:{line} lists {count}"),
    row("waveform-unreadable", lambda file: (file.unlink(), file.mkdir()), "file missing",
        "{path}: cannot read waveform file listed on {meta} line {line}: Is a directory",
        "{path}: cannot read waveform file: Is a directory"),
])
def test_missing_or_short_waveform_file(drawn, tmp_path, capsys, def001, change, reason, bank_message, verify_message):
    path, line = damage(tmp_path, change)
    name = path.split("/", 1)[1]
    fill = {"meta": METADATA_NAME, "line": line, "count": drawn.counts[name]}
    # training: the file's segments are skipped and counted; --strict makes the first an error
    segments = segments_of(tmp_path)
    skipped = [position for position, why in segments.skip_reasons.items() if why == reason]
    assert skipped and all(read_index(tmp_path / INDEX).paths[p] == path for p in skipped)
    assert f"skipped: {len(skipped)} {reason}" in segments.summary()
    assert train(capsys, def001, "--strict") == (
        f"{DEF001}: error: {INDEX}:1: segment skipped ({reason}; --strict is set)")
    # the bank must hold what the metadata lists
    assert ingest(capsys) == "seisclip bank: error: " + bank_message.format(path=f"bank/{name}", **fill)
    assert not (tmp_path / "bank.h5").exists()
    assert any(problem.startswith(verify_message.format(path=path, **fill)) for problem in verify_problems(capsys))


@pytest.mark.parametrize("bad_value, message", [
    row("waveform-not-a-number", "12x", "value '12x' is not a number"),
    row("waveform-nan", "nan", "value nan is not finite"),
    row("waveform-inf", "-inf", "value -inf is not finite", command="inf"),
    row("waveform-inf", "9" * 400, f"value {'9' * 400} is not finite", command="beyond-float"),
    row("waveform-crlf", "12\r34", "expected one value per line, found 2", command="lone-cr"),
])
def test_a_waveform_line_that_is_not_one_finite_number_is_an_error_naming_it(drawn, tmp_path, capsys, def001,
                                                                              bad_value, message):
    def replace_line_11(file: Path) -> None:
        lines = file.read_text().splitlines()
        lines[10] = bad_value
        file.write_text("\n".join(lines) + "\n")

    path, _ = damage(tmp_path, replace_line_11)
    name = path.split("/", 1)[1]
    assert train(capsys, def001) == f"{DEF001}: error: {path}:11: {message}"
    assert ingest(capsys) == f"seisclip bank: error: bank/{name}:11: {message}"
    shutil.copy(tmp_path / "bank" / name, tmp_path / "record.txt")
    assert seisclip(capsys, "restore", "record.txt", "--method", "spline") == (
        f"seisclip restore: error: record.txt:11: {message}")


@pytest.mark.bad_input("waveform-crlf")
def test_crlf_waveform_files_read_as_lf(drawn, tmp_path):
    lf = segments_of(tmp_path)
    for file in (tmp_path / "bank").iterdir():
        file.write_bytes(file.read_bytes().replace(b"\n", b"\r\n"))
    crlf = segments_of(tmp_path)
    assert np.array_equal(lf.segments, crlf.segments) and not crlf.skip_reasons


@pytest.mark.bad_input("waveform-all-zeros")
def test_a_segment_of_zeros_is_skipped_never_divided(drawn, tmp_path, capsys):
    path, _ = damage(tmp_path, lambda file: file.write_text("0\n" * len(file.read_text().splitlines())))
    segments = segments_of(tmp_path)
    zeros = [p for p, path_ in enumerate(read_index(tmp_path / INDEX).paths) if path_ == path]
    assert all(segments.skip_reasons[p] == "peak below min_peak" for p in zeros)
    assert np.all(np.abs(segments.segments).max(axis=1) >= 50)
    with pytest.raises(SeisclipError, match="min_peak must be positive"):
        segments_of(tmp_path, min_peak=0)
    # whole records of zeros: nothing to clip, nothing clipped to restore
    shutil.copy(tmp_path / path, tmp_path / "zeros.txt")
    assert seisclip(capsys, "clip", "zeros.txt", "--level", "0.5", "--out", "c.txt") == (
        "seisclip clip: error: zeros.txt: peak 0 clipped at 0.5 leaves no level to clip at")
    assert seisclip(capsys, "evaluate", "--records", "zeros.txt", "--out-dir", "ev") == (
        "seisclip evaluate: error: zeros.txt: record is all zeros: nothing to clip")
    assert main(["restore", "zeros.txt", "--method", "spline", "--out", "z.out"]) == 0
    assert "restored 0 clipped samples" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    row("waveform-missing", ["restore", "nope.txt", "--method", "spline"], "nope.txt: record file not found",
        command="restore"),
    row("waveform-missing", ["clip", "nope.txt", "--level", "0.5", "--out", "c.txt"], "nope.txt: waveform file not found",
        command="clip"),
    row("waveform-empty", ["restore", "empty.txt", "--method", "spline"], "empty.txt: record is empty", command="restore"),
    row("waveform-empty", ["clip", "empty.txt", "--level", "0.5", "--out", "c.txt"], "empty.txt: waveform file is empty",
        command="clip"),
    row("waveform-empty", ["evaluate", "--records", "empty.txt", "--out-dir", "ev"], "empty.txt: record is empty",
        command="evaluate"),
    row("waveform-unreadable", ["restore", ".", "--method", "spline"], ".: record file is a directory", command="restore"),
])
def test_records_that_are_missing_or_empty(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_bytes(b"")
    assert seisclip(capsys, *argv) == f"seisclip {argv[0]}: error: {message}"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["empty.txt"]


# --- index files ------------------------------------------------------------------------------

@pytest.mark.parametrize("bad_line, message", [
    row("index-malformed-line", "12 0.5\n", "expected 3 fields 'istart rscale path', found 2", command="2-fields"),
    row("index-malformed-line", "12 0.5 a b\n", "expected 3 fields 'istart rscale path', found 4", command="4-fields"),
    row("index-malformed-line", "x 0.5 outfiles/a\n", "start 'x' is not an integer", command="letters"),
    row("index-malformed-line", "1_0 0.5 outfiles/a\n", "start '1_0' is not an integer", command="underscore"),
    row("index-malformed-line", "-3 0.5 outfiles/a\n", "start -3 is negative", command="negative"),
    row("index-malformed-line", "0 0,5 outfiles/a\n", "clip level '0,5' is not a number", command="decimal-comma"),
    row("index-malformed-line", "0 0.5 outfiles/a\x01\n", r"path 'outfiles/a\x01' holds a control character",
        command="control-character"),
    row("index-malformed-line", "0 0.5 outfiles/\udcff\n", "line is not UTF-8 text", command="not-utf8"),
    row("index-start-beyond-file", HUGE + " 0.5 outfiles/a\n",
        f"start {HUGE} has more than 18 digits: beyond any waveform file", command="beyond-int64"),
    row("index-clip-level-outside", "0 0 outfiles/a\n", "clip level 0 is outside (0, 1]", command="zero"),
    row("index-clip-level-outside", "0 1.5 outfiles/a\n", "clip level 1.5 is outside (0, 1]", command="above-1"),
    row("index-clip-level-outside", "0 -0.2 outfiles/a\n", "clip level -0.2 is outside (0, 1]", command="negative"),
    row("index-clip-level-outside", "0 nan outfiles/a\n", "clip level nan is outside (0, 1]", command="nan"),
])
def test_a_malformed_index_line_is_an_error_naming_it(drawn, tmp_path, capsys, def001, bad_line, message):
    lines = index_lines(tmp_path)
    lines[2] = bad_line
    (tmp_path / INDEX).write_bytes("".join(lines).encode("utf-8", "surrogateescape"))
    assert train(capsys, def001) == f"{DEF001}: error: {INDEX}:3: {message}"
    problems = verify_problems(capsys)
    assert f"{INDEX}:3: {message}" in problems and any("(the index changed after it was made)" in p for p in problems)
    assert not (tmp_path / "models").exists()


@pytest.mark.bad_input("index-start-beyond-file")
def test_a_segment_past_the_end_of_its_file_is_skipped_or_with_strict_an_error(drawn, tmp_path, capsys, def001):
    lines = index_lines(tmp_path)
    _, level, path = lines[1].split()
    count = drawn.counts[path.split("/", 1)[1]]
    lines[1] = f"{count - L + 1} {level} {path}\n"
    rewrite_index(tmp_path, lines)
    assert segments_of(tmp_path).skip_reasons == {1: "file too short"}
    assert train(capsys, def001, "--strict") == (
        f"{DEF001}: error: {INDEX}:2: segment skipped (file too short; --strict is set)")
    assert f"{INDEX}:2: segment [{count - L + 1}, {count + 1}) runs past the {count} samples {METADATA_NAME} lists for " \
           f"{path.split('/', 1)[1]}" in verify_problems(capsys)


@pytest.mark.bad_input("index-other-segment-length")
def test_a_segment_length_other_than_the_index_files_is_refused(drawn, capsys, def001):
    drawn_with = f"{INDEX}: index file was drawn with segments of {L} samples, not the 32 asked for"
    assert train(capsys, def001, length="32") == f"{DEF001}: error: {drawn_with}"
    assert main(["bank", "ingest", "--metadata", METADATA_NAME, "--ascii-dir", "bank", "--out", "bank.h5", "--quiet"]) == 0
    capsys.readouterr()
    assert seisclip(capsys, "export", INDEX, "--bank", "bank.h5", "--out", "set.h5", "--segment-length", "32",
                    "--quiet") == f"seisclip export: error: {drawn_with}"


@pytest.mark.bad_input("index-edited-after-manifest")
def test_an_index_edited_after_its_manifest_is_caught_by_its_hash(drawn, tmp_path, capsys, def001):
    lines = index_lines(tmp_path)
    start, level, path = lines[4].split()
    lines[4] = f"{int(start) // 2} {level} {path}\n"   # still a valid line
    rewrite_index(tmp_path, lines, update_manifest=False)
    changed = (f"{INDEX}: index file changed after its manifest {MANIFEST} was written (sha256 differs); "
               "draw a new set instead of editing one")
    assert train(capsys, def001) == f"{DEF001}: error: {changed}"
    assert main(["bank", "ingest", "--metadata", METADATA_NAME, "--ascii-dir", "bank", "--out", "bank.h5", "--quiet"]) == 0
    capsys.readouterr()
    assert seisclip(capsys, "export", INDEX, "--bank", "bank.h5", "--out", "set.h5", "--quiet") == (
        f"seisclip export: error: {changed}")
    problems = verify_problems(capsys)
    assert len(problems) == 1 and problems[0].endswith("(the index changed after it was made)")


@pytest.mark.parametrize("change, message", [
    row("index-missing", lambda root: (root / INDEX).unlink(), f"{INDEX}: index file not found"),
    row("index-empty", lambda root: (root / INDEX).write_bytes(b""), f"{INDEX}: index file has no segments"),
])
def test_a_missing_or_empty_index_file(drawn, tmp_path, capsys, def001, change, message):
    change(tmp_path)
    assert train(capsys, def001) == f"{DEF001}: error: {message}"


@pytest.mark.parametrize("change, message", [
    row("index-manifest-damaged", lambda m: m.write_text("{"), "manifest is not valid JSON (Expecting property name "
                                                                 "enclosed in double quotes)", command="not-json"),
    row("index-manifest-damaged", lambda m: m.write_text(json.dumps({**json.loads(m.read_text()), "segment_length": "64"})),
        "manifest's 'segment_length' is \"64\", not an integer", command="wrong-type"),
    row("index-manifest-damaged", lambda m: m.write_bytes(b"\xff"), "manifest is not UTF-8 text", command="not-utf8"),
])
def test_a_damaged_selection_manifest_is_one_clear_error(drawn, tmp_path, capsys, change, message):
    change(tmp_path / MANIFEST)
    line = seisclip(capsys, "verify", INDEX)
    assert re.fullmatch(rf"seisclip verify: error: {re.escape(MANIFEST)}(:\d+)?: {re.escape(message)}", line), line


# --- models -----------------------------------------------------------------------------------

def clipped_record(path: Path, samples: int = 200) -> Path:
    values = np.round(3000 * np.sin(np.arange(samples) / 5.0))
    path.write_text("".join(f"{int(v)}\n" for v in np.clip(values, -2000, 2000)))
    return path


def broken_model(tiny_model: Path, tmp_path: Path, change) -> Path:
    broken = tmp_path / "broken_model"
    shutil.copytree(tiny_model, broken)
    change(broken)
    return broken


def with_recorded_sha256(change):
    """``change``, then the manifest records the changed files' sha256: as if training wrote them."""
    def changed(folder: Path) -> None:
        change(folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest.update(model_sha256=sha256_file(folder / "model.keras"),
                        definition_sha256=sha256_file(folder / "definition.py"))
        (folder / "manifest.json").write_text(json.dumps(manifest))
    return changed


def edit_manifest(**parameters):
    def change(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        for key, value in parameters.items():
            in_parameters = key in manifest["parameters"] or key in ("sbrl", "inputs", "custom_functions")
            target = manifest["parameters"] if in_parameters else manifest
            if value is None:
                del target[key]
            else:
                target[key] = value
        (folder / "manifest.json").write_text(json.dumps(manifest))
    return change


@pytest.mark.parametrize("change, message", [
    row("model-missing-directory", lambda folder: shutil.rmtree(folder), "{model}: model directory not found"),
    row("model-missing-keras", lambda folder: (folder / "model.keras").unlink(),
        "{model}: model directory has no model.keras"),
    row("model-missing-manifest", lambda folder: (folder / "manifest.json").unlink(),
        "{model}/manifest.json: manifest not found"),
    row("model-damaged-manifest", edit_manifest(sbrl=None), "{model}/manifest.json: manifest lacks 'parameters.sbrl'",
        command="no-sbrl"),
    row("model-damaged-manifest", edit_manifest(sbrl="yes"),
        "{model}/manifest.json: manifest's 'parameters.sbrl' is \"yes\", not true or false", command="sbrl-text"),
    row("model-damaged-manifest", edit_manifest(segment_length=0),
        "{model}/manifest.json: manifest's segment length 0 is not a window length", command="length-0"),
    row("model-damaged-manifest", edit_manifest(normalisation="max"),
        "{model}/manifest.json: manifest's normalisation 'max' is not one of ('peak', 'clip') nor a function of its "
        "definition", command="normalisation"),
    row("model-damaged-manifest", edit_manifest(inputs=["clipped", "envelope"]),
        "{model}/manifest.json: manifest's input channel 'envelope' is neither built in nor a function of its "
        "definition", command="inputs"),
    row("model-damaged-manifest", edit_manifest(kind="seisclip selection"),
        "{model}/manifest.json: manifest is a 'seisclip selection' manifest, not a 'seisclip model' one", command="kind"),
    row("model-other-length", edit_manifest(segment_length=64),
        "{model}/model.keras: model maps (None, 32, 2) to (None, 32), but its manifest needs (None, 64, 2) to "
        "(None, 64)"),
    row("model-other-length", edit_manifest(inputs=["clipped", "status", "clip_level"]),
        "{model}/model.keras: model maps (None, 32, 2) to (None, 32), but its manifest needs (None, 32, 3) to "
        "(None, 32)", command="channels"),
    row("model-changed-file", lambda folder: (folder / "model.keras").write_bytes(b"not a zip"),
        "{model}/model.keras: sha256 differs from the manifest's model_sha256: the file changed after training"),
    row("model-changed-file", lambda folder: (folder / "definition.py").write_text("import no_such_module\n"),
        "{model}/definition.py: sha256 differs from the manifest's definition_sha256: the file changed after training",
        command="definition"),
    row("model-damaged-keras", with_recorded_sha256(lambda folder: (folder / "model.keras").write_bytes(b"not a zip")),
        "{model}/model.keras: cannot load the model: ValueError: "),
    row("model-untrusted-code", edit_manifest(normalisation="by_median", custom_functions=["by_median"]),
        "{model}: the model's inputs need by_median from its definition.py, which matches no definition script "
        "here: add --trust-definition if you trust its code"),
])
def test_a_model_directory_that_cannot_serve_is_refused(tiny_model, tmp_path, monkeypatch, capsys, change, message):
    monkeypatch.chdir(tmp_path)
    model = broken_model(tiny_model, tmp_path, change)
    clipped_record(tmp_path / "r.txt")
    expected = message.format(model=model)
    for command in (["restore", "r.txt", "--model", str(model)], ["evaluate", "--model", str(model), "--records", "r.txt"]):
        line = seisclip(capsys, *command)
        assert line.startswith(f"seisclip {command[0]}: error: {expected}"), line
    assert not list(tmp_path.glob("r.txt.restored*")) and not (tmp_path / "evaluations").exists()


@pytest.mark.bad_input("model-damaged-definition")
def test_a_trusted_definition_that_cannot_be_imported_is_one_line(tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    model = broken_model(tiny_model, tmp_path, with_recorded_sha256(
        lambda folder: (folder / "definition.py").write_text("import no_such_module\n")))
    clipped_record(tmp_path / "r.txt")
    assert seisclip(capsys, "restore", "r.txt", "--model", str(model), "--trust-definition") == (
        f"seisclip restore: error: {model}/definition.py: cannot import the model's definition: "
        "ModuleNotFoundError: No module named 'no_such_module'")
    # untrusted, the definition never runs: this model of Keras layers needs none of its code
    assert run_in_process(capsys, main, ["restore", "r.txt", "--model", str(model)])[0] == 0


@pytest.mark.parametrize("change, message", [
    row("model-damaged-manifest", edit_manifest(segment_counts=None), "manifest lacks 'segment_counts'",
        command="summary-trace"),
    row("model-damaged-manifest", lambda folder: (folder / "manifest.json").write_text("[]"),
        "manifest is not a JSON object", command="summary-trace-not-object"),
])
def test_summary_and_trace_refuse_a_damaged_model_manifest(tiny_model, tmp_path, capsys, change, message):
    model = broken_model(tiny_model, tmp_path, change)
    for command in ("summary", "trace"):
        assert seisclip(capsys, command, str(model)) == f"seisclip {command}: error: {model}/manifest.json: {message}"


@pytest.mark.bad_input("model-sbrl-input")
def test_the_model_manifest_decides_the_status_input(tmp_path, capsys):
    """restore and evaluate take sbrl (and L and the scaling) from the model's manifest, never
    from the user: an sbrl model gets run-length-scaled status, a plain one -1/0/+1."""
    from seisclip.restore.records import read_clipped_record
    from seisclip.learn.manifest import ModelManifest
    from seisclip.learn.model_dir import ModelDirectory
    from seisclip.restore.inference import ModelRestorer

    class RecordingModel:
        input_shape = (None, 32, 2)

        def __init__(self):
            self.inputs = []

        def predict_on_batch(self, inputs):
            self.inputs.append(inputs)
            return inputs[..., 0]

    record = read_clipped_record(clipped_record(tmp_path / "r.txt"))
    statuses = {}
    for sbrl in (False, True):
        model = RecordingModel()
        manifest = ModelManifest.from_json(model_manifest(32, sbrl=sbrl), tmp_path)
        ModelRestorer(model, ModelDirectory(tmp_path, manifest)).restore(record, stride=8)
        statuses[sbrl] = np.concatenate(model.inputs)[..., 1]
    runs = {int(v) for v in np.unique(statuses[True])}
    assert {int(v) for v in np.unique(statuses[False])} == {-1, 0, 1}
    assert max(runs) > 1 and min(runs) < -1 and np.array_equal(np.sign(statuses[True]), statuses[False])
    assert seisclip(capsys, "restore", "r.txt", "--sbrl") == (
        "seisclip: error: unrecognized arguments: --sbrl (see --help)")


@pytest.mark.bad_input("model-record-shorter-than-window")
def test_a_record_shorter_than_the_models_window(tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    clipped_record(tmp_path / "short.txt", samples=20)
    assert seisclip(capsys, "restore", "short.txt", "--model", str(tiny_model)) == (
        "seisclip restore: error: short.txt: record has 20 samples, fewer than the model's window of 32")


# --- existing outputs -------------------------------------------------------------------------

def precious(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"precious\n")
    return path.read_bytes()


REFUSED = "already exists; refusing to overwrite it (use --overwrite to replace it)"


@pytest.mark.parametrize("existing, what", [
    row("output-index-file", "set.txt", "index file"),
    row("output-manifest", "set.json", "manifest"),
])
def test_selection_never_overwrites_an_index_file_or_manifest(bank, tmp_path, capsys, existing, what):
    kept = precious(tmp_path / existing)
    assert seisclip(capsys, *SELECT) == f"seisclip select: error: {existing}: {what} {REFUSED}"
    assert (tmp_path / existing).read_bytes() == kept
    assert not (tmp_path / ("set.json" if existing == "set.txt" else "set.txt")).exists()
    assert main([*SELECT, "--overwrite"]) == 0
    assert (tmp_path / existing).read_bytes() != kept


@pytest.mark.parametrize("existing", [row("output-index-file", f"{SET}.txt", command="wrapper"),
                                      row("output-manifest", f"{SET}.json", command="wrapper")])
def test_the_selection_wrapper_never_overwrites(bank, run, tmp_path, existing):
    kept = precious(tmp_path / "indices_files" / existing)
    code, _, err = run("run_select_training_samples.sh", str(L), "200", "set")
    assert code == 1 and err.startswith(f"run_select_training_samples.sh: error: indices_files/{existing} already exists")
    assert (tmp_path / "indices_files" / existing).read_bytes() == kept


@pytest.mark.bad_input("output-model-directory")
def test_training_never_overwrites_a_model_directory(drawn, tmp_path, capsys, def001):
    kept = precious(tmp_path / "models" / f"{SET}_def001" / "manifest.json")
    assert train(capsys, def001) == f"{DEF001}: error: models/{SET}_def001: model directory {REFUSED}"
    assert (tmp_path / "models" / f"{SET}_def001" / "manifest.json").read_bytes() == kept


@pytest.mark.parametrize("existing", [row("output-restored-record", "r.out"),
                                      row("output-restored-record", "r.out.amplitudes.csv", command="amplitudes"),
                                      row("output-restored-record", "r.png", command="plot")])
def test_restore_never_overwrites_its_outputs(tmp_path, monkeypatch, capsys, existing):
    monkeypatch.chdir(tmp_path)
    clipped_record(tmp_path / "r.txt")
    kept = precious(tmp_path / existing)
    what = {"r.out": "restored record", "r.out.amplitudes.csv": "amplitude table", "r.png": "plot"}[existing]
    assert seisclip(capsys, "restore", "r.txt", "--method", "spline", "--out", "r.out") == (
        f"seisclip restore: error: {existing}: {what} {REFUSED}")
    assert (tmp_path / existing).read_bytes() == kept
    assert main(["restore", "r.txt", "--method", "spline", "--out", "r.out", "--overwrite"]) == 0
    assert (tmp_path / existing).read_bytes() != kept


@pytest.mark.bad_input("output-hdf5-bank")
def test_ingest_never_overwrites_a_bank(bank, tmp_path, capsys):
    kept = precious(tmp_path / "bank.h5")
    assert ingest(capsys) == f"seisclip bank: error: bank.h5: bank {REFUSED}"
    assert (tmp_path / "bank.h5").read_bytes() == kept
    assert main(["bank", "ingest", "--metadata", METADATA_NAME, "--ascii-dir", "bank", "--out", "bank.h5", "--quiet",
                 "--overwrite"]) == 0
    assert (tmp_path / "bank.h5").read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"


@pytest.mark.parametrize("argv, existing, what", [
    row("output-other", ["export", INDEX, "--bank", "bank.h5", "--out", "set.h5", "--quiet"], "set.h5", "exported set",
        command="export"),
    row("output-other", ["evaluate", "--records", "r.txt", "--out-dir", "ev"], "ev", "evaluation folder",
        command="evaluate"),
    row("output-other", ["clip", "r.txt", "--level", "0.5", "--out", "c.txt"], "c.txt", "clipped record", command="clip"),
])
def test_export_evaluate_and_clip_never_overwrite(drawn, tmp_path, capsys, argv, existing, what):
    clipped_record(tmp_path / "r.txt")
    kept = precious(tmp_path / existing / "x" if existing == "ev" else tmp_path / existing)
    assert seisclip(capsys, *argv) == f"seisclip {argv[0]}: error: {existing}: {what} {REFUSED}"
    assert (tmp_path / existing / "x" if existing == "ev" else tmp_path / existing).read_bytes() == kept


@pytest.mark.bad_input("output-reader-stops")
def test_a_reader_that_stops_reading_ends_the_run_quietly(tmp_path):
    """``seisclip trace MODEL | head``: no traceback when head has read enough."""
    model = tmp_path / "model"
    model.mkdir()
    manifest = model_manifest(32)
    manifest["files"] = [{"path": "outfiles/a", "sha256": None, "samples": 100}]
    manifest["segments"]["rows"] = [[line, 0, 0.5, 0, "train"] for line in range(1, 100_001)]   # ~4 MB of output
    (model / "manifest.json").write_text(json.dumps(manifest))
    trace = subprocess.Popen([sys.executable, "-m", "seisclip.cli", "trace", "--no-check", str(model)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert trace.stdout.readline().startswith(b"# index_line")
    trace.stdout.close()
    assert trace.wait(timeout=120) == 1
    assert trace.stderr.read() == b""


# --- the table and its tests ------------------------------------------------------------------

def test_every_row_of_the_table_has_marked_tests_and_names_tests_that_exist():
    rows = table_rows()
    assert len(rows) == len(set(rows)) >= 50
    sources = {source.name: source for source in (REPO_ROOT / "tests").rglob("test_*.py")}   # in every stage's folder
    marked = set()
    for source in sources.values():
        marked |= set(re.findall(r"""(?:row|bad_input)\(\s*["']([a-z0-9-]+)["']""", source.read_text()))
    assert set(rows) == marked
    page = TABLE_PAGE.read_text()
    for row_id in rows:
        line = next(line for line in page.splitlines() if line.startswith(f"| `{row_id}` |"))
        named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", line.rsplit(" | ", 1)[1])
        assert named, row_id
        for file, function in named:
            assert file in sources, (row_id, file)
            assert re.search(rf"^def {function}\(", sources[file].read_text(), re.MULTILINE), (row_id, file, function)
