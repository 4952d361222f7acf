"""``seisclip evaluate``: the model against the classic baselines, per clip-level bin.

Unclipped signals are clipped artificially at known levels, restored by each method, and
compared with the truth. Per clip-level bin (0.0–0.1, …, 0.9–1.0, by the clip level as a
fraction of the signal's peak):

* ``rms_clipped``: the root mean square of the error on the clipped samples, each error divided
  by its own signal's true peak, pooled over every clipped sample of the bin:
  ``sqrt(mean_{i,j clipped} ((restored_ij - true_ij) / peak_i)^2)``;
* ``relative_l2``: per signal, ``||restored - true||_2 / ||true||_2`` over the whole window
  (unclipped samples are exact, so only clipped ones contribute), averaged over the bin's signals;
* ``delta_sdr_db``: per signal, the SDR of the restoration minus the SDR of the clipped input,
  ``SDR = 20 log10(||true|| / ||true - estimate||)``, averaged over the bin's signals (the audio
  declipping literature's measure: +6 dB halves the error);
* ``worse``: how many of the bin's signals the method made worse than the clipped input.

``clipped input`` (nothing restored) is listed as the bar every method must clear.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bank.ascii import AsciiFolder
from ..bank.hdf5 import BankSource
from ..errors import SeisclipError
from ..fsio import atomic_directory, output_lock, read_input, refuse_existing, sha256_file
from ..learn.model_dir import ModelDirectory
from ..learn.models import open_model
from ..provenance import dump_json, run_record
from ..sets.index_file import IndexFile
from ..sets.labels import clip_signal
from ..sets.segments import load_segments
from .aspade import declip_windows
from .baselines import enforce_clip_consistency, self_checked
from .hybrid import combine_by_smoothness
from .inference import ModelRestorer
from .records import ClippedRecord
from .registry import build_method, build_methods, method_names

#: Clip-level bins of 0.1; a bin without clipped samples gets no row.
BIN_EDGES = np.round(np.linspace(0.0, 1.0, 11), 1)
UNCHANGED = "clipped input"
#: Records are clipped at these fractions of their peak unless told otherwise: one per bin from 0.1 up.
DEFAULT_CLIP_LEVELS = tuple(round(0.15 + 0.1 * k, 2) for k in range(9))


def checked_clip_levels(clip_levels: list[float] | None) -> list[float]:
    """The clip levels asked for (DEFAULT_CLIP_LEVELS if none), each once, all in (0, 1]."""
    levels = list(dict.fromkeys(clip_levels or DEFAULT_CLIP_LEVELS))
    if not all(0 < level <= 1 for level in levels):
        raise SeisclipError(f"clip levels must be in (0, 1], got {levels}")
    return levels


@dataclass
class ClippedSet:
    """Unclipped signals ``truth`` ``(N, L)`` and their artificially clipped versions."""

    truth: np.ndarray
    clip_fraction: np.ndarray
    values: np.ndarray
    status: np.ndarray
    clip_counts: np.ndarray

    @classmethod
    def clip(cls, truth: np.ndarray, clip_fraction: np.ndarray) -> "ClippedSet":
        truth = np.asarray(truth, dtype=np.float64)
        clip_fraction = np.asarray(clip_fraction, dtype=np.float64)
        level = clip_fraction * np.abs(truth).max(axis=1)
        values, status = clip_signal(truth, level)
        return cls(truth, clip_fraction, values, status, level)

    @property
    def peak(self) -> np.ndarray:
        return np.abs(self.truth).max(axis=1)


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


#: An error this far below the signal counts as none: SDR is capped at 240 dB.
_SDR_FLOOR = 1e-12


def sdr_db(true: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio ``20 log10(||true|| / ||true - estimate||)`` in dB."""
    signal = float(np.linalg.norm(true))
    return 20.0 * np.log10(signal / max(float(np.linalg.norm(np.asarray(estimate) - true)), signal * _SDR_FLOOR))


@dataclass
class SignalScore:
    """One restored signal against its truth: the squared errors on its clipped samples (each
    divided by the true peak), its relative L2 error, ΔSDR, and whether the clipped input was closer."""

    squared_errors: np.ndarray
    relative_l2: float
    delta_sdr_db: float
    worse: bool

    @classmethod
    def of(cls, true: np.ndarray, estimate: np.ndarray, status: np.ndarray, unrestored: np.ndarray) -> "SignalScore":
        estimate = np.asarray(estimate)
        error = (estimate - true) / np.abs(true).max()
        return cls(squared_errors=error[np.asarray(status) != 0] ** 2,
                   relative_l2=float(np.linalg.norm(estimate - true) / np.linalg.norm(true)),
                   delta_sdr_db=sdr_db(true, estimate) - sdr_db(true, unrestored),
                   worse=bool(np.linalg.norm(estimate - true) > np.linalg.norm(np.asarray(unrestored) - true)))

    @property
    def rms_clipped(self) -> float:
        return float(np.sqrt(self.squared_errors.mean())) if self.squared_errors.size else 0.0


