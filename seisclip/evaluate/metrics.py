"""How one restored signal is scored against its truth.

* ``rms_clipped``: the root mean square of the error on the clipped samples, each error divided
  by the signal's true peak;
* ``relative_l2``: ``||restored - true||_2 / ||true||_2`` over the whole window (unclipped
  samples are exact, so only clipped ones contribute);
* ``delta_sdr_db``: the SDR of the restoration minus the SDR of the clipped input,
  ``SDR = 20 log10(||true|| / ||true - estimate||)`` (the audio declipping literature's measure:
  +6 dB halves the error);
* ``worse``: whether the clipped input was closer to the truth than the restoration;
* ``peak_error_magnitude``: ``|log10(restored peak / true peak)|``, each peak the largest
  ``|x|`` of the whole signal: the error a magnitude read from the restored peak inherits, in
  magnitude units; ``peak_bias_magnitude`` is the same log10 ratio with its sign (below 0: the
  peak is restored too low);
* ``psa_error_log10``: the median over :data:`~.spectra.PSA_PERIODS_S` of
  ``|log10(PSA restored / PSA true)|``, the 5 %-damped pseudo-spectral acceleration
  (:mod:`.spectra`) of the signal as ground acceleration (a velocity record differentiated first,
  :func:`~seisclip.bank.records.ground_motion_of`; units cancel in the ratio);
* ``band_samples`` and ``band_hits``: for a method that gives a band (``lower`` / ``upper``), its
  clipped samples and those of them whose truth lies inside the band (``lower ≤ truth ≤ upper``);
  None for a method without one.

``clipped input`` (nothing restored) is scored too: the bar every method must clear.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bank.settings import DEFAULT_SAMPLING_RATE
from ..errors import SeisclipError
from ..sets.labels import CLIP_FRACTIONS_ONE_PER_BIN, clip_signal
from .spectra import acceleration_of, pseudo_spectral_acceleration

UNCHANGED = "clipped input"
#: Records are clipped at these fractions of their peak unless told otherwise.
DEFAULT_CLIP_FRACTIONS = CLIP_FRACTIONS_ONE_PER_BIN


def checked_clip_fractions(clip_fractions: list[float] | None) -> list[float]:
    """The clip fractions asked for (DEFAULT_CLIP_FRACTIONS if none), each once, all in (0, 1]."""
    fractions = list(dict.fromkeys(clip_fractions or DEFAULT_CLIP_FRACTIONS))
    if not all(0 < fraction <= 1 for fraction in fractions):
        raise SeisclipError(f"clip levels must be in (0, 1], got {fractions}")
    return fractions


@dataclass
class ClippedSet:
    """Unclipped signals ``truth`` ``(N, L)`` and their artificially clipped versions."""

    truth: np.ndarray
    clip_fraction: np.ndarray
    values: np.ndarray
    status: np.ndarray
    clip_counts: np.ndarray

    @classmethod
    def clip(cls, truth: np.ndarray, clip_fraction: np.ndarray) -> "ClippedSet":
        truth = np.asarray(truth, dtype=np.float64)
        clip_fraction = np.asarray(clip_fraction, dtype=np.float64)
        clip_counts = clip_fraction * np.abs(truth).max(axis=1)
        values, status = clip_signal(truth, clip_counts)
        return cls(truth, clip_fraction, values, status, clip_counts)

    @property
    def peak(self) -> np.ndarray:
        return np.abs(self.truth).max(axis=1)


#: An error this far below the signal counts as none: SDR is capped at 240 dB.
_SDR_FLOOR = 1e-12


def sdr_db(true: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio ``20 log10(||true|| / ||true - estimate||)`` in dB."""
    signal = float(np.linalg.norm(true))
    return 20.0 * np.log10(signal / max(float(np.linalg.norm(np.asarray(estimate) - true)), signal * _SDR_FLOOR))


def signal_psa(values: np.ndarray, ground_motion: str = "velocity",
               sampling_rate_hz: float = DEFAULT_SAMPLING_RATE) -> np.ndarray:
    """A signal's PSA at :data:`~.spectra.PSA_PERIODS_S`, as ground acceleration."""
    return pseudo_spectral_acceleration(acceleration_of(values, ground_motion, sampling_rate_hz), sampling_rate_hz)


