"""The recommended method's 90 % band: a conformal interval calibrated on generated records,
widened where the record's own self-check finds it harder than the calibration records were.

**The scale.** Where the hybrid's parts (the network, the spline, POCS) and the hybrid itself
disagree about a clipped sample, the truth is less certain: the band's width follows their
**spread**, ``max − min`` of the four estimates at each sample.

**Calibration** (:func:`calibrate`, ``seisclip calibrate-band``). Generated records apart from
every training bank and from the development set (``seisclip demo-bank`` with
CALIBRATION_SEED) are clipped at one level per clip-level bin and restored. Over every clipped
sample, the signed residual ``z = sign × (truth − restored) / spread`` (positive where the truth
lies beyond the restoration, away from the clip level) gives its 5th and 95th percentiles: the
truth lies within ``restored + sign × [z05, z95] × spread`` for 90 % of the calibration's
clipped samples.

**Widening by the record itself.** Real records differ from generated ones. Each record is
clipped again below its clip levels, as the self-check does
(:func:`~.baselines.self_check_levels`): that clips samples whose true values the record shows,
and restoring them gives residuals on the record itself. Where their 90th percentile of ``|z|``
is above the calibration records' own (``self_check_abs_z``), the band is widened by their ratio;
it is never narrowed. A record whose self-check holds fewer than SELF_CHECK_MIN_SAMPLES known
samples is not widened.

The band is exact on unclipped samples and never crosses the clip level
(:func:`~.methods.clip_bounded`). Its coverage on the development set of real records is on
docs/results/development_set.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import SeisclipError
from ..fsio import write_file_atomic
from .baselines import self_check_levels
from .methods import Band, clip_bounded
from .records import ClippedRecord

BAND_CALIBRATION_FILE = "band_calibration.json"
FORMAT_VERSION = 1
#: The calibration's generated records: the demo bank's generator with a seed of their own, apart
#: from the demo bank (19830924) and the benchmark (20261129).
CALIBRATION_SEED = 20261208
CALIBRATION_FILES = 40
#: The band's central share, and the quantiles that bound it.
CENTRAL_FRACTION = 0.9
LOWER_QUANTILE, UPPER_QUANTILE = (1 - CENTRAL_FRACTION) / 2, (1 + CENTRAL_FRACTION) / 2
#: The self-check's residuals are summed up by this quantile of |z|, the band's own share.
SELF_CHECK_QUANTILE = CENTRAL_FRACTION
#: Fewer known samples than this in a record's self-check say too little to widen its band by.
SELF_CHECK_MIN_SAMPLES = 10


@dataclass(frozen=True)
class BandCalibration:
    """What ``seisclip calibrate-band`` measured for one network (``model_sha256``)."""

    model_sha256: str
    lower_z: float                  # 5th percentile of z on the calibration's clipped samples
    upper_z: float                  # 95th percentile
    self_check_abs_z: float         # 90th percentile of |z| on the calibration records' self-checks
    clipped_samples: int
    self_check_samples: int
    records: dict[str, Any]         # how the calibration records were made
    run: dict[str, Any]             # versions, commit, command, time

    def to_json(self) -> str:
        return json.dumps({"kind": "seisclip band calibration", "format_version": FORMAT_VERSION, **asdict(self)},
                          indent=1) + "\n"

    @classmethod
    def read(cls, path: str | os.PathLike) -> "BandCalibration":
        try:
            data = json.loads(Path(path).read_text())
            if data.get("kind") != "seisclip band calibration" or data.get("format_version") != FORMAT_VERSION:
                raise ValueError("not a seisclip band calibration of format 1")
            return cls(**{key: data[key] for key in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SeisclipError(f"unreadable band calibration: {error}", path) from None

    @classmethod
    def of_model(cls, model_path: str | os.PathLike,
                 network_sha256: Callable[[], str | None]) -> "BandCalibration | None":
        """The calibration beside a model's network, None where there is none. One made for
        another network (``network_sha256()``, hashed only where there is a calibration) is refused."""
        path = Path(model_path) / BAND_CALIBRATION_FILE
        if not path.is_file():
            return None
        calibration = cls.read(path)
        if calibration.model_sha256 != network_sha256():
            raise SeisclipError("band calibration was made for another network (model sha256 differs): run "
                                "`seisclip calibrate-band` on the model again", path)
        return calibration

    def write(self, path: str | os.PathLike) -> None:
        write_file_atomic(path, self.to_json().encode())

    @property
    def band(self) -> Band:
        return Band(f"conformal: restored + sign × [{self.lower_z:.3f}, {self.upper_z:.3f}] × the spread of the hybrid's "
                    f"parts, calibrated on {self.clipped_samples} clipped samples of generated records (seed "
                    f"{self.records['seed']}), widened by the record's self-check", CENTRAL_FRACTION,
                    calibrated=True)


def spread_of(*estimates: np.ndarray) -> np.ndarray:
    """Per sample, the largest minus the smallest of the estimates."""
    stacked = np.stack(estimates)
    return stacked.max(axis=0) - stacked.min(axis=0)


def signed_residuals(truth: np.ndarray, restored: np.ndarray, spread: np.ndarray, status: np.ndarray,
                     where: np.ndarray) -> np.ndarray:
    """``sign × (truth − restored) / spread`` on the samples ``where``, sign +1 for a sample
    clipped above and −1 below. A sample where every estimate agrees has a spread of 0 and is left out."""
    keep = where & (spread > 0)
    return np.sign(status[keep]) * (truth[keep] - restored[keep]) / spread[keep]


@dataclass(frozen=True)
class SelfCheck:
    """A record clipped again below its clip levels (``record``) and the samples it clipped whose
    true values the record shows (``known``)."""

    record: ClippedRecord
    known: np.ndarray

    @classmethod
    def of(cls, record: ClippedRecord) -> "SelfCheck":
        high, low = self_check_levels(record.values[None], record.status[None], np.array([[record.clip_high]]),
                                      np.array([[record.clip_low]]))
        high, low = float(high[0, 0]), float(low[0, 0])
        status = (record.values >= high).astype(np.int8) - (record.values <= low).astype(np.int8)
        return cls(ClippedRecord(record.path, np.clip(record.values, low, high), status, high, low),
                   (status != 0) & (record.status == 0))

    def residuals(self, original: ClippedRecord, restored: np.ndarray, spread: np.ndarray) -> np.ndarray:
        return signed_residuals(original.values, restored, spread, self.record.status, self.known)


def widening(self_check_z: np.ndarray, calibration: BandCalibration) -> float:
    """How much wider than calibrated a record's band is: its self-check's quantile of |z| over
    the calibration records', at least 1."""
    if self_check_z.size < SELF_CHECK_MIN_SAMPLES:
        return 1.0
    return max(float(np.quantile(np.abs(self_check_z), SELF_CHECK_QUANTILE)) / calibration.self_check_abs_z, 1.0)


def band_of(record: ClippedRecord, restored: np.ndarray, spread: np.ndarray, widen: float,
            calibration: BandCalibration) -> tuple[np.ndarray, np.ndarray]:
    """The band's lower and upper bounds of one restored record."""
    sign = np.sign(record.status)
    near, far = restored + sign * widen * calibration.lower_z * spread, restored + sign * widen * calibration.upper_z * spread
    return clip_bounded(np.minimum(near, far), np.maximum(near, far), restored, record.status, record.clip_high,
                        record.clip_low)


def quantiles(residuals: np.ndarray) -> tuple[float, float]:
    """The calibrated 5th and 95th percentiles, each taken at the sample just outside it, so that
    the band holds at least 90 % of the calibration's samples."""
    if residuals.size * LOWER_QUANTILE < 1:
        raise SeisclipError(f"calibration holds {residuals.size} clipped samples: too few for a "
                            f"{CENTRAL_FRACTION:.0%} band")
    return (float(np.quantile(residuals, LOWER_QUANTILE, method="lower")),
            float(np.quantile(residuals, UPPER_QUANTILE, method="higher")))