def bin_metrics(truth, restored, status, clip_fraction: np.ndarray, clipped) -> list[dict]:
    """One row per clip-level bin that holds clipped samples; the signals (``truth``, their
    ``restored`` and ``clipped`` versions) may differ in length."""
    return bin_rows([SignalScore.of(*signal) for signal in zip(truth, restored, status, clipped)], clip_fraction)


def bin_rows(scores: list[SignalScore], clip_fraction: np.ndarray) -> list[dict]:
    """:func:`bin_metrics` from the signals' scores."""
    clip_fraction = np.asarray(clip_fraction)
    rows = []
    for low, high in zip(BIN_EDGES[:-1], BIN_EDGES[1:]):
        last = high == BIN_EDGES[-1]
        inside = np.flatnonzero((clip_fraction >= low) & ((clip_fraction <= high) if last else (clip_fraction < high)))
        pooled = np.concatenate([scores[i].squared_errors for i in inside]) if inside.size else np.zeros(0)
        if not pooled.size:
            continue
        rows.append({
            "bin": f"{low:.1f}-{high:.1f}",
            "signals": int(inside.size),
            "clipped_samples": int(pooled.size),
            "rms_clipped": float(np.sqrt(pooled.mean())),
            # Per signal, then the median over the bin's signals that have clipped samples: no
            # single signal with many clipped samples decides it.
            "median_rms_clipped": float(np.median([scores[i].rms_clipped for i in inside
                                                   if scores[i].squared_errors.size])),
            "relative_l2": float(np.mean([scores[i].relative_l2 for i in inside])),
            "delta_sdr_db": float(np.mean([scores[i].delta_sdr_db for i in inside])),
            "worse": int(sum(scores[i].worse for i in inside)),
        })
    return rows


def evaluate(clipped: ClippedSet, restorer: ModelRestorer | None) -> dict[str, list[dict]]:
    """Metrics per bin for every method: the hybrid and the model's network alone (and, for a
    peak-normalised model, the network given the true peak: an upper bound no real record allows),
    spline, POCS, A-SPADE and the clipped input."""
    def metrics(restored: np.ndarray) -> list[dict]:
        return bin_metrics(clipped.truth, restored, clipped.status, clipped.clip_fraction, clipped.values)

    classic = {method: restore_set(clipped, method) for method in (*method_names(model=False), UNCHANGED)}
    methods: dict[str, list[dict]] = {}
    if restorer is not None:
        network = restore_set(clipped, "model", restorer)
        methods["hybrid"] = metrics(np.array([combine_by_smoothness(*signal).restored for signal in zip(
            clipped.values, clipped.status, clipped.clip_counts, -clipped.clip_counts, network, classic["spline"],
            classic["pocs"])]))
        methods["model"] = metrics(network)
        if restorer.normalisation == "peak":
            methods["model (true peak)"] = metrics(restore_set(clipped, "model", restorer, true_peak=True))
    for method, estimate in classic.items():
        methods[method] = metrics(estimate)
    return methods


def markdown_table(methods: dict[str, list[dict]]) -> str:
    """Per bin: each method's median and pooled rms_clipped (the best in bold), its ΔSDR and the
    signals it made worse (relative_l2 is in the CSV and JSON)."""
    names = list(methods)
    bins = [row["bin"] for row in methods[names[0]]]
    header = (["clip level", "signals"] + [f"{name} median rms_clipped" for name in names]
              + [f"{name} rms_clipped" for name in names]
              + [f"{name} ΔSDR dB" for name in names] + [f"{name} worse" for name in names])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for position, bin_name in enumerate(bins):
        rows = [methods[name][position] for name in names]
        cells = [bin_name, str(rows[0]["signals"])]
        for metric in ("median_rms_clipped", "rms_clipped"):
            best = min(row[metric] for row in rows)
            cells += [f"**{row[metric]:.4f}**" if row[metric] == best else f"{row[metric]:.4f}" for row in rows]
        cells += [f"{row['delta_sdr_db']:+.1f}" for row in rows]
        cells += [str(row["worse"]) for row in rows]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def csv_table(methods: dict[str, list[dict]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["method", "bin", "signals", "clipped_samples", "median_rms_clipped", "rms_clipped", "relative_l2",
                     "delta_sdr_db", "worse"])
    for name, rows in methods.items():
        for row in rows:
            writer.writerow([name, row["bin"], row["signals"], row["clipped_samples"],
                             f"{row['median_rms_clipped']:.6g}", f"{row['rms_clipped']:.6g}",
                             f"{row['relative_l2']:.6g}", f"{row['delta_sdr_db']:.6g}", row["worse"]])
    return out.getvalue().encode()


def plot_metrics(methods: dict[str, list[dict]], title: str) -> bytes:
    # The Figure API: no pyplot state, and the caller's backend is left as it is.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(17, 4.5))
    axes = figure.subplots(1, 3)
    for axis, metric in zip(axes, ("median_rms_clipped", "rms_clipped", "delta_sdr_db")):
        for name, rows in methods.items():
            centres = [float(row["bin"].split("-")[0]) + 0.05 for row in rows]
            axis.plot(centres, [row[metric] for row in rows], "o-", label=name)
        axis.set(xlabel="clip level (fraction of the true peak)", ylabel=metric, title=metric,
                 yscale="linear" if metric == "delta_sdr_db" else "log")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return titled_png(figure, title)


def titled_png(figure, title: str) -> bytes:
    """The figure with its title, laid out and saved as PNG bytes."""
    figure.suptitle(title)
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=100)
    return image.getvalue()


