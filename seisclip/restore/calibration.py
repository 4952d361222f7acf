"""``seisclip calibrate-band``: the hybrid's band calibrated for one network (:mod:`.band`).

The calibration records are the demo bank's generated seismograms with a seed of their own
(CALIBRATION_SEED), made in memory, each clipped at one fraction of its peak per clip-level bin
and restored by the hybrid without a band. What comes out, the quantiles of the signed residuals
and of the self-checks', is written beside the network as band_calibration.json, which the
hybrid then reads whenever it restores with that network.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from ..bank.synthetic import demo_seismograms
from ..provenance import run_record
from ..sets.labels import CLIP_FRACTIONS_ONE_PER_BIN, clip_signal
from .band import CALIBRATION_FILES, CALIBRATION_SEED, SELF_CHECK_QUANTILE, BandCalibration, SelfCheck, quantiles, \
    signed_residuals
from .hybrid import HybridMethod
from .records import ClippedRecord


def calibrate(hybrid: HybridMethod, model_sha256: str, files: int = CALIBRATION_FILES, seed: int = CALIBRATION_SEED,
              clip_fractions: tuple[float, ...] = CLIP_FRACTIONS_ONE_PER_BIN, progress: bool = True) -> BandCalibration:
    """The band's calibration of ``hybrid``'s network (which must have none yet)."""
    residuals, self_check_residuals = [], []
    for name, counts in tqdm(list(demo_seismograms(files, seed)), desc="calibrating the band", unit="record",
                             disable=not progress):
        truth = counts.astype(np.float64)
        peak = float(np.abs(truth).max())
        for fraction in clip_fractions:
            values, status = clip_signal(truth, fraction * peak)
            record = ClippedRecord(name, values, status, fraction * peak, -fraction * peak)
            check = SelfCheck.of(record)
            combined, checked = hybrid.combined([record, check.record])
            residuals.append(signed_residuals(truth, combined.estimate.restored, combined.spread, status, status != 0))
            self_check_residuals.append(check.residuals(record, checked.estimate.restored, checked.spread))
    residuals_all, checks_all = np.concatenate(residuals), np.concatenate(self_check_residuals)
    lower_z, upper_z = quantiles(residuals_all)
    return BandCalibration(
        model_sha256=model_sha256, lower_z=lower_z, upper_z=upper_z,
        self_check_abs_z=float(np.quantile(np.abs(checks_all), SELF_CHECK_QUANTILE)),
        clipped_samples=int(residuals_all.size), self_check_samples=int(checks_all.size),
        records={"generator": "seisclip demo-bank", "seed": seed, "files": files, "clip_fractions": list(clip_fractions)},
        run=run_record("numpy"))
