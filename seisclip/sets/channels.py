"""The input channels a network can see, each computed from what a clipped record shows.

A definition script chooses its channels by name (``INPUTS = ("clipped", "status",
"clip_level")``) or adds its own: a function of a :class:`ClippedWindows` returning one value
per sample. Training and restoration build the inputs here, from the same windows, so a model
sees at restoration exactly what it saw in training. Nothing here knows the unclipped truth.
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np

from ..bank.clipping import runs_of
from ..errors import SeisclipError
from .labels import ClippedWindows, scale_by_run_length, scaled_windows

#: Unclipped neighbours a cubic spline across a clipped run passes through on each side.
SPLINE_NEIGHBOURS = 4
#: The spline channel is bounded at this many clip levels: a true peak lies within 1 / 0.1
#: clip levels for the lowest clip level a set draws, and a cubic across a long run can go far beyond.
SPLINE_CHANNEL_BOUND = 10.0


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
    ``neighbours`` unclipped samples on each side (scipy's not-a-knot ``CubicSpline``). A run
    touching the first or last sample has one side only, where a cubic would extrapolate without
    bound: it is left as it is.

    Runs with ``neighbours`` knots on both sides, nearly all of them, are solved together
    (:func:`_not_a_knot_curvatures`): a training batch holds thousands of runs, and one
    ``CubicSpline`` each made this channel cost more than the training step it feeds."""
    from scipy.interpolate import CubicSpline   # here: building the parser must not load scipy

    values = np.asarray(values, dtype=np.float64)
    estimate = values.copy()
    clipped = np.asarray(status) != 0
    runs = np.array(runs_of(clipped), dtype=np.int64).reshape(-1, 2)
    unclipped = np.flatnonzero(~clipped)
    before = np.searchsorted(unclipped, runs[:, 0])   # the unclipped samples before each run
    left, right = np.minimum(before, neighbours), np.minimum(unclipped.size - before, neighbours)
    full = (left == neighbours) & (right == neighbours) & (neighbours >= 2)
    if np.any(full):
        knots = unclipped[before[full, None] + np.arange(-neighbours, neighbours)]
        x, y = knots.astype(np.float64), values[knots]
        curvature = _not_a_knot_curvatures(x, y)
        # Each run lies between its last left knot (k) and its first right one (k + 1).
        starts, lengths = runs[full, 0], runs[full, 1] - runs[full, 0]
        run = np.repeat(np.arange(starts.size), lengths)
        t = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths - starts, lengths)
        k = neighbours - 1
        x0, x1, y0, y1 = x[run, k], x[run, k + 1], y[run, k], y[run, k + 1]
        m0, m1, h = curvature[run, k], curvature[run, k + 1], x[run, k + 1] - x[run, k]
        estimate[t] = ((m0 * (x1 - t) ** 3 + m1 * (t - x0) ** 3) / (6 * h)
                       + (y0 / h - m0 * h / 6) * (x1 - t) + (y1 / h - m1 * h / 6) * (t - x0))
    for (start, stop), first, n_left, n_right in zip(runs[~full], before[~full], left[~full], right[~full]):
        if n_left and n_right:
            known = unclipped[first - n_left:first + n_right]
            estimate[start:stop] = CubicSpline(known, values[known])(np.arange(start, stop))
    return estimate


def _not_a_knot_curvatures(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Second derivatives at the knots ``(R, n)`` of each row's not-a-knot cubic spline through
    ``(x, y)``, ``n >= 4``: continuity of the first derivative at the inner knots, and of the third
    at the second and the last but one."""
    rows, n = x.shape
    h = np.diff(x, axis=1)
    system, rhs = np.zeros((rows, n, n)), np.zeros((rows, n))
    inner = np.arange(1, n - 1)
    system[:, inner, inner - 1] = h[:, :-1]
    system[:, inner, inner] = 2 * (h[:, :-1] + h[:, 1:])
    system[:, inner, inner + 1] = h[:, 1:]
    rhs[:, 1:-1] = 6 * np.diff(np.diff(y, axis=1) / h, axis=1)
    system[:, 0, :3] = np.stack([h[:, 1], -(h[:, 0] + h[:, 1]), h[:, 0]], axis=1)
    system[:, -1, -3:] = np.stack([h[:, -1], -(h[:, -2] + h[:, -1]), h[:, -2]], axis=1)
    return np.linalg.solve(system, rhs[..., None])[..., 0]


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


def window_inputs(counts: np.ndarray, status: np.ndarray, clip_counts: np.ndarray, scale: np.ndarray, sbrl: bool,
                  channels: Sequence[Callable]) -> np.ndarray:
    """The network's inputs for windows in counts: :func:`~seisclip.sets.labels.scaled_windows`,
    then each channel of :func:`network_inputs`."""
    return network_inputs(scaled_windows(counts, status, clip_counts, scale, sbrl), channels)


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
