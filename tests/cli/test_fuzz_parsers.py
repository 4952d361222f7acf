"""Property-based fuzzing of the parsers of user files: whatever the bytes, a parser returns
valid values or raises SeisclipError, never another exception.

Two kinds of input per parser: arbitrary bytes, and near-valid text assembled from the tokens
real files hold and the ones that break parsers (huge, negative, non-ASCII or underscored
numbers, nan/inf, path tricks, control characters, odd whitespace and line endings).
The explicit examples are the bugs fuzzing found, kept as regressions.
``HYPOTHESIS_PROFILE=explore`` runs many more examples with fresh randomness.
"""

from __future__ import annotations

import math
import os
import posixpath
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from seisclip.bank.ascii import parse_waveform
from seisclip.bank.wc_list import read_metadata
from seisclip.errors import SeisclipError
from seisclip.restore.records import parse_labelled, read_clipped_record
from seisclip.sets.index_file import read_index

from conftest import count_fuzz_example

pytestmark = pytest.mark.bad_input("parser-any-input")

INTEGERS = ["0", "7", "64", "99957", "-3", "+5", "007", "1_000", "١٢", "１２", "9" * 30, "9" * 400,
            "-0", "2147483648", "9223372036854775808"]
DECIMALS = ["0.5", "1.0", "1", "0.001", "1.5", "-0.1", "0", ".5", "5.", "1e-3", "1e400", "1E2", "nan", "NaN",
            "inf", "-inf", "Infinity", "0x10", "0.5_0", "٠.٥", "1,5"]
NAMES = ["a.txtseg0", "19830924.0500.BRV.SKM.s09E0.024.txtseg00000000", "sub/b", "../x", "a/../../x", "/abs/y",
         "back\\slash", ".", "..", "total", "a\x00b", "a\x07b", "é", "a\x7fb", "dup", "dup", "outfiles/c"]
GARBAGE = ["", "x", "#", "\xff", "\u2028", "\x85", "\U0001f600", "--", "=", "1-1"]
SEPARATORS = [" ", "  ", "\t", " \t ", "\x0b", "\x0c", "\x1c", "\xa0"]
LINE_ENDINGS = ["\n", "\r\n", "\r", "\n\n", ""]


