"""The synthetic demo bank: deterministic, well-formed, realistic, and never half-written."""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from seisclip.bank import synthetic as demo_bank
from seisclip.bank.synthetic import (
    DEFAULT_FILE_COUNT,
    METADATA_NAME,
    archive_names,
    generate_demo_bank,
    synthetic_seismogram,
    INSTRUMENTS,
    brune_corner_frequency,
    instrument_response,
)
from seisclip.bank.wc_list import read_metadata
from seisclip.errors import SeisclipError

from conftest import REPO_ROOT

SMALL_BANK = 20
COMMITTED_METADATA = REPO_ROOT / METADATA_NAME
NAME_PATTERN = re.compile(r"(?P<date>\d{8})\.(?P<hhmm>\d{4})\.BRV\.SKM\.s0[789][ZNE]0\.024\.txtseg(?P<offset>\d{8})")
QUIET_PEAK = 50


def _bank_files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def _counts(data: bytes) -> np.ndarray:
    return np.array(data.split(), dtype=np.int64)


def _max_sta_lta(counts: np.ndarray, short: int = 40, long: int = 800) -> float:
    """Largest ratio of the mean power over ``short`` samples to that over the ``long`` before them."""
    energy = np.concatenate([[0.0], np.cumsum(counts.astype(float) ** 2)])
    starts = np.arange(long, counts.size - short + 1)
    short_power = (energy[starts + short] - energy[starts]) / short
    long_power = (energy[starts] - energy[starts - long]) / long
    return float(np.max(short_power / np.maximum(long_power, 1.0)))


@pytest.fixture(scope="module")
def default_bank(tmp_path_factory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("default") / "bank"
    return directory, generate_demo_bank(directory, progress=False)


@pytest.fixture(scope="module")
def default_traces(default_bank) -> dict[str, np.ndarray]:
    directory, metadata_path = default_bank
    return {entry.name: _counts((directory / entry.name).read_bytes()) for entry in read_metadata(metadata_path).entries}


@pytest.fixture
def small_bank(tmp_path) -> tuple[Path, Path]:
    directory = tmp_path / "bank"
    return directory, generate_demo_bank(directory, n_files=SMALL_BANK, progress=False)


def test_same_seed_gives_byte_identical_banks(tmp_path, small_bank):
    directory, _ = small_bank
    again = tmp_path / "again"
    generate_demo_bank(again, n_files=SMALL_BANK, progress=False)
    assert _bank_files(again) == _bank_files(directory)


def test_another_seed_gives_another_bank(tmp_path, small_bank):
    directory, metadata_path = small_bank
    other = generate_demo_bank(tmp_path / "other", n_files=SMALL_BANK, seed=7, progress=False)
    assert other.read_bytes() != metadata_path.read_bytes()


def test_metadata_lists_every_file_with_its_sample_count_and_size(small_bank):
    directory, metadata_path = small_bank
    assert metadata_path == directory / METADATA_NAME
    lines = metadata_path.read_text().splitlines()
    names = [line.split()[3] for line in lines]
    assert names == sorted(names)
    assert sorted(path.name for path in directory.iterdir()) == sorted(names + [METADATA_NAME])
    for line in lines:
        line_count, word_count, nbytes, name = line.split()
        data = (directory / name).read_bytes()
        assert int(line_count) == int(word_count) == data.count(b"\n")
        assert int(nbytes) == len(data)
    assert len(read_metadata(metadata_path, strict=True).entries) == SMALL_BANK


def test_files_hold_one_integer_per_line(default_bank):
    directory, metadata_path = default_bank
    for entry in read_metadata(metadata_path).entries:
        assert re.fullmatch(rb"(-?\d+\n)+", (directory / entry.name).read_bytes()), entry.name


def test_names_follow_the_archive_pattern_and_segments_do_not_overlap(default_bank):
    _, metadata_path = default_bank
    entries = read_metadata(metadata_path, strict=True).entries
    assert len({entry.name for entry in entries}) == len(entries) == DEFAULT_FILE_COUNT
    segments_by_record = defaultdict(list)
    for entry in entries:
        match = NAME_PATTERN.fullmatch(entry.name)
        assert match, entry.name
        assert 1966 <= datetime.datetime.strptime(match["date"] + match["hhmm"], "%Y%m%d%H%M").year <= 1995
        segments_by_record[entry.name.split(".txtseg")[0]].append((int(match["offset"]), entry.count))
    assert any(len(segments) > 1 for segments in segments_by_record.values())
    for segments in segments_by_record.values():
        segments.sort()
        for (offset, count), (next_offset, _) in zip(segments, segments[1:]):
            assert offset + count < next_offset


def test_archive_names_without_lengths_are_unique_and_well_formed():
    names = archive_names(np.random.default_rng(1), 500)
    assert len(set(names)) == 500
    assert all(NAME_PATTERN.fullmatch(name) for name in names)


def test_lengths_range_from_a_few_hundred_samples_to_near_100000(default_bank):
    _, metadata_path = default_bank
    counts = np.array([entry.count for entry in read_metadata(metadata_path).entries])
    assert counts.min() >= 100
    assert np.sum(counts < 256) >= 8
    assert 95_000 <= counts.max() <= 100_000
    assert counts.sum() < 12_000_000


def test_amplitudes_span_quiet_noise_to_strong_events(default_traces):
    peaks = np.array([np.max(np.abs(counts)) for counts in default_traces.values()])
    quiet = np.sum(peaks < QUIET_PEAK)
    assert 2 <= quiet <= 0.08 * peaks.size
    assert np.sum(peaks < 300) > quiet
    assert np.sum(peaks > 10_000) >= 10
    assert peaks.max() < 32_768  # fits a 16-bit digitiser


def test_most_long_traces_show_a_sudden_onset(default_traces):
    # Traces starting mid-event, emergent teleseismic P and events near the noise show none.
    long = [counts for counts in default_traces.values() if counts.size >= 4000]
    with_onset = [counts for counts in long if _max_sta_lta(counts) > 10]
    assert len(long) >= 60
    assert 0.6 * len(long) <= len(with_onset) < len(long)


def test_corner_frequency_falls_with_the_cube_root_of_the_moment():
    # Brune: fc ∝ (Δσ / M0)^(1/3) and M0 ∝ 10^(1.5 M): half a decade per magnitude unit.
    assert brune_corner_frequency(4.0, 3e6) == pytest.approx(2.29, rel=0.01)
    assert brune_corner_frequency(4.0, 3e6) / brune_corner_frequency(6.0, 3e6) == pytest.approx(10.0)
    assert brune_corner_frequency(5.0, 24e6) == pytest.approx(2 * brune_corner_frequency(5.0, 3e6))


def test_instrument_responses():
    frequencies = np.array([0.01, 0.1, 1.0, 5.0, 20.0])
    gain = {name: np.abs(instrument_response(frequencies, *constants)) for name, constants in INSTRUMENTS.items()}
    # The short-period seismometer suppresses microseisms (0.1 Hz) a hundredfold against 5 Hz.
    assert gain["short-period"][1] / gain["short-period"][3] == pytest.approx(0.01, rel=0.05)
    # The broadband one is flat from 0.1 Hz to 5 Hz and still passes most of 100 s periods.
    np.testing.assert_allclose(gain["broadband"][1:4], 1.0, atol=0.02)
    assert gain["broadband"][0] > 0.8
    assert gain["intermediate-band"][0] < 0.05 < 0.95 < gain["intermediate-band"][1]
    # Every instrument's anti-alias filter removes most of what lies near the 20 Hz Nyquist frequency.
    assert all(gains[4] < 0.4 for gains in gain.values())


def test_generator_is_deterministic_by_seed_and_differs_between_seeds():
    traces = [synthetic_seismogram(np.random.default_rng([seed, 3]), 6000) for seed in (1, 1, 2)]
    np.testing.assert_array_equal(traces[0], traces[1])
    assert not np.array_equal(traces[0], traces[2])


def test_synthetic_seismogram_is_integer_counts_drawn_from_its_generator():
    first = synthetic_seismogram(np.random.default_rng(5), 3000)
    again = synthetic_seismogram(np.random.default_rng(5), 3000)
    assert first.dtype == np.int64 and first.shape == (3000,)
    np.testing.assert_array_equal(first, again)


def test_complete_bank_is_kept(small_bank, capsys):
    directory, metadata_path = small_bank
    before = {path.name: path.stat().st_mtime_ns for path in directory.iterdir()}
    assert generate_demo_bank(directory, n_files=SMALL_BANK, progress=False) == metadata_path
    assert "already present" in capsys.readouterr().err
    assert {path.name: path.stat().st_mtime_ns for path in directory.iterdir()} == before


def test_existing_empty_folder_is_refused(tmp_path):
    (tmp_path / "bank").mkdir()
    with pytest.raises(SeisclipError, match="not a complete demo bank"):
        generate_demo_bank(tmp_path / "bank", n_files=SMALL_BANK, progress=False)


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_damaged_bank_is_refused(small_bank, damage):
    directory, metadata_path = small_bank
    victim = directory / read_metadata(metadata_path).entries[3].name
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-2])
    else:
        victim.unlink()
    with pytest.raises(SeisclipError, match="not a complete demo bank"):
        generate_demo_bank(directory, n_files=SMALL_BANK, progress=False)


