"""Response spectra: the 5 %-damped pseudo-spectral acceleration (PSA) at ``PSA_PERIODS_S``, what
engineering seismology reads from a record besides its peak, and what ``psa_error_log10`` compares.

The PSA of a period is the peak |response| of a damped oscillator of that period to the ground
acceleration, times its angular frequency squared. pyRotd computes it in the frequency domain
(one FFT of the record, one inverse FFT per period, upsampled to five times each oscillator's
frequency), which stays accurate at 40 Hz where a time-domain recursion at the record's own rate
does not (docs/restoration.md, "Scores"; ``bench/bench_psa.py`` measures both against an exact
reference). The record is followed by zeros long enough for the slowest oscillator's free
vibration to die out, so that the FFT's circular convolution does not wrap the end of the
response onto its beginning.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft

#: 20 periods log-spaced from 0.1 to 2 s: the band a 40 Hz record resolves and clipping distorts.
PSA_PERIODS_S = np.geomspace(0.1, 2.0, 20)
PSA_DAMPING = 0.05
#: The padding lets the slowest oscillator's free vibration decay to this share of its amplitude.
_FREE_VIBRATION_LEFT = 1e-3
#: pyRotd's inverse FFT extends to at least this many times each oscillator's frequency (its
#: recommended ``max_freq_ratio``): the response's peak is picked at twice that rate.
OSCILLATOR_OVERSAMPLING = 5.0


def acceleration_of(values: np.ndarray, ground_motion: str, sampling_rate_hz: float) -> np.ndarray:
    """The ground acceleration of a record of ``ground_motion`` (``"velocity"`` or
    ``"acceleration"``, :func:`~seisclip.bank.records.ground_motion_of`): a velocity record
    differentiated (in its units per second), an accelerogram as it is."""
    values = np.asarray(values, dtype=np.float64)
    if ground_motion == "acceleration":
        return values
    if ground_motion != "velocity":
        raise ValueError(f"ground motion must be 'velocity' or 'acceleration', got {ground_motion!r}")
    return np.gradient(values, 1.0 / sampling_rate_hz) if values.size > 1 else np.zeros_like(values)


def padding_samples(sampling_rate_hz: float, periods_s: np.ndarray = PSA_PERIODS_S,
                    damping: float = PSA_DAMPING) -> int:
    """Zeros after the record: the time in which the slowest oscillator's free vibration decays
    to ``_FREE_VIBRATION_LEFT``, ``ln(1 / left) / (damping × 2π / period)``."""
    seconds = math.log(1 / _FREE_VIBRATION_LEFT) * float(np.max(periods_s)) / (damping * 2 * math.pi)
    return math.ceil(seconds * sampling_rate_hz)


def padded_spectrum(acceleration: np.ndarray, sampling_rate_hz: float, periods_s: np.ndarray = PSA_PERIODS_S,
                    damping: float = PSA_DAMPING) -> tuple[np.ndarray, np.ndarray]:
    """The frequencies and the FFT of the record followed by :func:`padding_samples` zeros or
    more: an even length, as pyRotd's inverse FFT takes, and one the FFT is fast at."""
    acceleration = np.asarray(acceleration, dtype=np.float64)
    length = fft.next_fast_len(acceleration.size + padding_samples(sampling_rate_hz, periods_s, damping), real=True)
    while length % 2:
        length = fft.next_fast_len(length + 1, real=True)
    return np.fft.rfftfreq(length, 1.0 / sampling_rate_hz), np.fft.rfft(acceleration, length)


def pseudo_spectral_acceleration(acceleration: np.ndarray, sampling_rate_hz: float,
                                 periods_s: np.ndarray = PSA_PERIODS_S, damping: float = PSA_DAMPING) -> np.ndarray:
    """The PSA at each of ``periods_s``, in the acceleration's units, by pyRotd's oscillator
    response over one FFT of the zero-padded record (:func:`padded_spectrum`)."""
    from pyrotd import calc_oscillator_resp   # imported on first use: light commands never load it

    frequencies, fourier = padded_spectrum(acceleration, sampling_rate_hz, periods_s, damping)
    return np.array([calc_oscillator_resp(frequencies, fourier, damping, 1.0 / period,
                                          max_freq_ratio=OSCILLATOR_OVERSAMPLING, peak_resp_only=True, osc_type="psa")
                     for period in np.asarray(periods_s, dtype=np.float64)])
