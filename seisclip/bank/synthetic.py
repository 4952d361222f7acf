"""A deterministic demo bank of synthetic 40 Hz seismograms.

It stands in for the private archive of ASCII waveform files cut from the Borovoye (BRV,
Kazakhstan) analog-era records: one integer count per line, ``\\n`` line endings, no header,
named like ``19830924.0500.BRV.SKM.s09E0.024.txtseg00000000`` and listed in a ``wc``-style
metadata file. The same seed gives byte-identical files on any machine: every random draw
comes from ``np.random.default_rng`` and floats become integers only at the very end.

Each trace holds coloured background noise (microseism plus broadband) and, unless it is one of
the few quiet noise-only traces, one or more events: a band-limited P onset (impulsive or
emergent) with an exponentially decaying coda, often an S arrival, often dispersed
long-period surface waves. Some traces start mid-event, as the archive's segments are cut
between clipped portions.
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path

import numpy as np
from scipy import signal
from tqdm import tqdm

from ..errors import SeisclipError
from ..fsio import atomic_directory, output_lock, write_file_atomic
from .wc_list import format_wc_line, read_metadata

DEFAULT_SEED = 19830924
DEFAULT_FILE_COUNT = 240
SAMPLING_RATE = 40.0
METADATA_NAME = "outfiles_contents_reordered.txt"

_MIN_LENGTH = 100
_MAX_LENGTH = 100_000
_QUIET_FRACTION = 0.03
_QUIET_PEAK_LIMIT = 50
#: Event traces peak log-uniformly in this range, inside a 16-bit digitiser's span.
_EVENT_PEAK_RANGE = (100.0, 30_000.0)

_FIRST_DAY = datetime.date(1966, 1, 1).toordinal()
_LAST_DAY = datetime.date(1995, 12, 31).toordinal()
_INSTRUMENTS = ("7", "8", "9")
_COMPONENTS = ("Z", "N", "E")
#: Chance that the next file is another segment of the same event record.
_SAME_EVENT_CHANCE = 0.3
_MAX_SEGMENTS_PER_EVENT = 5
#: Samples between two segments of one record: the clipped stretch the archive left out.
_CLIPPED_GAP_RANGE = (20, 2000)
#: Seconds of filtered noise thrown away so that the filter's start-up transient never shows.
_WARM_UP_SECONDS = 60.0


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _band_limited_noise(
    rng: np.random.Generator, n_samples: int, sampling_rate: float, low: float, high: float
) -> np.ndarray:
    """Stationary Gaussian noise in ``low``..``high`` Hz with unit RMS."""
    warm_up = int(_WARM_UP_SECONDS * sampling_rate)
    sos = signal.butter(2, [low, high], btype="bandpass", fs=sampling_rate, output="sos")
    filtered = signal.sosfilt(sos, rng.standard_normal(warm_up + n_samples))[warm_up:]
    return filtered / np.sqrt(np.mean(filtered**2))


def _background_noise(rng: np.random.Generator, n_samples: int, sampling_rate: float) -> np.ndarray:
    microseism = _band_limited_noise(rng, n_samples, sampling_rate, 0.12, 0.35) * _log_uniform(rng, 3.0, 25.0)
    broadband = _band_limited_noise(rng, n_samples, sampling_rate, 0.3, 12.0) * _log_uniform(rng, 1.5, 8.0)
    return microseism + broadband


def _body_wave(
    rng: np.random.Generator,
    times: np.ndarray,
    sampling_rate: float,
    onset: float,
    band: tuple[float, float],
    rise: float,
    decay: float,
) -> np.ndarray:
    """Band-limited noise under an envelope that rises in ``rise`` s and decays with ``decay`` s."""
    since_onset = np.clip(times - onset, 0.0, None)
    envelope = np.where(times >= onset, (1.0 - np.exp(-since_onset / rise)) * np.exp(-since_onset / decay), 0.0)
    return envelope * _band_limited_noise(rng, times.size, sampling_rate, *band)


def _surface_waves(rng: np.random.Generator, times: np.ndarray, arrival: float) -> np.ndarray:
    """A dispersed wave train: long periods arrive first, shorter ones later (normal dispersion)."""
    duration = rng.uniform(40.0, 200.0)
    first_frequency = 1.0 / rng.uniform(14.0, 20.0)
    last_frequency = 1.0 / rng.uniform(5.0, 8.0)
    since_arrival = times - arrival
    inside = (since_arrival >= 0.0) & (since_arrival <= duration)
    # Phase is the integral of a frequency sweeping linearly from the first to the last one.
    sweep_rate = (last_frequency - first_frequency) / duration
    phase = 2.0 * np.pi * (first_frequency * since_arrival + sweep_rate * since_arrival**2 / 2.0)
    envelope = np.where(inside, np.sin(np.pi * np.clip(since_arrival, 0.0, duration) / duration) ** 2, 0.0)
    return envelope * np.cos(phase + rng.uniform(0.0, 2.0 * np.pi))


def _event(rng: np.random.Generator, times: np.ndarray, sampling_rate: float, p_onset: float) -> np.ndarray:
    """P with its coda, often an S arrival and often surface waves, all relative to ``p_onset``."""
    impulsive = rng.random() < 0.5
    p_rise = rng.uniform(0.05, 0.3) if impulsive else rng.uniform(1.0, 6.0)
    p_band = (rng.uniform(0.7, 1.5), rng.uniform(3.0, 6.0))
    trace = _body_wave(rng, times, sampling_rate, p_onset, p_band, p_rise, rng.uniform(4.0, 40.0))

    s_minus_p = rng.uniform(8.0, 100.0)
    if rng.random() < 0.7:
        s_band = (rng.uniform(0.4, 1.0), rng.uniform(1.5, 3.5))
        s_rise, s_decay = rng.uniform(0.3, 2.0), rng.uniform(8.0, 60.0)
        s_wave = _body_wave(rng, times, sampling_rate, p_onset + s_minus_p, s_band, s_rise, s_decay)
        trace += rng.uniform(0.6, 2.5) * s_wave
    if rng.random() < 0.6:
        surface_arrival = p_onset + s_minus_p * rng.uniform(1.7, 2.6)
        trace += _log_uniform(rng, 0.1, 1.5) * _surface_waves(rng, times, surface_arrival)
    return trace


def synthetic_seismogram(rng: np.random.Generator, n_samples: int, sampling_rate: float = SAMPLING_RATE) -> np.ndarray:
    """One realistic trace of ``n_samples`` digitiser counts (int64), drawn from ``rng``."""
    if n_samples < _MIN_LENGTH:
        raise ValueError(f"n_samples must be at least {_MIN_LENGTH}, the shortest archive segment")
    times = np.arange(n_samples) / sampling_rate
    duration = n_samples / sampling_rate
    noise = _background_noise(rng, n_samples, sampling_rate)
    if rng.random() < _QUIET_FRACTION:
        quiet_peak = rng.uniform(20.0, _QUIET_PEAK_LIMIT - 2.0)
        return np.rint(noise * (quiet_peak / np.max(np.abs(noise)))).astype(np.int64)

    starts_mid_event = rng.random() < 0.15
    main_onset = -rng.uniform(1.0, 30.0) if starts_mid_event else rng.uniform(0.05, 0.6) * duration
    events = _event(rng, times, sampling_rate, main_onset)
    # Long records catch smaller events too: about one per hour.
    for _ in range(rng.poisson(duration / 3600.0)):
        relative_size = _log_uniform(rng, 0.05, 0.6)
        events += relative_size * _event(rng, times, sampling_rate, rng.uniform(0.0, duration))
    peak = _log_uniform(rng, *_EVENT_PEAK_RANGE)
    return np.rint(events * (peak / np.max(np.abs(events))) + noise).astype(np.int64)


def _event_record_name(rng: np.random.Generator) -> str:
    """``YYYYMMDD.HHMM.BRV.SKM.s0<instrument><component>0.024``: one channel of one event record."""
    day = datetime.date.fromordinal(int(rng.integers(_FIRST_DAY, _LAST_DAY + 1)))
    hour, minute = int(rng.integers(0, 24)), int(rng.integers(0, 60))
    instrument = _INSTRUMENTS[int(rng.integers(len(_INSTRUMENTS)))]
    component = _COMPONENTS[int(rng.integers(len(_COMPONENTS)))]
    return f"{day:%Y%m%d}.{hour:02d}{minute:02d}.BRV.SKM.s0{instrument}{component}0.024"


def archive_names(rng: np.random.Generator, n: int, lengths: list[int] | np.ndarray | None = None) -> list[str]:
    """``n`` unique archive-style names, in drawing order.

    Runs of consecutive files are segments of one event record: same date, time and channel,
    ``txtseg`` sample offsets that follow each other with a clipped gap between them. ``lengths``
    (the files' sample counts) lets segments follow on closely; without it each file is
    assumed as long as the longest bank file (100,000 samples) so that segments never overlap.
    """
    spans = [_MAX_LENGTH] * n if lengths is None else [int(length) for length in lengths]
    if len(spans) != n:
        raise ValueError(f"{len(spans)} lengths given for {n} names")
    used_records: set[str] = set()
    names: list[str] = []
    record, segments, offset = "", 0, 0
    for span in spans:
        if segments and segments < _MAX_SEGMENTS_PER_EVENT and rng.random() < _SAME_EVENT_CHANCE:
            offset += int(rng.integers(*_CLIPPED_GAP_RANGE, endpoint=True))
        else:
            record = _event_record_name(rng)
            while record in used_records:
                record = _event_record_name(rng)
            used_records.add(record)
            segments = 0
            # A record's first kept segment starts at its beginning or after a clipped stretch.
            offset = 0 if rng.random() < 0.5 else int(rng.integers(1, 20_000))
        names.append(f"{record}.txtseg{offset:08d}")
        segments += 1
        offset += span
    return names


def _segment_lengths(rng: np.random.Generator, n: int) -> np.ndarray:
    """Log-uniform lengths from 100 to 100,000 samples, one per equal-width stratum of log length
    (then shuffled), so that even a small bank spans short segments to near-maximal ones."""
    strata = (np.arange(n) + rng.random(n)) / n
    lengths = np.rint(np.exp(np.log(_MIN_LENGTH) + strata * np.log(_MAX_LENGTH / _MIN_LENGTH)))
    return rng.permutation(np.clip(lengths, _MIN_LENGTH, _MAX_LENGTH).astype(np.int64))


def _waveform_bytes(counts: np.ndarray) -> bytes:
    return ("\n".join(map(str, counts.tolist())) + "\n").encode("ascii")


def _is_complete_bank(directory: Path, metadata_path: Path) -> bool:
    """True if the metadata file exists and every file it lists has the listed byte size."""
    try:
        metadata = read_metadata(metadata_path, strict=True)
    except SeisclipError:
        return False
    for entry in metadata.entries:
        try:
            size = (directory / entry.name).stat().st_size
        except OSError:
            return False
        if size != entry.nbytes:
            return False
    return True


def _write_metadata_outside(metadata_path: Path, data: bytes) -> None:
    """Write the metadata beside the bank; an identical existing file is kept, a different one refused."""
    if metadata_path.exists():
        if metadata_path.read_bytes() != data:
            raise SeisclipError("exists with different content; remove it or choose another metadata path", metadata_path)
        print(f"demo bank metadata already present at {metadata_path}; kept", file=sys.stderr)
        return
    write_file_atomic(metadata_path, data, overwrite=False)


def generate_demo_bank(
    directory: str | os.PathLike,
    metadata_path: str | os.PathLike | None = None,
    n_files: int = DEFAULT_FILE_COUNT,
    seed: int = DEFAULT_SEED,
    progress: bool = True,
) -> Path:
    """Write ``n_files`` waveform files into ``directory`` and their ``wc``-style metadata
    (default ``directory/METADATA_NAME``). Returns the metadata path.

    The bank is built in a hidden sibling folder that takes the final name only when complete.
    An existing complete bank is kept as it is; any other existing ``directory`` is refused.
    """
    directory = Path(directory)
    metadata_path = directory / METADATA_NAME if metadata_path is None else Path(metadata_path)
    if os.path.lexists(directory):
        if _is_complete_bank(directory, metadata_path):
            print(f"demo bank already present at {directory}; kept", file=sys.stderr)
            return metadata_path
        raise SeisclipError("exists but is not a complete demo bank; remove it or choose another folder", directory)
    try:
        metadata_inside = metadata_path.resolve().relative_to(directory.resolve())
    except ValueError:
        metadata_inside = None

    bank_rng = np.random.default_rng(seed)
    lengths = _segment_lengths(bank_rng, n_files)
    names = archive_names(bank_rng, n_files, lengths)
    metadata_lines: dict[str, str] = {}
    directory.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(directory, "demo bank"), atomic_directory(directory) as building:
        for index in tqdm(range(n_files), desc="demo bank", unit="file", file=sys.stderr, disable=not progress):
            # One generator per file, so each file depends only on the seed and its index.
            counts = synthetic_seismogram(np.random.default_rng([seed, index]), int(lengths[index]))
            data = _waveform_bytes(counts)
            (building / names[index]).write_bytes(data)
            metadata_lines[names[index]] = format_wc_line(counts.size, counts.size, len(data), names[index])
        metadata = "".join(metadata_lines[name] for name in sorted(metadata_lines)).encode("utf-8")
        if metadata_inside is None:
            _write_metadata_outside(metadata_path, metadata)
        else:
            (building / metadata_inside).parent.mkdir(parents=True, exist_ok=True)
            (building / metadata_inside).write_bytes(metadata)
    return metadata_path
