"""The bank's sampling rate and the settings of ``seisclip bank import`` with their defaults.

Kept apart from the modules that do the work (which load h5py and SciPy) so that the command
line can show the defaults in its help without loading them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import SeisclipError

#: The user's archive is sampled at 40 Hz; a bank holds one rate.
DEFAULT_SAMPLING_RATE = 40.0
DETRENDS = ("none", "demean", "linear")
#: Shorter traces (at the bank's rate) give no useful window, and the anti-alias filter's edges
#: would be most of them.
DEFAULT_MIN_SAMPLES = 100
#: A flat run at an extreme this long, entered and left steeply, is clipping.
DEFAULT_CLIP_RUN = 3
#: CREDIT-X1local's waveforms are recorded at 100 Hz; its datasets carry no rate attribute.
DEFAULT_HDF5_RATE = 100.0


@dataclass(frozen=True)
class ImportSettings:
    sampling_rate: float = DEFAULT_SAMPLING_RATE
    detrend: str = "none"
    min_samples: int = DEFAULT_MIN_SAMPLES
    clip_run: int = DEFAULT_CLIP_RUN
    keep_clipped: bool = False
    hdf5_rate: float = DEFAULT_HDF5_RATE
    strict: bool = False

    def check(self) -> None:
        if not (math.isfinite(self.sampling_rate) and self.sampling_rate > 0):
            raise SeisclipError(f"sampling rate must be a positive number, got {self.sampling_rate}")
        if not (math.isfinite(self.hdf5_rate) and self.hdf5_rate > 0):
            raise SeisclipError(f"--hdf5-rate must be a positive number, got {self.hdf5_rate}")
        if self.detrend not in DETRENDS:
            raise SeisclipError(f"detrend must be one of {', '.join(DETRENDS)}, got {self.detrend!r}")
        if self.min_samples < 1:
            raise SeisclipError(f"--min-samples must be at least 1, got {self.min_samples}")
        if self.clip_run < 2:
            raise SeisclipError(f"--clip-run must be at least 2 (one extreme sample is a peak), got {self.clip_run}")