def model_test_set(directory: ModelDirectory, progress: bool = True) -> ClippedSet:
    """The model's held-out test segments, read again from the ASCII files or the HDF5 bank it
    was trained from, and clipped at their levels."""
    rows = directory.segments_of("test")
    if not rows:
        raise SeisclipError("model manifest lists no test segments", directory.manifest_path)
    folder = directory.working_directory
    index = IndexFile(
        path=str(directory.manifest_path), sha256=directory.manifest.index_sha256,
        line_numbers=np.array([row["index_line"] for row in rows]),
        istart=np.array([row["istart"] for row in rows]),
        clip_fraction=np.array([row["rscale"] for row in rows], dtype=np.float64),
        paths=[os.path.join(folder, row["path"]) for row in rows],
    )
    source = AsciiFolder()
    if directory.bank["kind"] == "hdf5":
        path = os.path.join(folder, directory.bank["path"])
        if not os.path.isfile(path):
            raise SeisclipError("HDF5 bank the model was trained from not found", path)
        if sha256_file(path) != directory.bank["sha256"]:
            raise SeisclipError("HDF5 bank changed since the model was trained (sha256 differs); "
                                "run `seisclip trace` on the model", path)
        source = BankSource(path)
    segments = load_segments(index, directory.segment_length, min_peak=directory.parameters.min_peak_counts, progress=progress,
                             source=source)
    if segments.skip_reasons:
        raise SeisclipError(f"test segments can no longer be read as in training ({segments.summary()}); "
                            "run `seisclip trace` on the model", directory.path)
    return ClippedSet.clip(segments.segments, index.clip_fraction[segments.used])


def read_records(path: str) -> list[tuple[str, np.ndarray]]:
    """The unclipped records a file holds, named: a text file is an ASCII waveform (one sample per
    line); an HDF5 bank gives every trace; anything else ``seisclip bank import`` reads (miniSEED,
    SAC, …, CREDIT-X1local HDF5) gives each contiguous trace resampled to 40 Hz as import does,
    clipped traces left out."""
    import h5py

    from ..bank.ascii import parse_waveform
    from ..bank.hdf5 import FORMAT, Bank
    from ..bank.importing import read_all
    from ..bank.settings import ImportSettings

    if not os.path.isfile(path):
        raise SeisclipError("record file not found", path)
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as file:
            is_bank = file.attrs.get("format") == FORMAT
        if is_bank:
            with Bank(path) as bank:
                return [(f"{path}/{name}", bank.trace_values(number).astype(np.float64))
                        for number, name in enumerate(bank.names)]
    else:
        raw = read_input(path, "record")
        if b"\0" not in raw[:4096]:   # text is the ASCII format; miniSEED and SAC are binary
            return [(path, parse_waveform(raw, path))]
    report = read_all([path], ImportSettings(), progress=False)
    return [(f"{path}#{trace.raw.seed_id}.{trace.starttime:%Y%m%dT%H%M%S}", trace.values.astype(np.float64))
            for trace in report.traces]


