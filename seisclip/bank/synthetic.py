"""Generated 40 Hz seismograms in the archive's formats: the demo bank, and training data a
user can add to their own bank.

The files stand in for the private archive of ASCII waveform files cut from the Borovoye (BRV,
Kazakhstan) analog-era records: one integer count per line, ``\\n`` line endings, no header,
named like ``19830924.0500.BRV.SKM.s09E0.024.txtseg00000000`` and listed in a ``wc``-style
metadata file. The same seed gives byte-identical files on any machine: every random draw
comes from ``np.random.default_rng`` and floats become integers only at the very end.

What each trace models (docs/bank.md says more):

* an earthquake of random magnitude (M 2.5–7.5) at a random epicentral distance (30–12,000 km),
  with a Brune ω² source spectrum whose corner frequency follows from the seismic moment and a
  random stress drop (0.3–30 MPa);
* P and S arrivals at the distance's travel times, each band-limited noise under an envelope
  that rises over the source duration and decays as a coda; anelastic attenuation
  ``exp(-π f t*)`` with ``t* = travel time / Q``;
* for shallow events beyond 150 km, a dispersed Rayleigh wave train: each frequency arrives at
  ``distance / group velocity(f)``, long periods first;
* background noise: secondary and primary microseisms, a high-frequency cultural/wind band and
  white instrument noise;
* the ground velocity seen through one of three instrument responses (a 1 s short-period
  seismometer, a 20 s intermediate-band one and a 120 s broadband one, each with a 16 Hz
  anti-alias filter), with its phase;
* a signal-to-noise ratio set by magnitude and distance, a peak of 100–30,000 counts (inside a
  16-bit digitiser) and integer counts. A few traces are noise only; some start mid-event, as
  the archive's segments are cut between clipped portions; long ones catch smaller events too.
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from scipy import fft
from tqdm import tqdm

from ..errors import SeisclipError
from ..fsio import atomic_directory, output_lock, write_file_atomic
from .wc_list import format_wc_line, read_metadata

DEFAULT_SEED = 19830924
DEFAULT_FILE_COUNT = 600
SAMPLING_RATE = 40.0
METADATA_NAME = "outfiles_contents_reordered.txt"

_MIN_LENGTH = 100
_MAX_LENGTH = 100_000
_QUIET_FRACTION = 0.03
_QUIET_PEAK_LIMIT = 50
#: Event traces peak log-uniformly in this range, inside a 16-bit digitiser's span.
_EVENT_PEAK_RANGE = (100.0, 30_000.0)

_MAGNITUDE_RANGE = (2.5, 7.5)
_DISTANCE_RANGE_KM = (30.0, 12_000.0)
_STRESS_DROP_RANGE_PA = (0.3e6, 30e6)
_SHEAR_VELOCITY = 3500.0          # m/s, at the source
_Q_P, _Q_S = 600.0, 250.0         # path-averaged quality factors
_S_OVER_P_TIME = 1.8              # tS / tP, near enough from regional to teleseismic distances
#: Instruments: natural period (s) and damping of the seismometer, and how often each is drawn.
INSTRUMENTS = {"short-period": (1.0, 0.7), "intermediate-band": (20.0, 0.7), "broadband": (120.0, 0.707)}
_INSTRUMENT_CHANCES = (0.45, 0.3, 0.25)
_ANTI_ALIAS_HZ = 16.0
#: Seconds generated before the trace's first sample, so that filters' start-up never shows
#: and a trace can start mid-event.
_LEAD_SECONDS = 120.0

_FIRST_DAY = datetime.date(1966, 1, 1).toordinal()
_LAST_DAY = datetime.date(1995, 12, 31).toordinal()
_INSTRUMENT_DIGITS = ("7", "8", "9")
_COMPONENTS = ("Z", "N", "E")
#: Chance that the next file is another segment of the same event record.
_SAME_EVENT_CHANCE = 0.3
_MAX_SEGMENTS_PER_EVENT = 5
#: Samples between two segments of one record: the clipped stretch the archive left out.
_CLIPPED_GAP_RANGE = (20, 2000)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def instrument_response(frequencies: np.ndarray, natural_period: float, damping: float) -> np.ndarray:
    """Complex response to ground velocity of a velocity-transducing seismometer (flat above its
    natural frequency, falling as f² below) followed by a 4-pole Butterworth anti-alias filter."""
    s = 2j * np.pi * frequencies
    natural = 2.0 * np.pi / natural_period
    seismometer = s**2 / (s**2 + 2.0 * damping * natural * s + natural**2)
    # The anti-alias poles lie on a circle of the cut-off's radius in the left half-plane.
    cutoff = 2.0 * np.pi * _ANTI_ALIAS_HZ
    poles = cutoff * np.exp(1j * np.pi * (2.0 * np.arange(1, 5) + 3.0) / 8.0)
    anti_alias = np.prod([-pole / (s - pole) for pole in poles], axis=0)
    return seismometer * anti_alias


def brune_corner_frequency(magnitude: float, stress_drop: float) -> float:
    """Brune (1970): source radius r from the moment and stress drop, fc = 2.34 β / (2π r)."""
    moment = 10.0 ** (1.5 * magnitude + 9.1)    # N·m
    radius = (7.0 * moment / (16.0 * stress_drop)) ** (1.0 / 3.0)
    return 2.34 * _SHEAR_VELOCITY / (2.0 * np.pi * radius)


def p_travel_time(distance_km: float) -> float:
    """About Pn's speed regionally, rising to the lower mantle's at teleseismic distances."""
    return distance_km / (8.0 + 5.5 * (1.0 - np.exp(-distance_km / 3000.0)))


def detection_magnitude(distance_km: float) -> float:
    """Magnitude whose body waves stand about as high as the background noise at this distance."""
    return 0.5 + 1.5 * np.log10(distance_km / 10.0)


def _spectral_noise(rng: np.random.Generator, n: int, shape: np.ndarray, envelope: np.ndarray | None = None) -> np.ndarray:
    """White Gaussian noise, optionally under ``envelope``, shaped by the complex rfft ``shape``;
    the result has unit peak (all zeros stay zeros)."""
    white = rng.standard_normal(n)
    if envelope is not None:
        white *= envelope
    shaped = fft.irfft(fft.rfft(white) * shape, n)
    peak = np.max(np.abs(shaped))
    return shaped / peak if peak > 0 else shaped


def _band(frequencies: np.ndarray, low: float, high: float, order: int = 2) -> np.ndarray:
    """Amplitude of a smooth band-pass from ``low`` to ``high`` Hz (zero at 0 Hz)."""
    with np.errstate(divide="ignore"):
        highpass = 1.0 / np.sqrt(1.0 + (low / np.maximum(frequencies, 1e-12)) ** (2 * order))
    return highpass / np.sqrt(1.0 + (frequencies / high) ** (2 * order))


def _body_wave_envelope(times: np.ndarray, onset: float, rise: float, decay: float) -> np.ndarray:
    since = times - onset
    after = since >= 0.0
    envelope = np.zeros(times.size)
    envelope[after] = (1.0 - np.exp(-since[after] / rise)) * np.exp(-since[after] / decay)
    return envelope


def _rayleigh_wave(rng: np.random.Generator, n: int, frequencies: np.ndarray, origin_delay: float,
                   distance_km: float, corner: float, sampling_rate: float) -> np.ndarray:
    """A dispersed Rayleigh train: group velocity falls from ~4 km/s at 50 s to ~3 km/s at 8 s, so
    each frequency's energy arrives ``distance / U(f)`` after the origin, which is ``origin_delay``
    seconds after the generated stretch's first sample. Frequencies arriving outside the stretch
    are left out rather than wrapped round; unit peak (all zeros if none arrives inside)."""
    period = 1.0 / np.maximum(frequencies, 1e-6)
    group_velocity = 3.0 + 1.0 * np.clip((period - 8.0) / 42.0, 0.0, 1.0)
    group_delay = origin_delay + distance_km / group_velocity
    # The phase whose derivative in angular frequency is the group delay.
    phase = np.concatenate([[0.0], np.cumsum(group_delay[1:] * np.diff(2.0 * np.pi * frequencies))])
    # Longer paths lose the short periods; the source spectrum is flat below its corner.
    high = min(0.25, 0.06 + 30.0 / distance_km)
    amplitude = _band(frequencies, 0.02, high, order=3) / (1.0 + (frequencies / corner) ** 2)
    amplitude[(group_delay < 0.0) | (group_delay > n / sampling_rate - 60.0)] = 0.0
    train = fft.irfft(amplitude * np.exp(-1j * (phase + rng.uniform(0.0, 2.0 * np.pi))), n)
    peak = np.max(np.abs(train))
    return train / peak if peak > 0 else train


def _earthquake(rng: np.random.Generator, n: int, times: np.ndarray, frequencies: np.ndarray,
                p_onset: float, sampling_rate: float) -> tuple[np.ndarray, float]:
    """Ground velocity of one earthquake with P at ``p_onset`` s (unit P peak), and its magnitude
    above the detection magnitude at its distance (log10 of its signal-to-noise ratio)."""
    distance = _log_uniform(rng, *_DISTANCE_RANGE_KM)
    magnitude = rng.uniform(*_MAGNITUDE_RANGE)
    # Archive records hold events that were seen: from about as high as the noise upwards.
    magnitude = max(magnitude, detection_magnitude(distance) + rng.uniform(0.0, 1.0))
    corner = brune_corner_frequency(magnitude, _log_uniform(rng, *_STRESS_DROP_RANGE_PA))
    source_duration = 1.0 / corner
    t_p = p_travel_time(distance)
    t_s = _S_OVER_P_TIME * t_p
    brune = 1.0 / (1.0 + (frequencies / corner) ** 2)
    velocity_source = 2.0 * np.pi * frequencies * brune

    def body(onset: float, t_star: float, decay: float) -> np.ndarray:
        envelope = _body_wave_envelope(times, onset, max(0.05, 0.3 * source_duration), decay + source_duration)
        return _spectral_noise(rng, n, velocity_source * np.exp(-np.pi * frequencies * t_star), envelope)

    coda = rng.uniform(3.0, 30.0) * (1.0 + t_p / 300.0)
    ground = body(p_onset, t_p / _Q_P, coda)
    if rng.random() < 0.8:
        ground += _log_uniform(rng, 1.0, 4.0) * body(p_onset + t_s - t_p, t_s / _Q_S, coda * rng.uniform(1.2, 2.5))
    shallow = rng.random() < 0.7
    if shallow and distance > 150.0:
        # Rayleigh waves grow against body waves with magnitude (Ms outgrows mb) and are weak
        # from small events at teleseismic distance.
        relative = _log_uniform(rng, 0.1, 1.0) * 10.0 ** (0.4 * (magnitude - 5.0))
        origin_delay = p_onset - t_p - times[0]
        ground += relative * _rayleigh_wave(rng, n, frequencies, origin_delay, distance, corner, sampling_rate)
    return ground, magnitude - detection_magnitude(distance)


def _background_noise(rng: np.random.Generator, n: int, frequencies: np.ndarray) -> np.ndarray:
    """Ground velocity noise of unit RMS: microseisms dominate, then cultural/wind and
    instrument noise, in random proportions."""
    secondary_peak = rng.uniform(0.12, 0.25)
    parts = [
        _log_uniform(rng, 3.0, 30.0) * _band(frequencies, secondary_peak / 1.6, secondary_peak * 1.6, order=3),
        _log_uniform(rng, 0.3, 3.0) * _band(frequencies, 0.05, 0.09, order=3),
        _log_uniform(rng, 0.1, 1.5) * _band(frequencies, 1.0, 8.0, order=2),
        _log_uniform(rng, 0.01, 0.1) * _band(frequencies, 0.01, 18.0, order=1),
    ]
    noise = fft.irfft(fft.rfft(rng.standard_normal(n)) * np.sum(parts, axis=0), n)
    return noise / np.sqrt(np.mean(noise**2))


def synthetic_seismogram(rng: np.random.Generator, n_samples: int, sampling_rate: float = SAMPLING_RATE) -> np.ndarray:
    """One trace of ``n_samples`` digitiser counts (int64), drawn from ``rng``."""
    if n_samples < _MIN_LENGTH:
        raise ValueError(f"n_samples must be at least {_MIN_LENGTH}, the shortest archive segment")
    lead = int(_LEAD_SECONDS * sampling_rate)
    n = fft.next_fast_len(lead + n_samples, real=True)
    times = np.arange(n) / sampling_rate - lead / sampling_rate   # the trace's first sample at 0 s
    frequencies = fft.rfftfreq(n, 1.0 / sampling_rate)
    instrument = list(INSTRUMENTS)[int(rng.choice(len(INSTRUMENTS), p=_INSTRUMENT_CHANCES))]
    response = instrument_response(frequencies, *INSTRUMENTS[instrument])

    def recorded(ground: np.ndarray) -> np.ndarray:
        return fft.irfft(fft.rfft(ground) * response, n)[lead:lead + n_samples]

    noise = recorded(_background_noise(rng, n, frequencies))
    noise /= np.sqrt(np.mean(noise**2))
    if rng.random() < _QUIET_FRACTION:
        quiet_peak = rng.uniform(20.0, _QUIET_PEAK_LIMIT - 2.0)
        return np.rint(noise * (quiet_peak / np.max(np.abs(noise)))).astype(np.int64)

    duration = n_samples / sampling_rate
    starts_mid_event = rng.random() < 0.15
    main_onset = -rng.uniform(1.0, 30.0) if starts_mid_event else rng.uniform(0.05, 0.6) * duration
    ground, log_snr = _earthquake(rng, n, times, frequencies, main_onset, sampling_rate)
    # Long records catch smaller events too: about one per hour.
    for _ in range(rng.poisson(duration / 3600.0)):
        ground += _log_uniform(rng, 0.05, 0.6) * _earthquake(rng, n, times, frequencies,
                                                            rng.uniform(0.0, duration), sampling_rate)[0]
    events = recorded(ground)
    events_peak = np.max(np.abs(events))
    signal_to_noise = 10.0 ** (log_snr + rng.normal(0.0, 0.3))
    trace = events * (signal_to_noise / events_peak) + noise if events_peak > 0 else noise
    peak = _log_uniform(rng, *_EVENT_PEAK_RANGE)
    return np.rint(trace * (peak / np.max(np.abs(trace)))).astype(np.int64)


def _event_record_name(rng: np.random.Generator) -> str:
    """``YYYYMMDD.HHMM.BRV.SKM.s0<instrument><component>0.024``: one channel of one event record."""
    day = datetime.date.fromordinal(int(rng.integers(_FIRST_DAY, _LAST_DAY + 1)))
    hour, minute = int(rng.integers(0, 24)), int(rng.integers(0, 60))
    instrument = _INSTRUMENT_DIGITS[int(rng.integers(len(_INSTRUMENT_DIGITS)))]
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


def demo_seismograms(n_files: int = DEFAULT_FILE_COUNT, seed: int = DEFAULT_SEED) -> Iterator[tuple[str, np.ndarray]]:
    """The demo bank's files, named, as their counts: what :func:`generate_demo_bank` writes."""
    bank_rng = np.random.default_rng(seed)
    lengths = _segment_lengths(bank_rng, n_files)
    names = archive_names(bank_rng, n_files, lengths)
    for index in range(n_files):
        # One generator per file, so each file depends only on the seed and its index.
        yield names[index], synthetic_seismogram(np.random.default_rng([seed, index]), int(lengths[index]))


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

    metadata_lines: dict[str, str] = {}
    directory.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(directory, "demo bank"), atomic_directory(directory) as building:
        seismograms = tqdm(demo_seismograms(n_files, seed), total=n_files, desc="demo bank", unit="file",
                           file=sys.stderr, disable=not progress)
        for name, counts in seismograms:
            data = _waveform_bytes(counts)
            (building / name).write_bytes(data)
            metadata_lines[name] = format_wc_line(counts.size, counts.size, len(data), name)
        metadata = "".join(metadata_lines[name] for name in sorted(metadata_lines)).encode("utf-8")
        if metadata_inside is None:
            _write_metadata_outside(metadata_path, metadata)
        else:
            (building / metadata_inside).parent.mkdir(parents=True, exist_ok=True)
            (building / metadata_inside).write_bytes(metadata)
    return metadata_path