def _log10_ratio(estimate: np.ndarray | float, true: np.ndarray | float) -> np.ndarray | float:
    """``log10(estimate / true)``: 0 where both are 0, infinite where only one is."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log10(np.asarray(estimate, dtype=np.float64)) - np.log10(np.asarray(true, dtype=np.float64))
    return np.where(np.asarray(estimate) == np.asarray(true), 0.0, ratio)


def _clipped_errors(true: np.ndarray, estimate: np.ndarray, status: np.ndarray) -> np.ndarray:
    """``(estimate - true) / true peak`` on the clipped samples."""
    true = np.asarray(true, dtype=np.float64)
    return ((np.asarray(estimate, dtype=np.float64) - true) / np.abs(true).max())[np.asarray(status) != 0]


def rms_on_clipped(true: np.ndarray, estimate: np.ndarray, status: np.ndarray) -> float:
    """:attr:`SignalScore.rms_clipped` alone, for a caller that needs no other score (and no PSA)."""
    errors = _clipped_errors(true, estimate, status)
    return float(np.sqrt(np.mean(errors**2))) if errors.size else 0.0


@dataclass
class SignalScore:
    """One restored signal against its truth: the squared errors on its clipped samples (each
    divided by the true peak), its relative L2 error, ΔSDR, whether the clipped input was closer,
    the peak's and the PSA's log10 errors, and where the method gives a band, how many of the
    clipped samples' truths it holds."""

    squared_errors: np.ndarray
    relative_l2: float
    delta_sdr_db: float
    worse: bool
    peak_bias_magnitude: float
    psa_error_log10: float
    band_samples: int | None = None
    band_hits: int | None = None

    @classmethod
    def of(cls, true: np.ndarray, estimate: np.ndarray, status: np.ndarray, unrestored: np.ndarray,
           lower: np.ndarray | None = None, upper: np.ndarray | None = None, ground_motion: str = "velocity",
           sampling_rate_hz: float = DEFAULT_SAMPLING_RATE, true_psa: np.ndarray | None = None) -> "SignalScore":
        """The scores of ``estimate``; ``lower`` and ``upper`` its band (both or neither),
        ``true_psa`` the truth's :func:`signal_psa` where already computed (a record is scored at
        many levels and by many methods)."""
        true, estimate = np.asarray(true, dtype=np.float64), np.asarray(estimate, dtype=np.float64)
        clipped = np.asarray(status) != 0
        peak = np.abs(true).max()
        if true_psa is None:
            true_psa = signal_psa(true, ground_motion, sampling_rate_hz)
        band_samples = band_hits = None
        if (lower is None) != (upper is None):
            raise ValueError("a band needs both its lower and its upper bounds")
        if lower is not None:
            inside = (np.asarray(lower) <= true) & (true <= np.asarray(upper))
            band_samples, band_hits = int(clipped.sum()), int(inside[clipped].sum())
        return cls(squared_errors=_clipped_errors(true, estimate, status) ** 2,
                   relative_l2=float(np.linalg.norm(estimate - true) / np.linalg.norm(true)),
                   delta_sdr_db=sdr_db(true, estimate) - sdr_db(true, unrestored),
                   worse=bool(np.linalg.norm(estimate - true) > np.linalg.norm(np.asarray(unrestored) - true)),
                   peak_bias_magnitude=float(_log10_ratio(np.abs(estimate).max(), peak)),
                   psa_error_log10=float(np.median(np.abs(_log10_ratio(
                       signal_psa(estimate, ground_motion, sampling_rate_hz), true_psa)))),
                   band_samples=band_samples, band_hits=band_hits)

    @property
    def rms_clipped(self) -> float:
        return float(np.sqrt(self.squared_errors.mean())) if self.squared_errors.size else 0.0

    @property
    def peak_error_magnitude(self) -> float:
        return abs(self.peak_bias_magnitude)


#: The columns of a signal's row (:func:`signal_rows`), in order: what an evaluation keeps of each signal.
SIGNAL_COLUMNS = ("record", "clip_fraction", "method", "clipped_samples", "rms_clipped", "relative_l2",
                  "delta_sdr_db", "worse", "peak_error_magnitude", "peak_bias_magnitude", "psa_error_log10",
                  "band_samples", "band_hits")


def signal_rows(names: list[str], clip_fractions: list[float], scores: dict[str, list[SignalScore]]) -> list[dict]:
    """One row per signal (a record clipped at a fraction of its peak) and method, with the
    :data:`SIGNAL_COLUMNS`: what the score table sums up, and what lets a user see which records a
    method made worse and by how much."""
    def row(name: str, fraction: float, method: str, score: SignalScore) -> dict:
        values = {"record": name, "clip_fraction": float(fraction), "method": method,
                  "clipped_samples": int(score.squared_errors.size)}
        return {column: values[column] if column in values else getattr(score, column) for column in SIGNAL_COLUMNS}

    return [row(name, fraction, method, method_scores[i])
            for i, (name, fraction) in enumerate(zip(names, clip_fractions))
            for method, method_scores in scores.items()]
