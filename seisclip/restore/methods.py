"""What every restoration method is: an object behind :class:`RestorationMethod` that takes a
clipped record and gives a :class:`Restoration`. The methods seisclip knows are listed in
:mod:`.registry`; adding one means a module with its class and one entry there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from .records import ClippedRecord

#: Diagnostics a restoration may carry (:attr:`Restoration.diagnostics`): the standard deviation
#: of the windows' estimates of each sample (0 where no window restored it), which shows where the
#: windows disagree and is no bound on the error; and the share of the network's departure from
#: the input its self-check kept.
WINDOW_SPREAD = "window_spread"
SELF_CHECK_KEPT = "self_check_kept"


@dataclass(frozen=True)
class Band:
    """What a restoration's ``lower`` / ``upper`` bounds are: how they were made
    (``description``, one line), the share of the truth they are meant to hold
    (``central_fraction``, 0.9 for a central 90 % interval), and whether it was ``calibrated``
    to hold that share, on records apart from those its coverage is then measured on
    (docs/results names the page). Only a calibrated band is called a "90 % band" in plots and
    docs; any other is a nominal one."""

    description: str
    central_fraction: float = 0.9
    calibrated: bool = False

    @property
    def label(self) -> str:
        share = f"{self.central_fraction:.0%}".replace("%", " %")
        return f"{share} band" if self.calibrated else f"nominal {share} band (not calibrated)"


@dataclass
class Restoration:
    """A record restored by a method: its ``restored`` values, and where the method gives a band,
    ``lower`` / ``upper`` bounds per sample and what they are (``band``); None for a method
    without one. A band's bounds equal ``restored`` on unclipped samples, and never cross the
    clip level: a positively clipped sample's lower bound is at least its clip level, a negative
    one's upper bound at most its level."""

    restored: np.ndarray
    method: str
    windows: int = 0                 # windows of a network predicted for it
    seconds: float = 0.0
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    band: Band | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def window_spread(self) -> np.ndarray:
        """:data:`WINDOW_SPREAD`, 0 for a method without windows."""
        return self.diagnostics.get(WINDOW_SPREAD, np.zeros(self.restored.size))


class RestorationMethod(Protocol):
    """One restoration method. ``restore_all`` restores many records at once, so that a network
    predicts all their windows in full batches; ``restore`` restores one."""

    name: str

    def restore(self, record: ClippedRecord) -> Restoration: ...

    def restore_all(self, records: list[ClippedRecord]) -> list[Restoration]: ...


class RecordByRecord:
    """A method that restores each record on its own: a subclass gives ``name`` and ``estimate``."""

    name: str

    def estimate(self, record: ClippedRecord) -> np.ndarray:
        raise NotImplementedError

    def restore(self, record: ClippedRecord) -> Restoration:
        started = time.perf_counter()
        restored = self.estimate(record)
        return Restoration(restored, self.name, seconds=time.perf_counter() - started)

    def restore_all(self, records: list[ClippedRecord]) -> list[Restoration]:
        return [self.restore(record) for record in records]


class ClassicMethod(RecordByRecord):
    """A classic method ``function(values, status, clip_high, clip_low)`` (spline, POCS, A-SPADE)."""

    def __init__(self, name: str, function: Callable[..., np.ndarray]):
        self.name, self.function = name, function

    def estimate(self, record: ClippedRecord) -> np.ndarray:
        return self.function(record.values, record.status, record.clip_high, record.clip_low)


class Reused:
    """A method whose last restorations are kept and given again for the same records: a method
    built from others (the hybrid) and those others, asked for the same record, run once."""

    def __init__(self, method: RestorationMethod):
        self.method, self.name = method, method.name
        self._last: tuple[list[ClippedRecord], list[Restoration]] | None = None

    def restore(self, record: ClippedRecord) -> Restoration:
        return self.restore_all([record])[0]

    def restore_all(self, records: list[ClippedRecord]) -> list[Restoration]:
        last = self._last   # read once: threads may restore other records meanwhile
        if last is not None and len(last[0]) == len(records) and all(
                kept is given for kept, given in zip(last[0], records)):
            return last[1]
        restorations = self.method.restore_all(records)
        self._last = (list(records), restorations)
        return restorations


def clip_bounded(lower: np.ndarray, upper: np.ndarray, restored: np.ndarray, status: np.ndarray,
                 clip_high: float, clip_low: float) -> tuple[np.ndarray, np.ndarray]:
    """A band's bounds made consistent with what the record says: exact on unclipped samples,
    above the clip level on positively clipped ones, below it on negatively clipped ones, and
    always holding ``restored``."""
    status = np.asarray(status)
    lower = np.where(status == 0, restored, np.where(status > 0, np.maximum(lower, clip_high), lower))
    upper = np.where(status == 0, restored, np.where(status < 0, np.minimum(upper, clip_low), upper))
    return np.minimum(lower, restored), np.maximum(upper, restored)
