"""Seeded segment selection: bounds, format, uniformity, repeatability, manifest, errors."""

import dataclasses
import datetime
import hashlib
import json
import os
import re
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

import seisclip
from seisclip.bank.wc_list import format_wc_line
from seisclip.errors import SeisclipError
from seisclip.sets.selection import SelectionRequest, derive_seed, select_segments

L = 64
LINE = re.compile(r"(\d+) (\d\.\d{3}) (\S+)\n")


def request(bank, **changes) -> SelectionRequest:
    """A request on ``bank`` with the user's defaults, changed by ``changes``."""
    base = SelectionRequest(
        segment_length=L, number_of_segments=1000, ascii_dir="outfiles", metadata_file=str(bank.metadata),
        output_file="indices_files/set_64_1000.txt", seed=1,
    )
    return dataclasses.replace(base, **changes)


def read_segments(path, ascii_dir="outfiles"):
    """``(start, clip level text, name)`` per line; every line must have the exact index format."""
    segments = []
    for text in path.read_text().splitlines(keepends=True):
        match = LINE.fullmatch(text)
        assert match, f"bad index line {text!r}"
        assert match[3].startswith(ascii_dir + "/") and "//" not in match[3]
        segments.append((int(match[1]), match[2], match[3][len(ascii_dir) + 1:]))
    return segments


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- bounds and format -----------------------------------------------------------------------

def test_segments_stay_in_bounds_of_eligible_files(bank, tmp_path):
    select_segments(request(bank, number_of_segments=20_000))
    segments = read_segments(tmp_path / "indices_files/set_64_1000.txt")
    assert len(segments) == 20_000
    assert {name for _, _, name in segments} == bank.eligible(L)
    for start, level, name in segments:
        assert 0 <= start <= bank.counts[name] - L
        assert 0.1 <= float(level) <= 1.0
    starts_by_count = {}
    for start, _, name in segments:
        starts_by_count.setdefault(bank.counts[name], set()).add(start)
    assert starts_by_count[64] == {0}  # a file exactly L long has one start
    assert starts_by_count[65] == {0, 1}  # both ends of [0, count - L] are drawn


@pytest.mark.parametrize("ascii_dir", ["outfiles/", "outfiles//"])
def test_trailing_slash_of_ascii_dir_gives_single_slash(bank, tmp_path, ascii_dir):
    select_segments(request(bank, ascii_dir=ascii_dir))
    assert len(read_segments(tmp_path / "indices_files/set_64_1000.txt")) == 1000


def test_absolute_ascii_dir_is_written_as_given(bank, tmp_path):
    select_segments(request(bank, ascii_dir=f"{bank.folder}/"))
    segments = read_segments(tmp_path / "indices_files/set_64_1000.txt", ascii_dir=str(bank.folder))
    assert {name for _, _, name in segments} == bank.eligible(L)


# --- uniformity (fixed seeds, so each p-value is a fixed number) --------------------------------

def test_files_are_chosen_uniformly_among_eligible_files(bank, tmp_path):
    n = 100_000
    select_segments(request(bank, number_of_segments=n, seed=2024))
    chosen = Counter(name for _, _, name in read_segments(tmp_path / "indices_files/set_64_1000.txt"))
    eligible = sorted(bank.eligible(L))
    assert set(chosen) == set(eligible)
    assert chisquare([chosen[name] for name in eligible]).pvalue > 0.001


