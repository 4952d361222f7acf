"""Runs of clipped samples, and how clipped a raw trace looks."""

from __future__ import annotations

from typing import Any

import numpy as np

from .settings import DEFAULT_CLIP_RUN


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of every run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


#: Steps onto and off a clipped run are at least this many quantisation steps; a smooth peak of
#: quantised data is flat for a while too, but is left one step at a time.
CLIP_EDGE_STEPS = 2


def clipping_evidence(values: np.ndarray, min_run: int = DEFAULT_CLIP_RUN) -> dict[str, Any]:
    """How clipped a record of raw samples looks: runs of at least ``min_run`` samples exactly at
    its maximum or minimum whose neighbours differ from that value by at least
    :data:`CLIP_EDGE_STEPS` quantisation steps (the smallest non-zero step between samples). A
    digitiser at its limit gives such runs; a smooth peak is left one step at a time."""
    high, low = float(values.max()), float(values.min())
    evidence: dict[str, Any] = {"clipped": False, "constant": high == low, "clipped_runs": 0, "clipped_samples": 0,
                                "longest_run": 0}
    if high == low:
        return evidence
    steps = np.abs(np.diff(values))
    quantum = float(steps[steps > 0].min())
    for level in (high, low):
        for start, stop in runs_of(values == level):
            edges = [abs(float(values[i]) - level) for i in (start - 1, stop) if 0 <= i < values.size]
            if stop - start >= min_run and all(edge >= CLIP_EDGE_STEPS * quantum for edge in edges):
                evidence["clipped_runs"] += 1
                evidence["clipped_samples"] += stop - start
                evidence["longest_run"] = max(evidence["longest_run"], stop - start)
    evidence["clipped"] = evidence["clipped_runs"] > 0
    evidence["quantum"] = quantum
    return evidence
