"""The wc-format metadata list: columns 1 and 4, skipped lines and their reasons, bad files."""

from collections import Counter

import pytest

from seisclip.bank.wc_list import BankEntry, format_wc_line, read_metadata
from seisclip.errors import SeisclipError

# Line by line: what each line of MIXED is, and so why it is skipped or kept.
MIXED_LINES = [
    format_wc_line(100, 100, 600, "a.txtseg0"),  # 1 kept
    "  5 5 only_three\n",                         # 2 not 4 columns
    "12 1 2 b extra\n",                           # 3 not 4 columns
    "x 1 2 c\n",                                  # 4 count not an integer
    "1.5 1 2 c2\n",                               # 5 count not an integer
    "-3 1 2 d\n",                                 # 6 negative count
    "10 1 2 ../x\n",                              # 7 name escapes the bank folder
    "10 1 2 /abs/y\n",                            # 8 name escapes the bank folder
    "\n",                                         # 9 blank line
    format_wc_line(50, 50, 300, "sub/e"),         # 10 kept
    "7 1 2 a.txtseg0\n",                          # 11 duplicate name
    "   \t \n",                                   # 12 blank line
    format_wc_line(150, 150, 900, "total"),       # 13 wc total line (sum of the kept counts)
]
MIXED_SKIPS = {
    "not 4 columns": [2, 3],
    "count not an integer": [4, 5],
    "negative count": [6],
    "name escapes the bank folder": [7, 8],
    "blank line": [9, 12],
    "duplicate name": [11],
    "wc total line": [13],
}


def write(tmp_path, lines, newline="\n", name="meta.txt"):
    path = tmp_path / name
    path.write_bytes("".join(lines).replace("\n", newline).encode())
    return path


def test_reads_count_from_column_1_and_name_from_column_4(tmp_path):
    path = write(tmp_path, [format_wc_line(300, 7, 1800, "first"), "  42   9   250   second  \n"])
    meta = read_metadata(path)
    assert meta.entries == [
        BankEntry(name="first", count=300, nbytes=1800, line=1),
        BankEntry(name="second", count=42, nbytes=250, line=2),
    ]
    assert meta.skipped_total == 0
    assert meta.path == str(path)


def test_each_skip_reason_is_counted_with_its_line_numbers(tmp_path):
    meta = read_metadata(write(tmp_path, MIXED_LINES))
    assert [(entry.name, entry.count, entry.line) for entry in meta.entries] == [("a.txtseg0", 100, 1), ("sub/e", 50, 10)]
    assert meta.skipped == Counter({reason: len(lines) for reason, lines in MIXED_SKIPS.items()})
    assert meta.skipped_lines == MIXED_SKIPS
    assert meta.total_lines == 13
    summary = meta.skipped_summary()
    assert summary.startswith(f"{meta.path}: skipped 11 of 13 lines: ")
    assert "2 not 4 columns (line 2, 3)" in summary
    assert "1 wc total line (line 13)" in summary


@pytest.mark.parametrize("name", ["../x", "/abs/x", "a/../../x", "..", ".", "back\\slash"])
def test_names_escaping_the_bank_folder_are_skipped(tmp_path, name):
    meta = read_metadata(write(tmp_path, [format_wc_line(10, 10, 60, "ok"), format_wc_line(10, 10, 60, name)]))
    assert [entry.name for entry in meta.entries] == ["ok"]
    assert meta.skipped_lines == {"name escapes the bank folder": [2]}


def test_a_file_named_total_is_kept_unless_it_is_the_final_wc_total(tmp_path):
    # Line 2 adds up like a wc total but is not the last line; line 4 is last but does not add up.
    lines = [format_wc_line(10, 10, 60, "a"), format_wc_line(10, 10, 60, "total"),
             format_wc_line(20, 20, 120, "b"), format_wc_line(999, 0, 0, "total")]
    meta = read_metadata(write(tmp_path, lines))
    assert [(entry.name, entry.count) for entry in meta.entries] == [("a", 10), ("total", 10), ("b", 20)]
    assert meta.skipped_lines == {"duplicate name": [4]}


def test_crlf_line_endings_parse_like_lf(tmp_path):
    lf = read_metadata(write(tmp_path, MIXED_LINES, name="lf.txt"))
    crlf = read_metadata(write(tmp_path, MIXED_LINES, newline="\r\n", name="crlf.txt"))
    assert crlf.entries == lf.entries
    assert crlf.skipped_lines == lf.skipped_lines
    assert all("\r" not in entry.name for entry in crlf.entries)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda folder: folder / "missing.txt", "metadata file not found"),
        (lambda folder: write(folder, []), "metadata file is empty"),
        (lambda folder: write(folder, ["\n", "  \n"]), "metadata file is empty"),
        (lambda folder: folder, "metadata file is a directory"),
        (lambda folder: write(folder, ["x y z\n", "-1 1 1 a\n"]), "metadata file has no usable line (2 skipped)"),
    ],
    ids=["missing", "empty", "only-blank", "directory", "no-usable-line"],
)
def test_unusable_metadata_file_is_an_error_naming_it(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(SeisclipError) as caught:
        read_metadata(path)
    assert str(caught.value) == f"{path}: {message}"


def test_strict_turns_the_first_bad_line_into_an_error_naming_file_and_line(tmp_path):
    path = write(tmp_path, MIXED_LINES)
    with pytest.raises(SeisclipError) as caught:
        read_metadata(path, strict=True)
    assert (caught.value.path, caught.value.line) == (str(path), 2)
    assert str(caught.value).startswith(f"{path}:2: bad metadata line (not 4 columns")


def test_strict_still_accepts_blank_lines(tmp_path):
    meta = read_metadata(write(tmp_path, ["\n", format_wc_line(10, 10, 60, "a"), "\n"]), strict=True)
    assert [entry.name for entry in meta.entries] == ["a"]
    assert meta.skipped_lines == {"blank line": [1, 3]}
