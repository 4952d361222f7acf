"""Where the evaluation stage runs the restoration methods: on a set of clipped windows (the
model's test split), on whole records with sliding windows, per family for ``compare``, and the
models it opens for that. What comes out are the signals' rows (:func:`~.metrics.signal_rows`)."""

from __future__ import annotations

import sys
import numpy as np

from ..bank.records import ground_motion_of, read_records
from ..bank.settings import DEFAULT_SAMPLING_RATE
from ..errors import SeisclipError
from ..fsio import sha256_file
from ..learn.models import open_model
from ..restore.aspade import declip_windows
from ..restore.band import BAND_CALIBRATION_FILE
from ..restore.baselines import enforce_clip_consistency, self_checked
from ..restore.hybrid import combine_by_smoothness
from ..restore.inference import ModelRestorer
from ..restore.methods import Restoration
from ..restore.records import ClippedRecord
from ..restore.registry import build_method, build_methods, method_names
from .cache import Inputs, cached_evaluation
from .metrics import UNCHANGED, ClippedSet, SignalScore, signal_psa, signal_rows


def open_restorer(model_dir: str, records: list[str] | None, window: int | None, self_check: bool,
                  trust_definition: bool):
    """``evaluate``'s model: its directory (or adopted model) and its restorer."""
    directory = open_model(model_dir)
    if not records:
        directory.training_record("evaluate on its test split")
    return directory, ModelRestorer.of(directory.load(trust_definition), window=window, self_check=self_check)


def restore_set(clipped: ClippedSet, method: str, restorer: ModelRestorer | None = None,
                true_peak: bool = False) -> np.ndarray:
    """Every signal of ``clipped`` restored by ``method`` (``model`` restores all in batches)."""
    if method == UNCHANGED:
        return clipped.values.copy()
    if method == "aspade":   # all windows at once
        return self_checked(declip_windows, clipped.values, clipped.status, clipped.clip_counts, -clipped.clip_counts)
    if method in method_names(model=False):
        classic = build_method(method)
        return np.array([classic.restore(ClippedRecord("signal", v, s, c, -c)).restored
                         for v, s, c in zip(clipped.values, clipped.status, clipped.clip_counts)])
    def predict(values, status, clip_high, clip_low):
        # The self-check's clip levels lie about each window's median: scale by the larger side.
        level = np.maximum(np.asarray(clip_high), -np.asarray(clip_low))
        predictions = restorer.predict(values, status, level, true_peak=clipped.peak if true_peak else None)
        return np.array([enforce_clip_consistency(p, v, s, h, low) for p, v, s, h, low in
                         zip(predictions, values, status, np.broadcast_to(clip_high, len(values)),
                             np.broadcast_to(clip_low, len(values)))])

    if restorer.self_check:
        return self_checked(predict, clipped.values, clipped.status, clipped.clip_counts, -clipped.clip_counts)
    return predict(clipped.values, clipped.status, clipped.clip_counts, -clipped.clip_counts)


def evaluate(clipped: ClippedSet, restorer: ModelRestorer | None) -> list[dict]:
    """The signals' rows of every method: the hybrid and the model's network alone (and, for a
    peak-normalised model, the network given the true peak: an upper bound no real record allows),
    spline, POCS, A-SPADE and the clipped input. The windows are the bank's (40 Hz) and taken
    as ground velocity; no method gives a band here."""
    true_psa = [signal_psa(truth) for truth in clipped.truth]

    def scores(restored: np.ndarray) -> list[SignalScore]:
        return [SignalScore.of(truth, estimate, status, values, true_psa=psa) for truth, estimate, status, values, psa
                in zip(clipped.truth, restored, clipped.status, clipped.values, true_psa)]

    classic = {method: restore_set(clipped, method) for method in (*method_names(model=False), UNCHANGED)}
    methods: dict[str, list[SignalScore]] = {}
    if restorer is not None:
        network = restore_set(clipped, "model", restorer)
        methods["hybrid"] = scores(np.array([combine_by_smoothness(*signal).restored for signal in zip(
            clipped.values, clipped.status, clipped.clip_counts, -clipped.clip_counts, network, classic["spline"],
            classic["pocs"])]))
        methods["model"] = scores(network)
        if restorer.normalisation == "peak":
            methods["model (true peak)"] = scores(restore_set(clipped, "model", restorer, true_peak=True))
    for method, estimate in classic.items():
        methods[method] = scores(estimate)
    names = [f"test segment {number}" for number in range(len(clipped.truth))]
    return signal_rows(names, list(clipped.clip_fraction), methods)


