"""Network inference: restoring the clipped samples of records with a trained model.

With a model, windows slide along the record with a stride: of the model's length L, or for a
fully convolutional model (one whose input length is not fixed) of ``--window`` samples,
FULLY_CONVOLUTIONAL_WINDOW by default, so that each estimate sees context much longer than a
clipped run. Every window that holds a clipped sample is predicted, all in batches; each
clipped sample's estimate combines every window covering it (median or mean) and their
standard deviation is kept as a diagnostic, the spread across windows. Only clipped samples change, and each ends at or
beyond its clip level.

Windows are scaled as the model was trained (its manifest's ``normalisation``), or for a model
of the group's own scripts as their prediction scripts scaled them (:mod:`seisclip.learn.adopted`):

* ``clip``: divided by the record's clip level, which the record shows — exactly what the
  network saw in training;
* ``peak``: divided by the window's true peak, which clipping hides. Each window is tried at
  a range of scales and the prediction most consistent with the record is kept (see
  :meth:`ModelRestorer.predict_with_estimated_peak`);
* ``record_peak``: divided by the record's largest |value|, which for a clipped record is its
  clip level (the group's mean scripts);
* ``none``: in counts (the group's sbrl scripts).
"""

from __future__ import annotations

import os
import time
from typing import Callable

import numpy as np

from ..errors import SeisclipError
from ..learn.adopted import NORMALISATION_CHOICES
from ..learn.model_dir import LoadedModel
from ..learn.models import ModelHandle
from ..sets.channels import window_inputs
from ..sets.labels import NORMALISATIONS
from .band import BandCalibration
from .baselines import enforce_clip_consistency, self_check_factor
from .methods import SELF_CHECK_KEPT, WINDOW_SPREAD, Restoration
from .records import ClippedRecord, window_starts

COMBINES = ("median", "mean")
#: Default window of a fully convolutional model: 102 s at 40 Hz, several times the longest
#: clipped runs of long-period waves.
FULLY_CONVOLUTIONAL_WINDOW = 4096
#: Scales tried per window by a peak-normalised model: steps of 10 % between 1 and 10 times
#: the recorded peak.
PEAK_CANDIDATES = 25
#: Weight of "the output peaks at 1" against "the output reproduces the unclipped samples",
#: chosen on the demo model's test split (between 0.1 and 1 the estimate is robust).
PEAK_WEIGHT = 0.3


