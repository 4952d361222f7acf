"""Labels and segment loading: normalisation, clipping, status, sbrl, skips, one read per file."""

from __future__ import annotations

import numpy as np
import pytest

from seisclip.bank import ascii as ascii_files
from seisclip.bank.ascii import parse_waveform
from seisclip.errors import SeisclipError
from seisclip.sets.index_file import read_index
from seisclip.sets.labels import clip_status, scale_by_run_length
from seisclip.sets.pairs import Representation, labelled_batch
from seisclip.sets.segments import load_segments


def test_normalise_clip_and_status():
    segment = np.array([[0.0, 100.0, 50.0, -100.0, 20.0, -30.0]])
    batch = labelled_batch(segment, np.array([0.4]))
    inputs, targets, status = batch.inputs, batch.targets, batch.status
    np.testing.assert_allclose(targets[0], [0.0, 1.0, 0.5, -1.0, 0.2, -0.3])
    np.testing.assert_allclose(inputs[0, :, 0], [0.0, 0.4, 0.4, -0.4, 0.2, -0.3], rtol=1e-6)
    np.testing.assert_array_equal(status[0], [0, 1, 1, -1, 0, 0])
    np.testing.assert_array_equal(inputs[0, :, 1], status[0])
    assert inputs.shape == (1, 6, 2) and inputs.dtype == np.float32


def test_peak_is_absolute_value():
    batch = labelled_batch(np.array([[10.0, -200.0, 50.0]]), np.array([1.0]))
    inputs, targets = batch.inputs, batch.targets
    np.testing.assert_allclose(targets[0], [0.05, -1.0, 0.25])
    np.testing.assert_allclose(inputs[0, :, 1], 0.0)  # clip level 1.0 clips nothing


def test_status_at_exactly_the_clip_level_is_within():
    np.testing.assert_array_equal(clip_status(np.array([0.5, -0.5, 0.5001]), 0.5), [0, 0, 1])


def test_sbrl_multiplies_each_run_by_its_length():
    status = np.array([[0, 1, 1, 1, -1, -1, 0, 1], [-1, -1, -1, -1, 0, 0, 1, 1]])
    np.testing.assert_array_equal(scale_by_run_length(status),
                                  [[0, 3, 3, 3, -2, -2, 0, 1], [-4, -4, -4, -4, 0, 0, 2, 2]])


def test_sbrl_runs_do_not_cross_segments():
    status = np.array([[0, 1, 1], [1, 1, 0]])
    np.testing.assert_array_equal(scale_by_run_length(status), [[0, 2, 2], [2, 2, 0]])


def test_sbrl_in_training_pairs():
    segment = np.array([[0.0, -90.0, -95.0, -100.0, -92.0, 10.0]])
    batch = labelled_batch(segment, np.array([0.5]), Representation(sbrl=True))
    inputs, status = batch.inputs, batch.status
    np.testing.assert_array_equal(status[0], [0, -4, -4, -4, -4, 0])
    np.testing.assert_array_equal(inputs[0, :, 1], [0, -4, -4, -4, -4, 0])


def test_all_zero_segment_is_refused_not_divided():
    with pytest.raises(ValueError, match="all zeros"):
        labelled_batch(np.zeros((1, 4)), np.array([0.5]))


def test_parse_waveform_accepts_crlf_and_no_trailing_newline():
    np.testing.assert_array_equal(parse_waveform(b"1\r\n-2\r\n3", "w"), [1.0, -2.0, 3.0])


@pytest.mark.parametrize("raw, line, message", [
    (b"1\n2\nabc\n", 3, "not a number"),
    (b"1\nnan\n", 2, "not finite"),
    (b"1\n2\ninf\n", 3, "not finite"),
    (b"1\n2 3\n4\n", 2, "found 2"),
    (b"1\n\n4\n", 2, "found 0"),
])
def test_parse_waveform_names_the_bad_line(raw, line, message):
    with pytest.raises(SeisclipError, match=message) as caught:
        parse_waveform(raw, "wave.txt")
    assert caught.value.path == "wave.txt" and caught.value.line == line


def _write_index(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines))
    return read_index(path)


def test_load_segments_slices_skips_and_keeps_index_order(tmp_path):
    (tmp_path / "a").write_text("".join(f"{v}\n" for v in range(-50, 50)))   # 100 samples, peak 50
    (tmp_path / "quiet").write_text("".join(f"{v % 7}\n" for v in range(100)))  # peak 6
    index = _write_index(tmp_path / "set.txt", [
        f"10 0.5 {tmp_path}/a",
        f"95 0.5 {tmp_path}/a",        # runs past the end
        f"0 0.5 {tmp_path}/missing",
        f"0 0.5 {tmp_path}/quiet",
        f"0 0.3 {tmp_path}/a",
    ])
    loaded = load_segments(index, 8, min_peak=40, progress=False)
    np.testing.assert_array_equal(loaded.used, [0, 4])
    np.testing.assert_array_equal(loaded.segments[0], np.arange(-40, -32))
    np.testing.assert_array_equal(loaded.segments[1], np.arange(-50, -42))
    assert loaded.skip_reasons == {1: "file too short", 2: "file missing", 3: "peak below min_peak"}
    assert loaded.files[f"{tmp_path}/a"]["samples"] == 100


def test_load_segments_strict_turns_a_skip_into_an_error(tmp_path):
    (tmp_path / "a").write_text("".join(f"{v * 100}\n" for v in range(100)))
    index = _write_index(tmp_path / "set.txt", [f"0 0.5 {tmp_path}/a", f"0 0.5 {tmp_path}/gone"])
    with pytest.raises(SeisclipError, match="file missing") as caught:
        load_segments(index, 8, strict=True, progress=False)
    assert caught.value.line == 2


def test_each_waveform_file_is_read_once(tmp_path, monkeypatch):
    for name in "abc":
        (tmp_path / name).write_text("".join(f"{v * 10}\n" for v in range(500)))
    index = _write_index(tmp_path / "set.txt", [f"{start} 0.5 {tmp_path}/{name}" for start in range(0, 400, 7) for name in "abc"])
    reads = []
    real_read = ascii_files.read_waveform
    monkeypatch.setattr(ascii_files, "read_waveform", lambda path: reads.append(path) or real_read(path))
    loaded = load_segments(index, 16, progress=False)
    assert len(loaded.used) == len(index)
    assert sorted(reads) == sorted({f"{tmp_path}/{name}" for name in "abc"})
