"""The input channels a network can see, each computed from what a clipped record shows.

A definition script chooses its channels by name (``INPUTS = ("clipped", "status",
"clip_level")``) or adds its own: a function of a :class:`ClippedWindows` returning one value
per sample. Training and restoration build the inputs here, from the same windows, so a model
sees at restoration exactly what it saw in training. Nothing here knows the unclipped truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, Union

import numpy as np

from ..bank.clipping import runs_of
from ..errors import SeisclipError
from .labels import scale_by_run_length

#: Unclipped neighbours a cubic spline across a clipped run passes through on each side.
SPLINE_NEIGHBOURS = 4
#: The spline channel is bounded at this many clip levels: a true peak lies within 1 / 0.1
#: clip levels for the lowest clip level a set draws, and a cubic across a long run can go far beyond.
SPLINE_CHANNEL_BOUND = 10.0


@dataclass(frozen=True)
class ClippedWindows:
    """Windows ``(N, L)`` as a network's inputs are made from: the clipped samples divided by the
    window's scale, the status -1/0/+1 (scaled by run length with sbrl), and each window's clip
    level in the same units ``(N,)``."""

    clipped: np.ndarray
    status: np.ndarray
    clip_level: np.ndarray


def clipped(windows: ClippedWindows) -> np.ndarray:
    """The clipped samples, normalised."""
    return windows.clipped


def status(windows: ClippedWindows) -> np.ndarray:
    """+1 above the clip level, -1 below minus it, 0 between (times the run length with --sbrl)."""
    return windows.status


def status_by_run_length(windows: ClippedWindows) -> np.ndarray:
    """The status with each clipped run multiplied by its length, with or without --sbrl."""
    return scale_by_run_length(np.sign(windows.status))


def clip_level(windows: ClippedWindows) -> np.ndarray:
    """The window's clip level, the same at every sample."""
    return np.broadcast_to(windows.clip_level[:, None], windows.clipped.shape)


def clipped_mask(windows: ClippedWindows) -> np.ndarray:
    """1 where a sample is clipped, 0 elsewhere."""
    return (windows.status != 0).astype(np.float64)


def spline_across_runs(values: np.ndarray, status: np.ndarray, neighbours: int = SPLINE_NEIGHBOURS) -> np.ndarray:
    """``values`` with each clipped run (status != 0) replaced by a cubic spline through up to
    ``neighbours`` unclipped samples on each side. A run touching the first or last sample has one
    side only, where a cubic would extrapolate without bound: it is left as it is."""
    from scipy.interpolate import CubicSpline   # here: building the parser must not load scipy

    values = np.asarray(values, dtype=np.float64)
    estimate = values.copy()
    unclipped = np.flatnonzero(status == 0)
    for start, stop in runs_of(status != 0):
        left = unclipped[unclipped < start][-neighbours:]
        right = unclipped[unclipped >= stop][:neighbours]
        if left.size and right.size:
            known = np.concatenate([left, right])
            estimate[start:stop] = CubicSpline(known, values[known])(np.arange(start, stop))
    return estimate


def spline(windows: ClippedWindows) -> np.ndarray:
    """The clipped samples with a cubic spline across each clipped run (the spline baseline's
    estimate), bounded at SPLINE_CHANNEL_BOUND clip levels."""
    bound = SPLINE_CHANNEL_BOUND * windows.clip_level[:, None]
    filled = np.stack([spline_across_runs(row, state) for row, state in zip(windows.clipped, windows.status)])
    return np.clip(filled, -bound, bound)


def slope(windows: ClippedWindows) -> np.ndarray:
    """The clipped samples' first derivative (central differences, one-sided at the ends)."""
    return np.gradient(windows.clipped, axis=-1)


BUILT_IN = {function.__name__: function for function in (clipped, status, status_by_run_length, clip_level,
                                                          clipped_mask, slope, spline)}
DEFAULT_INPUTS = ("clipped", "status")

Channel = Union[str, Callable[[ClippedWindows], np.ndarray]]


def channel_name(channel: Channel) -> str:
    return channel if isinstance(channel, str) else channel.__name__


def check_channels(channels: Sequence[Channel]) -> list[str]:
    """The problems of a definition's INPUTS: unknown names, repeats, nothing to see."""
    if isinstance(channels, str) or not channels:
        return [f"INPUTS must be a non-empty sequence of channels, got {channels!r}"]
    problems = []
    for channel in channels:
        if isinstance(channel, str) and channel not in BUILT_IN:
            problems.append(f"INPUTS: unknown channel {channel!r} (built in: {', '.join(BUILT_IN)}; "
                            "or give a function of the clipped windows)")
        elif not isinstance(channel, str) and not callable(channel):
            problems.append(f"INPUTS: {channel!r} is neither a channel name nor a function")
    names = [channel_name(channel) for channel in channels]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"INPUTS: channel {', '.join(repeated)} given twice")
    return problems


def resolve(names: Sequence[str], custom: dict[str, Callable] | None = None) -> list[Callable]:
    """The channel functions of recorded names; ``custom`` maps a definition's own channels."""
    custom = custom or {}
    return [BUILT_IN.get(name) or custom[name] for name in names]


def network_inputs(windows: ClippedWindows, channels: Sequence[Callable]) -> np.ndarray:
    """The network's inputs ``(N, L, len(channels))``, float32."""
    shape = windows.clipped.shape
    stacked = []
    for channel in channels:
        values = np.asarray(channel(windows), dtype=np.float64)
        if values.shape != shape:
            raise SeisclipError(f"input channel {channel.__name__} gave shape {values.shape}, not the windows' {shape}")
        stacked.append(values)
    return np.stack(stacked, axis=-1).astype(np.float32)
