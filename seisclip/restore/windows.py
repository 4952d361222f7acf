"""Restoring the clipped samples of a record with a trained model or a classic baseline.

With a model, windows slide along the record with a stride: of the model's length L, or for a
fully convolutional model (one whose input length is not fixed) of ``--window`` samples,
FULLY_CONVOLUTIONAL_WINDOW by default, so that each estimate sees context much longer than a
clipped run. Every window that holds a clipped sample is predicted, all in batches; each
clipped sample's estimate combines every window covering it (median or mean) and their
standard deviation is kept as the spread. Only clipped samples change, and each ends at or
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

import io
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..bank.clipping import runs_of
from ..errors import SeisclipError
from ..fsio import atomic_files, output_lock, refuse_existing, remove_stale_temporaries
from ..learn.adopted import SCALINGS
from ..learn.model_dir import LoadedModel, ModelDirectory
from ..sets.channels import window_inputs
from ..sets.labels import NORMALISATIONS
from .aspade import restore_aspade
from .baselines import enforce_clip_consistency, restore_pocs, restore_spline, self_check_factor
from .hybrid import NETWORK_SHARE, blend_by_shares, blend_for_rough_runs, spline_shares
from .records import ClippedRecord, read_clipped_record, window_starts

#: The classic methods, each ``f(values, status, clip_high, clip_low)``.
BASELINES = {"spline": restore_spline, "pocs": restore_pocs, "aspade": restore_aspade}
#: The methods that need a trained model: the network alone, and the hybrid of the network, POCS
#: and the spline (:mod:`.hybrid`), the one to use.
MODEL_METHODS = ("hybrid", "model")
METHODS = (*MODEL_METHODS, *BASELINES)
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


@dataclass
class Restoration:
    restored: np.ndarray        # the record with its clipped samples restored
    spread: np.ndarray          # standard deviation across windows (0 where not restored by windows)
    method: str
    windows: int
    seconds: float
    kept: float = 1.0           # share of the network's departure from the input its self-check kept


class ModelRestorer:
    """A trained network with what its model directory says about the windows it expects: their
    length, normalisation and input channels (``custom``: the definition's own functions among them).
    ``window`` is the length of the windows it restores records with (see the module's text)."""

    def __init__(self, network, directory: ModelDirectory, batch_size: int = 256,
                 custom: dict[str, Callable] | None = None, window: int | None = None, self_check: bool = False):
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
        if not (callable(self.normalisation) or self.normalisation in (*NORMALISATIONS, *SCALINGS.values())):
            raise SeisclipError(f"model's normalisation {self.normalisation!r} is not one seisclip knows", directory.path)
        self.lowest_clip_level = directory.lowest_clip_level
        self.batch_size = batch_size

    def check_window_length(self, length: int | None, model_path: str | os.PathLike) -> None:
        """The window length a user expects (the group's ``--number_of_consecutive_samples``) must be
        the model's."""
        if length is not None and not self.fully_convolutional and self.length != length:
            raise SeisclipError(f"model takes windows of {self.length} samples, not the "
                                f"--number_of_consecutive_samples {length}", model_path)

    @classmethod
    def of(cls, loaded: LoadedModel, batch_size: int = 256, window: int | None = None,
           self_check: bool = False) -> "ModelRestorer":
        return cls(loaded.network, loaded.directory, batch_size, loaded.custom, window, self_check)

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
        return Restoration(values + kept * (restoration.restored - values), kept * restoration.spread, "model",
                           restoration.windows, time.perf_counter() - started, kept)

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
        return Restoration(record.values.copy(), spread, "model", 0, 0.0)
    covered = stacked[:, clipped]
    estimate = record.values.astype(np.float64, copy=True)
    estimate[clipped] = np.nanmedian(covered, axis=0) if combine == "median" else np.nanmean(covered, axis=0)
    spread[clipped] = np.nanstd(covered, axis=0)
    restored = enforce_clip_consistency(estimate, record.values, record.status, record.clip_high, record.clip_low)
    return Restoration(restored, spread, "model", windows, 0.0)


def restore_record(record: ClippedRecord, method: str, restorer: ModelRestorer | None = None,
                   stride: int | None = None, combine: str = "median") -> Restoration:
    """Restore ``record`` with ``method``: ``hybrid`` or ``model`` (both need ``restorer``), or a
    classic one (BASELINES)."""
    return restore_records([record], method, restorer, stride, combine)[0]


def restore_records(records: list[ClippedRecord], method: str, restorer: ModelRestorer | None = None,
                    stride: int | None = None, combine: str = "median") -> list[Restoration]:
    """:func:`restore_record` of each record; a model's windows of all of them are predicted together."""
    if method not in METHODS:
        raise SeisclipError(f"method must be one of {METHODS}, got {method!r}")
    if method in BASELINES:
        restorations = []
        for record in records:
            started = time.perf_counter()
            restored = BASELINES[method](record.values, record.status, record.clip_high, record.clip_low)
            restorations.append(Restoration(restored, np.zeros(record.values.size), method, 0,
                                            time.perf_counter() - started))
        return restorations
    if restorer is None:
        raise SeisclipError(f"method {method!r} needs --model MODEL_DIR")
    restorations = restorer.restore_all(records, stride=stride, combine=combine)
    if method == "model":
        return restorations
    return [hybrid_restoration(record, restoration) for record, restoration in zip(records, restorations)]


def hybrid_restoration(record: ClippedRecord, restoration: Restoration) -> Restoration:
    """The hybrid (:mod:`.hybrid`) of the network's ``restoration``, the spline's and POCS's."""
    started = time.perf_counter()
    classic = {method: BASELINES[method](record.values, record.status, record.clip_high, record.clip_low)
               for method in ("spline", "pocs")}
    blend = blend_for_rough_runs(restoration.restored, classic["pocs"])
    shares = spline_shares(record.values, record.status, record.clip_high, record.clip_low, classic["spline"], blend)
    restored = blend_by_shares(record.values, record.status, record.clip_high, record.clip_low, shares, classic["spline"], blend)
    # The spread across windows is the network's, in the share of the estimate it has.
    spread = (1.0 - shares) * NETWORK_SHARE * restoration.spread
    return Restoration(restored, spread, "hybrid", restoration.windows,
                       restoration.seconds + time.perf_counter() - started, restoration.kept)


def format_restored(record: ClippedRecord, restoration: Restoration) -> bytes:
    """ASCII output: a header line, then ``index value status restored spread`` per sample."""
    header = f"# index value status restored spread  (method {restoration.method}; source {record.path})\n"
    lines = [
        f"{i} {value:.10g} {status} {restored:.10g} {spread:.6g}\n"
        for i, (value, status, restored, spread) in enumerate(zip(
            record.values.tolist(), record.status.tolist(), restoration.restored.tolist(), restoration.spread.tolist()))
    ]
    return (header + "".join(lines)).encode()


def plot_restoration(record: ClippedRecord, restoration: Restoration, title: str):
    """A figure of the whole record and a close-up of its longest clipped run: clipped input,
    restored estimate with its spread, clip levels and clipped spans shaded."""
    # The Figure API: no pyplot state, and the caller's backend is left as it is.
    from matplotlib.figure import Figure

    runs = runs_of(record.clipped)
    figure = Figure(figsize=(12, 7))
    axes = figure.subplots(2, 1)
    longest = max(runs, key=lambda run: run[1] - run[0]) if runs else (0, min(record.values.size, 200))
    margin = max(40, 3 * (longest[1] - longest[0]))
    close_up = (max(0, longest[0] - margin), min(record.values.size, longest[1] + margin))
    samples = np.arange(record.values.size)
    for axis, (first, last) in zip(axes, [(0, record.values.size), close_up]):
        shown = slice(first, last)
        for start, stop in runs:
            if stop > first and start < last:
                axis.axvspan(start - 0.5, stop - 0.5, color="orange", alpha=0.25, lw=0)
        axis.plot(samples[shown], restoration.restored[shown], color="tab:blue", lw=0.8, label=f"restored ({restoration.method})")
        if restoration.spread.any():
            axis.fill_between(samples[shown], (restoration.restored - restoration.spread)[shown],
                              (restoration.restored + restoration.spread)[shown], color="tab:blue", alpha=0.3, lw=0,
                              label="± spread across windows")
        axis.plot(samples[shown], record.values[shown], color="black", lw=0.8, label="clipped input")
        for level in (record.clip_high, record.clip_low):
            axis.axhline(level, color="red", lw=0.6, ls="--")
        axis.set_xlim(first, last - 1)
        axis.set_xlabel("sample")
        axis.set_ylabel("counts")
    axes[0].set_title(title)
    axes[1].set_title("close-up of the longest clipped run (shaded: clipped samples; dashed: clip levels)")
    axes[0].legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    return figure


def write_restoration(record: ClippedRecord, restoration: Restoration, figure, output: str, plot: str,
                      overwrite: bool) -> None:
    """Write the restored record (:func:`format_restored`) and its figure as a PNG, both or neither."""
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=100)
    with output_lock(output, "restored record"):
        remove_stale_temporaries(plot)
        with atomic_files([output, plot], overwrite=overwrite) as (output_temporary, plot_temporary):
            output_temporary.write_bytes(format_restored(record, restoration))
            plot_temporary.write_bytes(image.getvalue())


def restore_file(record_path: str, method: str = "hybrid", model_dir: str | None = None, output: str | None = None,
                 plot: str | None = None, stride: int | None = None, combine: str = "median",
                 labelled: bool | None = None, clip_counts: float | None = None, tolerance: float = 0.0,
                 batch_size: int = 256, overwrite: bool = False, trust_definition: bool = False,
                 window: int | None = None, self_check: bool = False, window_length: int | None = None) -> Restoration:
    """Read a clipped record, restore it, write the ASCII output and the plot; print a summary line.
    ``window_length``: the window length the user expects the model to take (checked)."""
    from ..learn.models import load_any_model

    output = output or f"{os.path.basename(record_path)}.restored.txt"
    plot = plot or f"{os.path.splitext(output)[0]}.png"
    if not overwrite:
        refuse_existing(output, "restored record")
        refuse_existing(plot, "plot")
    record = read_clipped_record(record_path, labelled=labelled, clip_counts=clip_counts, tolerance=tolerance)
    restorer = None
    if method in MODEL_METHODS:
        if model_dir is None:
            raise SeisclipError(f"method {method!r} needs a model directory (--model)")
        restorer = ModelRestorer.of(load_any_model(model_dir, trust_definition), batch_size=batch_size,
                                    window=window, self_check=self_check)
        restorer.check_window_length(window_length, model_dir)
    resting = record.resting_clipped_side()
    if restorer and resting:
        # bench/bench_offsets.py: there the network made most generated records worse, POCS and A-SPADE none.
        print(f"warning: {record_path}: {resting[1]:.0%} of its samples are clipped at {resting[0]}, so it rests "
              "beyond its clip level, unlike any window the model trained on: try --method pocs or aspade "
              "(docs/restoration.md)", file=sys.stderr)
    restoration = restore_record(record, method, restorer, stride=stride, combine=combine)

    name = restorer.name if restorer else method
    figure = plot_restoration(record, restoration, f"{os.path.basename(record_path)} restored by {name}")
    write_restoration(record, restoration, figure, output, plot, overwrite)
    check = f", self-check kept {restoration.kept:.0%}" if restorer and restorer.self_check else ""
    print(f"restored {int(record.clipped.sum())} clipped samples in {len(runs_of(record.clipped))} runs of "
          f"{record.values.size} with {name}: {restoration.windows} windows{check}, {restoration.seconds:.2f} s "
          f"-> {output}, {plot}", file=sys.stderr)
    return restoration