def test_interrupted_generation_leaves_nothing_behind(tmp_path, monkeypatch):
    calls = []

    def failing_seismogram(rng, n_samples, sampling_rate=40.0):
        calls.append(n_samples)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return np.zeros(n_samples, dtype=np.int64)

    monkeypatch.setattr(demo_bank, "synthetic_seismogram", failing_seismogram)
    with pytest.raises(KeyboardInterrupt):
        generate_demo_bank(tmp_path / "bank", n_files=SMALL_BANK, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_metadata_outside_the_bank(tmp_path, capsys):
    metadata_path = tmp_path / "listing.txt"
    assert generate_demo_bank(tmp_path / "bank", metadata_path, n_files=SMALL_BANK, progress=False) == metadata_path
    assert METADATA_NAME not in {path.name for path in (tmp_path / "bank").iterdir()}
    assert len(read_metadata(metadata_path).entries) == SMALL_BANK

    # A second bank with the same content finds identical metadata and keeps it.
    generate_demo_bank(tmp_path / "copy", metadata_path, n_files=SMALL_BANK, progress=False)
    assert "kept" in capsys.readouterr().err
    assert _bank_files(tmp_path / "copy") == _bank_files(tmp_path / "bank")

    # Different metadata under that name is refused, and no bank is left under the new name.
    with pytest.raises(SeisclipError, match="different content"):
        generate_demo_bank(tmp_path / "third", metadata_path, n_files=SMALL_BANK, seed=7, progress=False)
    assert not (tmp_path / "third").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bank", "copy", "listing.txt"]


def test_committed_metadata_is_that_of_the_default_bank(default_bank):
    _, metadata_path = default_bank
    assert COMMITTED_METADATA.read_bytes() == metadata_path.read_bytes()