def test_clip_levels_are_uniform_in_9_bins(bank, tmp_path):
    n = 100_000
    select_segments(request(bank, number_of_segments=n, seed=2025))
    thousandths = np.array([round(float(level) * 1000) for _, level, _ in read_segments(tmp_path / "indices_files/set_64_1000.txt")])
    assert thousandths.min() >= 100 and thousandths.max() <= 1000

    def bin_of(k):
        return np.minimum((k - 100) // 100, 8)  # [0.1, 0.2), ..., [0.9, 1.0]

    # Rounding to 3 decimals gives the two end levels 0.100 and 1.000 half the weight of the others.
    levels = np.arange(100, 1001)
    weights = np.where((levels == 100) | (levels == 1000), 0.5, 1.0)
    expected = np.bincount(bin_of(levels), weights=weights) / weights.sum() * n
    observed = np.bincount(bin_of(thousandths), minlength=9)
    assert chisquare(observed, expected).pvalue > 0.001


def test_starts_are_uniform_within_a_long_file(make_bank, tmp_path):
    count, n, bins = 20_000, 100_000, 10
    bank = make_bank([count])
    select_segments(request(bank, number_of_segments=n, seed=2026))
    starts = np.array([start for start, _, _ in read_segments(tmp_path / "indices_files/set_64_1000.txt")])
    possible = count - L + 1
    assert starts.min() >= 0 and starts.max() < possible
    expected = np.bincount(np.arange(possible) * bins // possible) / possible * n
    observed = np.bincount(starts * bins // possible, minlength=bins)
    assert chisquare(observed, expected).pvalue > 0.001


# --- repeatability ---------------------------------------------------------------------------

def test_same_inputs_and_seed_give_identical_bytes(bank, tmp_path):
    select_segments(request(bank, output_file="a.txt", seed=42))
    select_segments(request(bank, output_file="b.txt", seed=42))
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()


def test_without_seed_the_output_stem_reproduces_the_set(bank, tmp_path):
    output = tmp_path / "indices_files/set00001_64_1000.txt"
    manifest = select_segments(request(bank, output_file=str(output), seed=None))
    first = output.read_bytes()
    assert manifest["seed"] == derive_seed("set00001_64_1000")
    (tmp_path / "moved").mkdir()
    output.rename(tmp_path / "moved" / output.name)
    output.with_suffix(".json").rename(tmp_path / "moved" / "set00001_64_1000.json")
    select_segments(request(bank, output_file=str(output), seed=None))
    assert output.read_bytes() == first


def test_different_set_ids_give_different_sets(bank, tmp_path):
    one = select_segments(request(bank, output_file="set00001_64_1000.txt", seed=None))
    two = select_segments(request(bank, output_file="set00002_64_1000.txt", seed=None))
    assert one["seed"] != two["seed"]
    assert (tmp_path / "set00001_64_1000.txt").read_bytes() != (tmp_path / "set00002_64_1000.txt").read_bytes()


def test_golden_index_file(tmp_path, monkeypatch):
    # If this hash changes, the selection algorithm (or numpy's PCG64 stream) changed and sets
    # made before can no longer be reproduced from their seed. Regenerate it only on purpose.
    golden = "391b1cc564a7f10022b6877e1045a5c6fff1870c7a654167e3475273fa4704e3"
    monkeypatch.chdir(tmp_path)
    counts = [8, 9, 30, 7, 1000]
    (tmp_path / "meta.txt").write_text("".join(
        format_wc_line(count, count, 6 * count, f"19830924.0500.BRV.SKM.s09E0.024.txtseg{number:08d}")
        for number, count in enumerate(counts)
    ))
    select_segments(SelectionRequest(8, 20, "outfiles", "meta.txt", "golden.txt", seed=12345))
    assert sha256(tmp_path / "golden.txt") == golden


# --- manifest --------------------------------------------------------------------------------

def test_manifest_records_how_the_set_was_made(bank, tmp_path):
    with bank.metadata.open("a") as handle:
        handle.write("three columns only\n")
    index = tmp_path / "indices_files/set_64_1000.txt"
    returned = select_segments(request(bank, seed=99, clip_level_range=(0.2, 0.9)))
    manifest = json.loads(index.with_suffix(".json").read_text())
    assert manifest == returned
    assert manifest["seed"] == 99
    assert manifest["segment_length"] == L
    assert manifest["number_of_segments"] == 1000
    assert manifest["clip_level_range"] == [0.2, 0.9]
    assert manifest["ASCII_file_dir"] == "outfiles"
    assert manifest["metadata_file"] == str(bank.metadata)
    assert manifest["metadata_sha256"] == sha256(bank.metadata)
    assert manifest["eligible_files"] == len(bank.eligible(L))
    assert manifest["too_short_files"] == len(bank.counts) - len(bank.eligible(L))
    assert manifest["skipped_metadata_lines"] == {"not 4 columns": 1}
    assert manifest["index_file"] == index.name
    assert manifest["index_sha256"] == sha256(index)
    assert manifest["versions"]["seisclip"] == seisclip.__version__
    assert "git_commit" in manifest
    created = datetime.datetime.fromisoformat(manifest["created_utc"].replace("Z", "+00:00"))
    assert manifest["created_utc"].endswith("Z")
    assert abs(datetime.datetime.now(datetime.timezone.utc) - created) < datetime.timedelta(minutes=5)
    assert all(0.2 <= float(level) <= 0.9 for _, level, _ in read_segments(index))


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "changes, message",
    [
        ({"segment_length": 0}, "number_of_consecutive_samples must be a positive integer, got 0"),
        ({"segment_length": -5}, "number_of_consecutive_samples must be a positive integer, got -5"),
        ({"number_of_segments": 0}, "number_of_training_segments must be a positive integer, got 0"),
        ({"number_of_segments": -1}, "number_of_training_segments must be a positive integer, got -1"),
        ({"segment_length": 6001}, "no file has at least 6001 samples (the longest has 6000)"),
        ({"metadata_file": "missing.txt"}, "missing.txt: metadata file not found"),
        ({"clip_level_range": (0.0, 1.0)}, "clip-level range [0.0, 1.0]"),
        ({"clip_level_range": (0.6, 0.5)}, "clip-level range [0.6, 0.5]"),
        ({"clip_level_range": (0.1, 1.2)}, "clip-level range [0.1, 1.2]"),
    ],
)
def test_bad_request_is_an_error_and_writes_nothing(bank, tmp_path, changes, message):
    with pytest.raises(SeisclipError, match=re.escape(message)):
        select_segments(request(bank, **changes))
    assert not (tmp_path / "indices_files").exists()


@pytest.mark.parametrize("existing", ["set_64_1000.txt", "set_64_1000.json"])
def test_existing_index_or_manifest_is_never_overwritten(bank, tmp_path, existing):
    (tmp_path / "indices_files").mkdir()
    kept = tmp_path / "indices_files" / existing
    kept.write_bytes(b"precious\n")
    with pytest.raises(SeisclipError, match="already exists; refusing to overwrite"):
        select_segments(request(bank))
    assert kept.read_bytes() == b"precious\n"
    assert [path.name for path in (tmp_path / "indices_files").iterdir()] == [existing]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--number_of_consecutive_samples", "0"], "must be a positive integer, got 0"),
        (["--number_of_training_segments", "-3"], "must be a positive integer, got -3"),
        (["--number_of_consecutive_samples", "abc"], "invalid int value: 'abc'"),
        (["--number_of_training_segments", "2.5"], "invalid int value: '2.5'"),
        (["--number_of_consecutive_samples", "7000"], "no file has at least 7000 samples"),
        (["--metadata_file", "missing.txt"], "missing.txt: metadata file not found"),
        (["--min_rscale", "0"], "clip-level range [0.0, 1.0]"),
    ],
)
def test_script_reports_bad_input_on_one_line_and_exits_1(bank, run, tmp_path, args, message):
    code, out, err = run("select_training_samples.py", "--output_file", "out.txt",
                         "--metadata_file", bank.metadata.name, *args)
    assert code == 1
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("select_training_samples.py: error: ")
    assert message in err
    assert not (tmp_path / "out.txt").exists()