def token(*pools: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from([item for pool in pools for item in pool])


def near_valid_text(columns: st.SearchStrategy[list[str]], header: bool = False) -> st.SearchStrategy[bytes]:
    """Lines of tokens joined by some separator and ended by some line ending, as bytes
    (UTF-8, or with a byte that is not UTF-8 slipped in)."""
    line = st.tuples(columns, token(SEPARATORS), token(LINE_ENDINGS)).map(
        lambda parts: parts[1].join(parts[0]) + parts[2])
    lines = st.lists(line, max_size=8).map("".join)
    if header:
        lines = st.tuples(st.sampled_from(["index value status\n", "h\r\n", "", "\n"]), lines).map("".join)
    encoded = lines.map(lambda text: text.encode("utf-8"))
    with_bad_byte = st.tuples(encoded, st.integers(0, 64), st.sampled_from([b"\xff", b"\xc3", b"\x00"])).map(
        lambda parts: parts[0][:parts[1]] + parts[2] + parts[0][parts[1]:])
    return st.one_of(encoded, encoded, with_bad_byte)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """The folder examples are written to: hypothesis runs a test body many times, which a
    function-scoped tmp_path cannot serve."""
    return tmp_path_factory.mktemp("fuzz")


def write(folder: Path, raw: bytes) -> str:
    path = folder / "input.txt"
    path.write_bytes(raw)
    return str(path)


def has_control_character(text: str) -> bool:
    return any(unicodedata.category(character) == "Cc" for character in text)


def attempt(parse):
    """The parser's result, or None if it raised SeisclipError (any other exception fails the test)."""
    count_fuzz_example()
    try:
        return parse()
    except SeisclipError as error:
        assert "\n" not in str(error), "an error must be one line"
        return None


# --- metadata ---------------------------------------------------------------------------------

METADATA_LINE = st.one_of(
    st.tuples(token(INTEGERS, GARBAGE), token(INTEGERS), token(INTEGERS, GARBAGE), token(NAMES, GARBAGE)).map(list),
    st.lists(token(INTEGERS, NAMES, GARBAGE), max_size=6),
)
METADATA_INPUTS = st.one_of(st.binary(max_size=300), near_valid_text(METADATA_LINE))


@given(raw=METADATA_INPUTS, strict=st.booleans())
@example(raw=b"10 1 2 a\x00b\n", strict=False)                      # a name no file can have
@example(raw=b"1" + b"0" * 30 + b" 1 2 a\n", strict=False)            # a count beyond int64
@example(raw="١٢ 1 2 a\n".encode(), strict=False)                    # non-ASCII digits int() reads
def test_metadata_parser_gives_valid_entries_or_seisclip_error(scratch, raw, strict):
    meta = attempt(lambda: read_metadata(write(scratch, raw), strict=strict))
    if meta is None:
        return
    assert meta.entries
    assert len(meta.entries) + meta.skipped_total == meta.total_lines == len(raw.splitlines())
    names = [entry.name for entry in meta.entries]
    assert len(set(names)) == len(names)
    lines = [entry.line for entry in meta.entries]
    assert lines == sorted(set(lines)) and 1 <= lines[0] and lines[-1] <= meta.total_lines
    for entry in meta.entries:
        assert type(entry.count) is int and entry.count >= 0
        assert entry.nbytes is None or (type(entry.nbytes) is int and entry.nbytes >= 0)
        assert entry.name and entry.name == entry.name.strip() and not has_control_character(entry.name)
        assert not os.path.isabs(entry.name) and "\\" not in entry.name
        normalised = posixpath.normpath(entry.name)
        assert normalised not in (".", "..") and not normalised.startswith("../")
    if strict:
        assert set(meta.skipped) <= {"blank line"}


# --- index files ------------------------------------------------------------------------------

INDEX_LINE = st.one_of(
    st.tuples(token(INTEGERS, GARBAGE), token(DECIMALS, GARBAGE), token(NAMES, GARBAGE)).map(list),
    st.lists(token(INTEGERS, DECIMALS, NAMES, GARBAGE), max_size=5),
)
INDEX_INPUTS = st.one_of(st.binary(max_size=300), near_valid_text(INDEX_LINE))


def check_index(index, raw: bytes) -> None:
    n = len(index)
    assert index.istart.shape == index.clip_fraction.shape == index.line_numbers.shape == (n,)
    assert index.istart.dtype == np.int64 and np.all(index.istart >= 0)
    assert np.all(np.isfinite(index.clip_fraction)) and np.all((index.clip_fraction > 0) & (index.clip_fraction <= 1))
    assert np.all(np.diff(index.line_numbers) > 0) and np.all(index.line_numbers >= 1)
    assert all(path and path == path.strip() and not has_control_character(path) for path in index.paths)
    assert np.all(index.line_numbers <= len(raw.splitlines()))


@given(raw=INDEX_INPUTS)
@example(raw=b"1" + b"0" * 30 + b" 0.5 a\n")                          # a start beyond int64
@example(raw="١٢ 0.5 a\n".encode())                                  # non-ASCII digits int() reads
@example(raw=b"0 0.5 a\x01\n")                                        # a control character in the path
def test_index_parser_gives_valid_segments_or_seisclip_error(scratch, raw):
    index = attempt(lambda: read_index(write(scratch, raw)))
    if index is not None:
        assert len(index) >= 1
        check_index(index, raw)


@given(raw=INDEX_INPUTS)
def test_index_parser_collecting_problems_accounts_for_every_line(scratch, raw):
    problems: list[tuple[int, str]] = []
    index = attempt(lambda: read_index(write(scratch, raw), problems=problems))
    assert index is not None, "with a problem list only an unreadable file is an error"
    check_index(index, raw)
    assert len(index) + len(problems) == len(raw.splitlines())
    assert all("\n" not in message for _, message in problems)


# --- waveform files and clipped records -------------------------------------------------------

WAVEFORM_LINE = st.lists(token(INTEGERS, DECIMALS, GARBAGE), min_size=1, max_size=2)
WAVEFORM_INPUTS = st.one_of(st.binary(max_size=200), near_valid_text(WAVEFORM_LINE))


@given(raw=WAVEFORM_INPUTS)
@example(raw=b"9" * 400 + b"\n")                                      # an integer beyond float64
@example(raw=b"1\r2\n")                                               # a lone carriage return
def test_waveform_parser_gives_finite_samples_or_seisclip_error(raw):
    values = attempt(lambda: parse_waveform(raw, "wave.txt"))
    if values is not None:
        assert values.dtype == np.float64 and values.ndim == 1 and np.all(np.isfinite(values))
        assert values.size == raw.count(b"\n") + (not raw.endswith(b"\n") and len(raw) > 0)


LABELLED_LINE = st.one_of(
    st.tuples(token(INTEGERS, GARBAGE), token(DECIMALS, INTEGERS),
              st.sampled_from(["-1", "0", "1", "+1", "2", "-0", "x"])).map(list),
    st.lists(token(INTEGERS, DECIMALS, GARBAGE), max_size=4),
)
LABELLED_INPUTS = st.one_of(st.binary(max_size=200), near_valid_text(LABELLED_LINE, header=True))


def check_record(values, status) -> None:
    assert values.dtype == np.float64 and values.ndim == 1 and values.size >= 1
    assert np.all(np.isfinite(values))
    assert status.shape == values.shape and set(np.unique(status).tolist()) <= {-1, 0, 1}


@given(raw=LABELLED_INPUTS)
def test_labelled_parser_gives_finite_values_and_valid_status_or_seisclip_error(raw):
    parsed = attempt(lambda: parse_labelled(raw, "record.txt"))
    if parsed is not None:
        check_record(*parsed)


@given(raw=st.one_of(LABELLED_INPUTS, WAVEFORM_INPUTS), labelled=st.sampled_from([None, True, False]),
       clip_counts=st.one_of(st.none(), st.sampled_from([0.0, -1.0, 5.0, 1e9, math.nan, math.inf])),
       tolerance=st.sampled_from([0.0, 2.0, -1.0, math.nan, math.inf]))
@example(raw=b"h\n0 0 1\n1 5 0\n", labelled=None, clip_counts=None, tolerance=0.0)   # clipped above at zero
@example(raw=b"1\n", labelled=False, clip_counts=None, tolerance=math.nan)
def test_clipped_record_reader_gives_a_consistent_record_or_seisclip_error(scratch, raw, labelled, clip_counts,
                                                                           tolerance):
    record = attempt(lambda: read_clipped_record(write(scratch, raw), labelled=labelled, clip_counts=clip_counts,
                                                 tolerance=tolerance))
    if record is not None:
        check_record(record.values, record.status)
        assert math.isfinite(record.clip_high) and math.isfinite(record.clip_low)
        assert record.clip_low < record.clip_high or not record.clipped.any()