class ModelRestorer:
    """A trained network with what its model directory says about the windows it expects: their
    length, normalisation and input channels (``custom``: the definition's own functions among them).
    ``window`` is the length of the windows it restores records with (see the module's text)."""

    def __init__(self, network, directory: ModelHandle, batch_size: int = 256,
                 custom: dict[str, Callable] | None = None, window: int | None = None, self_check: bool = False,
                 band: bool = True):
        custom = custom or {}
        self.model = network
        self.self_check = self_check
        self.name = directory.name
        self.length = directory.segment_length
        self.fully_convolutional = network.input_shape[1] is None
        if self.fully_convolutional:
            self.window = window or max(self.length or 0, FULLY_CONVOLUTIONAL_WINDOW)
        elif window not in (None, self.length):
            raise SeisclipError(f"model {self.name} takes windows of exactly its {self.length} samples, not {window}: "
                                "only a fully convolutional model restores with other windows", directory.path)
        else:
            self.window = self.length
        representation = directory.representation(custom)
        self.sbrl, self.channels = representation.sbrl, list(representation.channels)
        self.normalisation = representation.normalisation
        if not (callable(self.normalisation) or self.normalisation in (*NORMALISATIONS, *NORMALISATION_CHOICES.values())):
            raise SeisclipError(f"model's normalisation {self.normalisation!r} is not one seisclip knows", directory.path)
        self.lowest_clip_level = directory.lowest_clip_level
        self.batch_size = batch_size
        #: The hybrid's band calibration beside the network (unless ``band`` is False), None where none was made.
        self.band_calibration = BandCalibration.of_model(directory.path, directory.sha256) if band else None

    def check_window_length(self, length: int | None, model_path: str | os.PathLike) -> None:
        """The window length a user expects (the group's ``--number_of_consecutive_samples``) must be
        the model's."""
        if length is not None and not self.fully_convolutional and self.length != length:
            raise SeisclipError(f"model takes windows of {self.length} samples, not the "
                                f"--number_of_consecutive_samples {length}", model_path)

    @classmethod
    def of(cls, loaded: LoadedModel, batch_size: int = 256, window: int | None = None,
           self_check: bool = False, band: bool = True) -> "ModelRestorer":
        return cls(loaded.network, loaded.directory, batch_size, loaded.custom, window, self_check, band)

    def _predict(self, windows: np.ndarray, status: np.ndarray, clip_counts: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Predictions in counts for windows of counts, each divided by its ``scale`` on the way in."""
        inputs = window_inputs(windows, status, clip_counts, scale, self.sbrl, self.channels)
        # Batch by batch: Model.predict builds a tf.data pipeline on every call, which on a record of
        # a few windows cost more than the prediction (evaluate predicts once per record and level).
        predictions = [self.model.predict_on_batch(inputs[first:first + self.batch_size])
                       for first in range(0, len(inputs), self.batch_size)]
        return np.concatenate(predictions) * scale[:, None]

    def predict(self, windows: np.ndarray, status: np.ndarray, clip_counts: np.ndarray,
                true_peak: np.ndarray | None = None) -> np.ndarray:
        """Predictions in counts for clipped windows ``(N, L)`` of counts with their status -1/0/+1.

        ``clip_counts`` (per window, counts) scales clip-normalised models. Peak-normalised models
        need each window's true peak: estimated, unless ``true_peak`` is given (an evaluation's
        upper bound, never known on a real record).
        """
        clip_counts = np.asarray(clip_counts, dtype=np.float64)
        if self.normalisation in ("clip", "record_peak"):
            return self._predict(windows, status, clip_counts, clip_counts)
        if self.normalisation == "none":
            return self._predict(windows, status, clip_counts, np.ones(len(windows)))
        if callable(self.normalisation):
            scale = np.asarray(self.normalisation(windows, clip_counts), dtype=np.float64)
            return self._predict(windows, status, clip_counts, scale)
        if true_peak is not None:
            return self._predict(windows, status, clip_counts, np.asarray(true_peak, dtype=np.float64))
        return self.predict_with_estimated_peak(windows, status, clip_counts)

    def predict_with_estimated_peak(self, windows: np.ndarray, status: np.ndarray, clip_counts: np.ndarray) -> np.ndarray:
        """Predictions of a peak-normalised model whose windows' true peaks are unknown.

        Each window is tried at PEAK_CANDIDATES scales P, log-spaced from its recorded peak (clip
        level 1) to its recorded peak divided by the lowest clip level the model was trained on;
        the prediction kept is the one most consistent with what the record shows: the network's
        output, times P, should reproduce the unclipped samples, and it should peak at 1, as
        training taught it. (The peak alone does not pin P down: a network trained on peak-1
        targets outputs peak 1 at almost any scale.)
        """
        recorded_peak = np.abs(windows).max(axis=1)
        unclipped = status == 0
        unclipped_count = np.maximum(unclipped.sum(axis=1), 1)
        best_score = np.full(len(windows), np.inf)
        best = np.zeros(windows.shape)
        for factor in np.geomspace(1.0, 1.0 / self.lowest_clip_level, PEAK_CANDIDATES):
            scale = recorded_peak * factor
            prediction = self._predict(windows, status, clip_counts, scale)
            mismatch = np.where(unclipped, (prediction - windows) / recorded_peak[:, None], 0.0)
            score = ((mismatch**2).sum(axis=1) / unclipped_count
                     + PEAK_WEIGHT * (np.abs(prediction).max(axis=1) / scale - 1.0) ** 2)
            better = score < best_score
            best_score[better], best[better] = score[better], prediction[better]
        return best

    def predict_record_windows(self, record: ClippedRecord, starts: np.ndarray, length: int) -> np.ndarray:
        """The prediction in counts of each window of ``length`` samples of ``record`` starting at
        ``starts``, ``(len(starts), length)``."""
        positions = starts[:, None] + np.arange(length)
        return self.predict(record.values[positions], record.status[positions], np.full(len(starts), record.clip_counts))

    def restore(self, record: ClippedRecord, stride: int | None = None, combine: str = "median") -> Restoration:
        """The record restored by sliding windows and, with ``self_check``, shrunk towards the
        clipped input as far as a check on the record itself asks
        (:func:`~seisclip.restore.baselines.self_check_factor`). Off by default: on generated
        records it cost def003 more in the deeply clipped bins than it saved in the shallow ones."""
        started = time.perf_counter()
        restoration = self.restore_windows(record, stride, combine)
        if not self.self_check or not record.clipped.any():
            return restoration

        def restore_again(values, status, clip_high, clip_low):
            return self.restore_windows(ClippedRecord(record.path, values, status, clip_high, clip_low),
                                        stride, combine).restored

        kept = self_check_factor(restore_again, record.values, record.status, record.clip_high, record.clip_low)
        values = record.values.astype(np.float64)
        return Restoration(values + kept * (restoration.restored - values), "model", restoration.windows,
                           time.perf_counter() - started,
                           diagnostics={WINDOW_SPREAD: kept * restoration.window_spread, SELF_CHECK_KEPT: kept})

    def window_estimates(self, record: ClippedRecord, stride: int | None = None) -> tuple[np.ndarray, int]:
        """Every window's estimate of each sample of ``record``, ``(depth, samples)``: one row per
        window covering it, NaN where fewer windows cover it; and the number of windows. Only
        windows holding a clipped sample are predicted."""
        return self.window_estimates_of([record], stride)[0]

    def window_estimates_of(self, records: list[ClippedRecord], stride: int | None = None) -> list[tuple[np.ndarray, int]]:
        """:meth:`window_estimates` of each record, the windows of all of them predicted together,
        so that an archive of short records still fills the network's batches."""
        plans = []   # per record: its window length, stride and window starts
        for record in records:
            # A fully convolutional model takes a record shorter than its window whole.
            length = min(self.window, record.values.size) if self.fully_convolutional else self.window
            step = stride or max(1, length // 4)
            if not 0 < step <= length:
                raise SeisclipError(f"stride must be between 1 and the window length {length}, got {step}")
            starts = (window_starts(record.values.size, length, step, record.clipped, record.path)
                      if record.clipped.any() else np.zeros(0, dtype=np.int64))
            plans.append((length, step, starts))
        predictions: list[np.ndarray | None] = [None] * len(records)
        for length in sorted({plan[0] for plan in plans}):
            members = [i for i, plan in enumerate(plans) if plan[0] == length and plan[2].size]
            if not members:
                continue
            positions = [plans[i][2][:, None] + np.arange(length) for i in members]
            windows = np.concatenate([records[i].values[p] for i, p in zip(members, positions)])
            status = np.concatenate([records[i].status[p] for i, p in zip(members, positions)])
            levels = np.concatenate([np.full(len(plans[i][2]), records[i].clip_counts) for i in members])
            predicted = self.predict(windows, status, levels)
            for i, part in zip(members, np.split(predicted, np.cumsum([len(plans[i][2]) for i in members])[:-1])):
                predictions[i] = part
        return [_stacked(record.values.size, length, step, starts, prediction)
                for record, (length, step, starts), prediction in zip(records, plans, predictions)]

    def restore_windows(self, record: ClippedRecord, stride: int | None = None, combine: str = "median") -> Restoration:
        """The record restored by sliding windows alone."""
        started = time.perf_counter()
        if combine not in COMBINES:
            raise SeisclipError(f"combine must be one of {COMBINES}, got {combine!r}")
        restoration = combine_window_estimates(record, *self.window_estimates(record, stride), combine)
        restoration.seconds = time.perf_counter() - started
        return restoration

    def restore_all(self, records: list[ClippedRecord], stride: int | None = None,
                    combine: str = "median") -> list[Restoration]:
        """:meth:`restore` of each record, the windows of all of them predicted together (with the
        self-check, one record after the other: it restores each record again)."""
        if self.self_check:
            return [self.restore(record, stride, combine) for record in records]
        if combine not in COMBINES:
            raise SeisclipError(f"combine must be one of {COMBINES}, got {combine!r}")
        started = time.perf_counter()
        restorations = [combine_window_estimates(record, stacked, windows, combine)
                        for record, (stacked, windows) in zip(records, self.window_estimates_of(records, stride))]
        # The windows were predicted together: each record is given its share of the time by its windows.
        seconds, windows = time.perf_counter() - started, sum(r.windows for r in restorations)
        for restoration in restorations:
            restoration.seconds = seconds * (restoration.windows / windows if windows else 1 / len(restorations))
        return restorations


def _stacked(samples: int, length: int, stride: int, starts: np.ndarray,
             predictions: np.ndarray | None) -> tuple[np.ndarray, int]:
    """The windows' predictions laid over the record, one row per window covering a sample."""
    if not starts.size:
        return np.zeros((0, samples)), 0
    stacked = np.full((-(-length // stride) + 1, samples), np.nan)
    filled = np.zeros(samples, dtype=np.int64)
    for start, prediction in zip(starts.tolist(), predictions):
        stacked[filled[start:start + length], np.arange(start, start + length)] = prediction
        filled[start:start + length] += 1
    return stacked[:filled.max()], len(starts)


def combine_window_estimates(record: ClippedRecord, stacked: np.ndarray, windows: int,
                             combine: str = "median") -> Restoration:
    """The record with each clipped sample the median or mean of the windows' estimates of it
    (:meth:`ModelRestorer.window_estimates`), their standard deviation as its spread."""
    clipped = record.clipped
    spread = np.zeros(record.values.size)
    if not clipped.any():
        return Restoration(record.values.copy(), "model", diagnostics={WINDOW_SPREAD: spread})
    covered = stacked[:, clipped]
    estimate = record.values.astype(np.float64, copy=True)
    estimate[clipped] = np.nanmedian(covered, axis=0) if combine == "median" else np.nanmean(covered, axis=0)
    spread[clipped] = np.nanstd(covered, axis=0)
    restored = enforce_clip_consistency(estimate, record.values, record.status, record.clip_high, record.clip_low)
    return Restoration(restored, "model", windows, diagnostics={WINDOW_SPREAD: spread})



class NetworkMethod:
    """The network alone (``model``): each clipped sample the median (or mean) of the windows' estimates."""

    name = "model"

    def __init__(self, restorer: ModelRestorer, stride: int | None = None, combine: str = "median"):
        self.restorer, self.stride, self.combine = restorer, stride, combine

    def restore(self, record: ClippedRecord) -> Restoration:
        return self.restore_all([record])[0]

    def restore_all(self, records: list[ClippedRecord]) -> list[Restoration]:
        return self.restorer.restore_all(records, self.stride, self.combine)
