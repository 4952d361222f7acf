"""How one restored signal is scored against its truth.

* ``rms_clipped``: the root mean square of the error on the clipped samples, each error divided
  by the signal's true peak;
* ``relative_l2``: ``||restored - true||_2 / ||true||_2`` over the whole window (unclipped
  samples are exact, so only clipped ones contribute);
* ``delta_sdr_db``: the SDR of the restoration minus the SDR of the clipped input,
  ``SDR = 20 log10(||true|| / ||true - estimate||)`` (the audio declipping literature's measure:
  +6 dB halves the error);
* ``worse``: whether the clipped input was closer to the truth than the restoration.

``clipped input`` (nothing restored) is scored too: the bar every method must clear.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SeisclipError
from ..sets.labels import CLIP_FRACTIONS_ONE_PER_BIN, clip_signal

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


@dataclass
class SignalScore:
    """One restored signal against its truth: the squared errors on its clipped samples (each
    divided by the true peak), its relative L2 error, ΔSDR, and whether the clipped input was closer."""

    squared_errors: np.ndarray
    relative_l2: float
    delta_sdr_db: float
    worse: bool

    @classmethod
    def of(cls, true: np.ndarray, estimate: np.ndarray, status: np.ndarray, unrestored: np.ndarray) -> "SignalScore":
        estimate = np.asarray(estimate)
        error = (estimate - true) / np.abs(true).max()
        return cls(squared_errors=error[np.asarray(status) != 0] ** 2,
                   relative_l2=float(np.linalg.norm(estimate - true) / np.linalg.norm(true)),
                   delta_sdr_db=sdr_db(true, estimate) - sdr_db(true, unrestored),
                   worse=bool(np.linalg.norm(estimate - true) > np.linalg.norm(np.asarray(unrestored) - true)))

    @property
    def rms_clipped(self) -> float:
        return float(np.sqrt(self.squared_errors.mean())) if self.squared_errors.size else 0.0


def signal_rows(names: list[str], clip_fractions: list[float], scores: dict[str, list[SignalScore]]) -> list[dict]:
    """One row per signal (a record clipped at a fraction of its peak) and method: what the score
    table sums up, and what lets a user see which records a method made worse and by how much."""
    return [{"record": name, "clip_fraction": float(fraction), "method": method,
             "clipped_samples": int(method_scores[i].squared_errors.size), "rms_clipped": method_scores[i].rms_clipped,
             "relative_l2": method_scores[i].relative_l2, "delta_sdr_db": method_scores[i].delta_sdr_db,
             "worse": method_scores[i].worse}
            for i, (name, fraction) in enumerate(zip(names, clip_fractions))
            for method, method_scores in scores.items()]