def evaluate_records(paths: list[str], clip_levels: list[float], restorer: ModelRestorer | None,
                     stride: int | None = None, baselines: bool = True,
                     skip_short: bool = False) -> tuple[dict[str, list[dict]], list[dict]]:
    """Whole unclipped records, each clipped at every level and restored with sliding windows:
    by the model's methods (with ``restorer``) and, unless ``baselines`` is False, the classic ones
    and the clipped input. A record shorter than a fixed-length model's window is an error, or
    with ``skip_short`` left out. Returns the rows per bin of every method, and one row per record,
    level and method (:func:`record_rows`)."""

    methods = method_names(model=restorer is not None, classic=baselines) + ([UNCHANGED] if baselines else [])
    if not methods:
        raise SeisclipError("nothing to evaluate: no model and no baselines")
    restoring = build_methods([method for method in methods if method != UNCHANGED], restorer, stride)
    names, truths, statuses, levels, inputs = [], [], [], [], []
    restored: dict[str, list[np.ndarray]] = {method: [] for method in methods}
    for name, truth in (record for path in paths for record in read_records(path)):
        if not truth.size:
            raise SeisclipError("record is empty", name)
        if not np.abs(truth).max() > 0:
            raise SeisclipError("record is all zeros: nothing to clip", name)
        if skip_short and restorer and not restorer.fully_convolutional and truth.size < restorer.window:
            continue
        for fraction in clip_levels:
            clipped = ClippedSet.clip(truth[None, :], np.array([fraction]))
            record = ClippedRecord(name, clipped.values[0], clipped.status[0], clipped.clip_counts[0], -clipped.clip_counts[0])
            names.append(name)
            truths.append(truth)
            statuses.append(record.status)
            levels.append(fraction)
            inputs.append(record.values)
            estimates = {method: restoring[method].restore(record).restored for method in restoring}
            estimates[UNCHANGED] = record.values
            for method in methods:
                restored[method].append(estimates[method])
    scores = {method: [SignalScore.of(*signal) for signal in zip(truths, restored[method], statuses, inputs)]
              for method in methods}
    return ({method: bin_rows(scores[method], np.array(levels)) for method in methods},
            record_rows(names, levels, scores))


def record_rows(names: list[str], levels: list[float], scores: dict[str, list[SignalScore]]) -> list[dict]:
    """One row per record, clip level and method, so that a user can see which records a method
    made worse and by how much."""
    return [{"record": name, "clip_level": level, "clipped_samples": method_scores[i].squared_errors.size,
             "method": method, "rms_clipped": method_scores[i].rms_clipped,
             "delta_sdr_db": method_scores[i].delta_sdr_db, "worse": method_scores[i].worse}
            for i, (name, level) in enumerate(zip(names, levels))
            for method, method_scores in scores.items()]


def records_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["record", "clip_level", "clipped_samples", "method", "rms_clipped", "delta_sdr_db", "worse"])
    for row in rows:
        writer.writerow([row["record"], f"{row['clip_level']:g}", row["clipped_samples"], row["method"],
                         f"{row['rms_clipped']:.6g}", f"{row['delta_sdr_db']:.6g}", int(row["worse"])])
    return out.getvalue().encode()


def run_evaluate(model_dir: str | None = None, records: list[str] | None = None, clip_levels: list[float] | None = None,
                 out_dir: str | None = None, stride: int | None = None, window: int | None = None,
                 self_check: bool = False, overwrite: bool = False, progress: bool = True,
                 trust_definition: bool = False) -> dict[str, list[dict]]:
    """Evaluate on the model's test split (default) or on ``records``; write evaluation.md, .csv,
    .png and .json to ``out_dir`` and print the table."""

    if model_dir is None and not records:
        raise SeisclipError("nothing to evaluate: give --model (its test split) and/or --records")
    name = Path(model_dir).name if model_dir else "baselines"
    source = "records" if records else "test split"
    out_dir = out_dir or os.path.join("evaluations", f"{name}_{'records' if records else 'test'}")
    if not overwrite:
        refuse_existing(out_dir, "evaluation folder")
    restorer = None
    if model_dir:
        directory = open_model(model_dir)
        trained = None if records else directory.training_record("evaluate on its test split")
        restorer = ModelRestorer.of(directory.load(trust_definition), window=window, self_check=self_check)
    if records:
        levels = checked_clip_levels(clip_levels)
        methods, per_record = evaluate_records(records, levels, restorer, stride)
    else:
        methods, per_record = evaluate(model_test_set(trained, progress), restorer), None

    table = markdown_table(methods)
    title = f"{name}: {source}"
    Path(out_dir).parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out_dir, "evaluation folder"), atomic_directory(out_dir, overwrite=overwrite) as work:
        (work / "evaluation.md").write_text(f"# {title}\n\n{table}")
        (work / "evaluation.csv").write_bytes(csv_table(methods))
        (work / "evaluation.png").write_bytes(plot_metrics(methods, title))
        if per_record is not None:
            (work / "records.csv").write_bytes(records_csv(per_record))
        (work / "evaluation.json").write_bytes(dump_json({
            "kind": "seisclip evaluation",
            "model_dir": model_dir,
            "model_manifest_sha256": (sha256_file(directory.manifest_path)
                                      if model_dir and directory.manifest_path else None),
            "source": source,
            "records": records,
            "clip_levels": clip_levels if records else None,
            "metrics": methods,
            **run_record("numpy"),
        }))
    print(f"{title}\n{table}", end="")
    written = "evaluation.md, evaluation.csv, evaluation.png, evaluation.json" + (", records.csv" if per_record is not None else "")
    print(f"-> {out_dir}/{written}", file=sys.stderr)
    return methods
