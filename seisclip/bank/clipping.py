"""The clipping detector: which samples of a record are clipped, found from their values.

:func:`detect_clipping` is the one function in seisclip that finds clipped runs from sample
values; bank import, restore, the archive run and the development-set builder all call it, with
one of its presets (:data:`PRESETS`) or an explicit clip level:

* ``"import"`` (``seisclip bank import``): does this raw trace show clipping, so that it is kept
  out of a training bank? A run of at least ``--clip-run`` (3) samples exactly at the record's
  maximum or minimum, entered and left by steps of at least :data:`CLIP_EDGE_STEPS` quantisation
  steps. A smooth quantised peak is flat for a while too, but is left one step at a time.
* ``"restore"`` (``seisclip restore``): which samples to restore, missing none. Every run of at
  least 2 samples within ``tolerance_counts`` of the maximum (+1) or of the minimum (-1), each
  side on its own, so the two levels may differ. A plateau that jitters by a few counts is found
  whole with a tolerance of that many counts (``restore --tolerance``; default 0: exactly at the
  extreme). A lone extreme sample is a peak.
* ``clip_counts=C``: every sample at or beyond ±C counts is clipped.

Each call also looks for **back-to-zero clipping**: some digitisers, at the rail, drop to the
baseline instead of holding the rail. A back-to-zero run is a run of at least the preset's
minimum run of samples within ``tolerance_counts`` of zero or of the record's median, none of
them near a rail, whose neighbours on both sides each lie within
:data:`BACK_TO_ZERO_NEAR_EXTREME` of the record's range (maximum - minimum) from its maximum or
minimum and at least :data:`BACK_TO_ZERO_MIN_JUMP` of the range (and
:data:`BACK_TO_ZERO_MIN_STEPS` quantisation steps) from the run: the record jumps from near a
rail to the baseline and back. A zero crossing passes through the baseline from small
values, and a quiet stretch is entered from small values, so neither is one. seisclip does not
restore such records (the run's samples say nothing of how far beyond the rail the signal went,
and restoring them would change the record model), and bank import keeps such traces out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SeisclipError
from .settings import DEFAULT_CLIP_RUN


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of every run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


#: Steps onto and off a clipped run are at least this many quantisation steps (the smallest
#: non-zero step between samples) under the ``import`` preset.
CLIP_EDGE_STEPS = 2
#: Back-to-zero: a neighbour of the baseline run lies within this fraction of the record's range
#: (maximum - minimum) from the maximum or the minimum ...
BACK_TO_ZERO_NEAR_EXTREME = 0.25
#: ... and at least this fraction of the range away from the run's samples ...
BACK_TO_ZERO_MIN_JUMP = 0.25
#: ... and at least this many quantisation steps: a trace that wanders over a few counts is no
#: digitiser leaving its rail.
BACK_TO_ZERO_MIN_STEPS = 10


@dataclass(frozen=True)
class Preset:
    """How :func:`detect_clipping` finds plateaus: runs of at least ``min_run`` samples within
    ``tolerance_counts`` of an extreme, whose neighbours lie at least ``edge_steps``
    quantisation steps beyond that band."""
    name: str
    min_run: int
    tolerance_counts: float
    edge_steps: int


PRESETS = {
    "import": Preset("import", min_run=DEFAULT_CLIP_RUN, tolerance_counts=0.0, edge_steps=CLIP_EDGE_STEPS),
    "restore": Preset("restore", min_run=2, tolerance_counts=0.0, edge_steps=0),
}


@dataclass(frozen=True)
class ClippedRun:
    start: int
    stop: int
    side: int           # +1 clipped above, -1 below

    @property
    def length(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Clipping:
    """What :func:`detect_clipping` found in a record."""
    status: np.ndarray                          # -1 / 0 / +1 per sample (int8)
    runs: tuple[ClippedRun, ...]                # the clipped runs, in order
    clip_high: float | None                     # least value clipped above (None: none clipped above)
    clip_low: float | None                      # greatest value clipped below
    back_to_zero_runs: tuple[tuple[int, int], ...]  # (start, stop) of each back-to-zero run
    constant: bool                              # every sample the same: a dead channel, no evidence
    quantum: float | None                       # smallest non-zero step between samples
    how: str                                    # the preset's name, or "clip_counts"

    @property
    def clipped(self) -> bool:
        return bool(self.runs)

    @property
    def back_to_zero(self) -> bool:
        return bool(self.back_to_zero_runs)

    @property
    def clipped_samples(self) -> int:
        return sum(run.length for run in self.runs)

    @property
    def longest_run(self) -> int:
        return max((run.length for run in self.runs), default=0)

    def evidence(self) -> dict[str, Any]:
        """The findings as the import report lists them; ``clipped`` there is either kind of clipping."""
        found: dict[str, Any] = {"clipped": self.clipped or self.back_to_zero, "constant": self.constant,
                                 "clipped_runs": len(self.runs),
                                 "clipped_samples": self.clipped_samples, "longest_run": self.longest_run,
                                 "back_to_zero_runs": len(self.back_to_zero_runs),
                                 "back_to_zero_samples": sum(stop - start for start, stop in self.back_to_zero_runs)}
        if self.quantum is not None:
            found["quantum"] = self.quantum
        return found

    def back_to_zero_problem(self) -> str:
        """One line saying what was found, for an error or a report."""
        start, stop = self.back_to_zero_runs[0]
        return (f"shows back-to-zero clipping ({len(self.back_to_zero_runs)} runs of samples dropped to the baseline "
                f"at the rail, the first at samples {start}-{stop - 1}), which seisclip does not restore")


def check_tolerance_counts(tolerance_counts: float) -> None:
    if not (np.isfinite(tolerance_counts) and tolerance_counts >= 0):
        raise SeisclipError(f"tolerance must be a finite number of counts >= 0, got {tolerance_counts}")


def clip_levels_of(values: np.ndarray, status: np.ndarray) -> tuple[float | None, float | None]:
    """The least extreme clipped value on each side (None for a side with no clipped sample)."""
    high = float(values[status > 0].min()) if np.any(status > 0) else None
    low = float(values[status < 0].max()) if np.any(status < 0) else None
    return high, low


def detect_clipping(values: np.ndarray, preset: str = "restore", *, clip_counts: float | None = None,
                    tolerance_counts: float | None = None, min_run: int | None = None) -> Clipping:
    """The clipped samples of ``values`` (counts, any numeric dtype) by ``preset`` (see the
    module's description), or those at or beyond ± ``clip_counts`` when that is given.
    ``tolerance_counts`` and ``min_run`` replace the preset's."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    chosen = PRESETS[preset]
    tolerance = chosen.tolerance_counts if tolerance_counts is None else float(tolerance_counts)
    check_tolerance_counts(tolerance)
    min_run = chosen.min_run if min_run is None else min_run
    if min_run < 2:
        raise SeisclipError(f"a clipped run needs at least 2 samples (one extreme sample is a peak), got {min_run}")
    values = np.asarray(values, dtype=np.float64)
    steps = np.abs(np.diff(values))
    moving = steps[steps > 0]
    quantum = float(moving.min()) if moving.size else None
    constant = values.size > 0 and quantum is None
    status = np.zeros(values.size, dtype=np.int8)
    if clip_counts is not None:
        if not clip_counts > 0:
            raise SeisclipError(f"clip level must be positive, got {clip_counts}")
        status = (values >= clip_counts).astype(np.int8) - (values <= -clip_counts).astype(np.int8)
    elif values.size and not constant:
        high, low = _plateaus(values, chosen, tolerance, min_run, quantum)
        # Two bands that overlap (a record whose range is within the tolerance) cancel: no side.
        status = high.astype(np.int8) - low.astype(np.int8)
    runs = tuple(ClippedRun(start, stop, int(status[start])) for side in (1, -1)
                 for start, stop in runs_of(status == side))
    high_level, low_level = clip_levels_of(values, status)
    back_to_zero = () if constant or not values.size else _back_to_zero_runs(values, tolerance, min_run, quantum)
    return Clipping(status=status, runs=tuple(sorted(runs, key=lambda run: run.start)), clip_high=high_level,
                    clip_low=low_level, back_to_zero_runs=back_to_zero, constant=constant, quantum=quantum,
                    how="clip_counts" if clip_counts is not None else chosen.name)


def _plateaus(values: np.ndarray, preset: Preset, tolerance: float, min_run: int,
              quantum: float) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the runs on the upper and the lower plateau."""
    masks = []
    for sign, level in ((1, float(values.max())), (-1, float(values.min()))):
        band = values >= level - tolerance if sign > 0 else values <= level + tolerance
        kept = np.zeros(values.size, dtype=bool)
        for start, stop in runs_of(band):
            edges = [abs(float(values[i]) - level) for i in (start - 1, stop) if 0 <= i < values.size]
            if stop - start >= min_run and all(edge >= tolerance + preset.edge_steps * quantum for edge in edges):
                kept[start:stop] = True
        masks.append(kept)
    return masks[0], masks[1]


def _back_to_zero_runs(values: np.ndarray, tolerance: float, min_run: int,
                       quantum: float) -> tuple[tuple[int, int], ...]:
    high, low = float(values.max()), float(values.min())
    spread = high - low
    jump = max(BACK_TO_ZERO_MIN_JUMP * spread, BACK_TO_ZERO_MIN_STEPS * quantum)
    margin = BACK_TO_ZERO_NEAR_EXTREME * spread
    near_rail = (values >= high - margin) | (values <= low + margin)
    found = set()
    for baseline in {0.0, float(np.median(values))}:
        for start, stop in runs_of(np.abs(values - baseline) <= tolerance):
            # A baseline at a rail (a record resting clipped) is a plateau, not a drop from it.
            if stop - start < min_run or start == 0 or stop == values.size or near_rail[start:stop].any():
                continue
            run_level = float(values[start:stop].mean())
            if all(near_rail[i] and abs(values[i] - run_level) >= jump for i in (start - 1, stop)):
                found.add((start, stop))
    return tuple(sorted(found))