def test_script_refuses_to_overwrite_an_existing_index(bank, run, tmp_path):
    kept = tmp_path / "out.txt"
    kept.write_bytes(b"precious\n")
    code, _, err = run("select_training_samples.py", "--output_file", "out.txt", "--number_of_training_segments", "10")
    assert code == 1
    assert err.splitlines() == ["select_training_samples.py: error: out.txt: index file already exists; "
                                "refusing to overwrite it (use --overwrite to replace it)"]
    assert kept.read_bytes() == b"precious\n"
    assert not (tmp_path / "out.json").exists()


def test_outputs_get_ordinary_permissions_not_owner_only(bank, tmp_path):
    """Temporary files are created owner-only; the final outputs must be readable like any file."""
    mask = os.umask(0o022)
    try:
        select_segments(SelectionRequest(32, 10, "outfiles", str(bank.metadata), str(tmp_path / "p.txt"), seed=1))
    finally:
        os.umask(mask)
    assert (tmp_path / "p.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "p.json").stat().st_mode & 0o777 == 0o644


def test_the_groups_flag_spellings_and_seisclips_draw_the_same_set(bank, run, tmp_path):
    group = ["--output_file", "group.txt", "--metadata_file", bank.metadata.name, "--number_of_consecutive_samples",
             "32", "--number_of_training_segments", "50", "--ASCII_file_dir", "outfiles", "--min_rscale", "0.3",
             "--max_rscale", "0.6", "--seed", "5"]
    seisclip_spelling = ["--out", "seisclip.txt", "--metadata", bank.metadata.name, "--segment-length", "32",
                         "--segments", "50", "--ascii-dir", "outfiles", "--min-clip-fraction", "0.3",
                         "--max-clip-fraction", "0.6", "--seed", "5"]
    assert run("select_training_samples.py", *group)[0] == 0
    assert run("select_training_samples.py", *seisclip_spelling)[0] == 0
    drawn = (tmp_path / "group.txt").read_bytes()
    assert drawn == (tmp_path / "seisclip.txt").read_bytes() and len(drawn.splitlines()) == 50
    assert all(0.3 <= float(line.split()[1]) <= 0.6 for line in drawn.splitlines())