def evaluate_records(paths: list[str], clip_fractions: list[float], restorer: ModelRestorer | None,
                     stride: int | None = None, baselines: bool = True, skip_short: bool = False) -> list[dict]:
    """Whole unclipped records, each clipped at every fraction of its peak and restored with
    sliding windows: by the model's methods (with ``restorer``) and, unless ``baselines`` is False,
    the classic ones and the clipped input, each with its band where it gives one. Records are at
    the bank's rate, as :func:`~seisclip.bank.records.read_records` gives them, and are ground
    velocity or acceleration by their names (:func:`~seisclip.bank.records.ground_motion_of`). A
    record shorter than a fixed-length model's window is an error, or with ``skip_short`` left
    out. Returns one row per record, clip fraction and method (:func:`~.metrics.signal_rows`)."""

    methods = method_names(model=restorer is not None, classic=baselines) + ([UNCHANGED] if baselines else [])
    if not methods:
        raise SeisclipError("nothing to evaluate: no model and no baselines")
    restoring = build_methods([method for method in methods if method != UNCHANGED], restorer, stride)
    names, fractions = [], []
    scores: dict[str, list[SignalScore]] = {method: [] for method in methods}
    for name, truth in (record for path in paths for record in read_records(path)):
        if not truth.size:
            raise SeisclipError("record is empty", name)
        if not np.abs(truth).max() > 0:
            raise SeisclipError("record is all zeros: nothing to clip", name)
        if skip_short and restorer and not restorer.fully_convolutional and truth.size < restorer.window:
            continue
        ground_motion = ground_motion_of(name)
        true_psa = signal_psa(truth, ground_motion, DEFAULT_SAMPLING_RATE)
        for fraction in clip_fractions:
            clipped = ClippedSet.clip(truth[None, :], np.array([fraction]))
            record = ClippedRecord(name, clipped.values[0], clipped.status[0], clipped.clip_counts[0], -clipped.clip_counts[0])
            names.append(name)
            fractions.append(fraction)
            restorations = {method: restoring[method].restore(record) for method in restoring}
            restorations[UNCHANGED] = Restoration(record.values, UNCHANGED)
            for method in methods:
                restoration = restorations[method]
                scores[method].append(SignalScore.of(truth, restoration.restored, record.status, record.values,
                                                     restoration.lower, restoration.upper, ground_motion,
                                                     DEFAULT_SAMPLING_RATE, true_psa))
    return signal_rows(names, fractions, scores)


def evaluate_families(inputs: Inputs, restorer: ModelRestorer | None) -> dict[str, list[dict]]:
    """The signals' rows of the model's methods (with ``restorer``) or of the classic ones
    (without), one evaluation per family so that its rows stay apart."""
    return {family: evaluate_records(paths, inputs.clip_fractions, restorer, inputs.stride,
                                     baselines=restorer is None, skip_short=True)
            for family, paths in inputs.families.items()}


def evaluate_all(models: list, inputs: Inputs, cache_dir: str, trust_definition: bool,
                 progress: bool) -> tuple[dict[str, dict[str, list[dict]]], dict[str, list[dict]], dict[str, int | None]]:
    """For ``compare``'s models (:class:`~.compare.ComparedModel`): per model label its rows per
    family, the baselines' rows per family, and per label the network's parameter count where an
    evaluation counted it. Cached evaluations are reused; every model to evaluate is loaded
    first, so that an untrusted one fails before any work."""
    evaluations = {}
    for model in models:
        calibration = model.directory.path / BAND_CALIBRATION_FILE
        key = {**inputs.key(), "kind": "model", **model.files_key(),
               "band_calibration_sha256": sha256_file(calibration) if calibration.is_file() else None}
        evaluations[model.label] = cached_evaluation(cache_dir, model.directory.name, key)
    baselines = cached_evaluation(cache_dir, "baselines", {**inputs.key(), "kind": "baselines"})
    reused = {label: evaluation.read() for label, evaluation in evaluations.items()}
    restorers = {model.label: ModelRestorer.of(model.directory.load(trust_definition), window=inputs.window)
                 for model in models if not reused[model.label]}
    baselines_reused = baselines.read()
    record_files = sum(len(paths) for paths in inputs.families.values())

    def announce(what: str) -> None:
        if progress:
            print(f"compare: evaluating {what} on {record_files} record files at {len(inputs.clip_fractions)} clip levels",
                  file=sys.stderr)

    for model in models:
        evaluation = evaluations[model.label]
        if reused[model.label]:
            print(f"note: {model.label}: reusing the evaluation {evaluation.path} (model and records unchanged, "
                  "by sha256)", file=sys.stderr)
            continue
        announce(model.label)
        restorer = restorers[model.label]
        evaluation.rows, evaluation.network_parameters = evaluate_families(inputs, restorer), restorer.model.count_params()
        evaluation.write()
    if baselines_reused:
        print(f"note: baselines: reusing the evaluation {baselines.path} (records unchanged, by sha256)",
              file=sys.stderr)
    else:
        announce("the baselines")
        baselines.rows = evaluate_families(inputs, None)
        baselines.write()
    return ({label: evaluation.rows for label, evaluation in evaluations.items()}, baselines.rows,
            {label: evaluation.network_parameters for label, evaluation in evaluations.items()})
