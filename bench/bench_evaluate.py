"""What ``seisclip evaluate`` spends on each record: def004's prediction and A-SPADE, each against
the way seisclip did it before, on the same records in the same run.

    .venv/bin/python bench/bench_evaluate.py [--model models/set00002_1024_20000_def004]
        [--records 30] [--clip-fractions 0.25 0.55 0.85]

``evaluate`` restores every record at every clip level on its own, as a user's record comes: the
demo's benchmark is 30 records at 9 levels, 270 calls of each method. The records here are
generated traces of 2,000 to 40,000 samples (seeded), each clipped at ``--clip-fractions`` of its peak.

* **def004** (``make demo``'s, or ``--model``): ``ModelRestorer`` predicting batch by batch with
  ``Model.predict_on_batch``, against ``Model.predict``, which builds a ``tf.data`` pipeline on
  every call.
* **A-SPADE** (``restore_aspade``, its self-check included): ``declip_windows`` computing each
  iteration's spectrum once and keeping the unconverged frames' state as arrays of their own,
  against the loop that took the spectrum twice an iteration and gathered the unconverged
  frames from the whole array at every step.

Each path runs once to warm up, then is timed; the table gives seconds over all the calls, the
ratio to the former path, and the largest difference between the two paths' restorations.
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np

import seisclip.restore.aspade as aspade
from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.learn.model_dir import ModelDirectory
from seisclip.evaluate.metrics import ClippedSet
from seisclip.restore.records import ClippedRecord
from seisclip.restore.inference import ModelRestorer
from seisclip.restore.registry import build_method
from seisclip.sets.channels import window_inputs

SEED = 11


class PredictOnEveryCall(ModelRestorer):
    """The former path: ``Model.predict`` on every call."""

    def _predict(self, windows, status, clip_counts, scale):
        inputs = window_inputs(windows, status, clip_counts, scale, self.sbrl, self.channels)
        return self.model.predict(inputs, batch_size=self.batch_size, verbose=0) * scale[:, None]


def declip_windows_gathering(frames, status, clip_high, clip_low):
    """The former A-SPADE loop: two spectra an iteration, the active rows gathered each time."""
    frames = np.asarray(frames, dtype=np.float64)
    high = np.asarray(clip_high, dtype=np.float64).reshape(-1, 1)
    low = np.asarray(clip_low, dtype=np.float64).reshape(-1, 1)
    operator = aspade._TightDFT(frames.shape[-1])
    tolerance = aspade.TOLERANCE * np.maximum(high, -low)[:, 0] * np.sqrt(frames.shape[-1])
    estimate = frames.copy()
    dual = np.zeros((len(frames), operator.size // 2 + 1), dtype=complex)
    active = np.arange(len(frames))
    for iteration in range(1, aspade.MAX_ITERATIONS + 1):
        coefficients = operator.analysis(estimate[active])
        sparse = aspade._keep_largest(coefficients + dual[active], aspade.SPARSITY_STEP * iteration)
        estimate[active] = aspade._consistent(operator.synthesis(sparse - dual[active]), frames[active],
                                              status[active], high[active], low[active])
        residual = operator.analysis(estimate[active]) - sparse
        dual[active] += residual
        converged = np.linalg.norm(residual, axis=-1) <= tolerance[active]
        active = active[~converged]
        if not active.size:
            break
    return estimate


def clipped_records(count: int, levels: list[float]) -> list[ClippedRecord]:
    rng = np.random.default_rng(SEED)
    records = []
    for number in range(count):
        truth = synthetic_seismogram(np.random.default_rng([SEED, number]), int(rng.integers(2_000, 40_000)))
        for level in levels:
            clipped = ClippedSet.clip(truth.astype(np.float64)[None, :], np.array([level]))
            records.append(ClippedRecord(f"record {number} at {level}", clipped.values[0], clipped.status[0],
                                         clipped.clip_counts[0], -clipped.clip_counts[0]))
    return records


def timed(restore, records: list[ClippedRecord]) -> tuple[float, list[np.ndarray]]:
    restore(records[0])
    start = time.perf_counter()
    restored = [restore(record) for record in records]
    return time.perf_counter() - start, restored


def largest_difference(first: list[np.ndarray], second: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(a - b))) for a, b in zip(first, second))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/set00002_1024_20000_def004")
    parser.add_argument("--records", type=int, default=30)
    parser.add_argument("--clip-fractions", "--clip-levels", dest="clip_fractions", nargs="+", type=float,
                        default=[0.25, 0.55, 0.85])
    args = parser.parse_args()
    records = clipped_records(args.records, args.clip_fractions)
    loaded = ModelDirectory.open(args.model).load()
    batch_by_batch, every_call = ModelRestorer.of(loaded), PredictOnEveryCall.of(loaded)

    rows = []
    former_seconds, former = timed(lambda record: build_method("model", every_call).restore(record).restored, records)
    seconds, current = timed(lambda record: build_method("model", batch_by_batch).restore(record).restored, records)
    rows.append((loaded.directory.name, "Model.predict on every call",
                 former_seconds, "predict_on_batch, batch by batch", seconds, largest_difference(former, current)))
    aspade_restore = lambda record: aspade.restore_aspade(record.values, record.status, record.clip_high,  # noqa: E731
                                                          record.clip_low)
    with mock.patch.object(aspade, "declip_windows", declip_windows_gathering):
        former_seconds, former = timed(aspade_restore, records)
    seconds, current = timed(aspade_restore, records)
    rows.append(("A-SPADE", "two spectra an iteration, rows gathered", former_seconds,
                 "one spectrum, unconverged rows kept apart", seconds, largest_difference(former, current)))

    samples = sum(record.values.size for record in records)
    print(f"{len(records)} calls ({args.records} generated records × {len(args.clip_fractions)} clip levels, "
          f"{samples:,} samples in all), one record a call as evaluate restores them:\n")
    print("| method | former path | s | now | s | ratio to former | largest difference (counts) |")
    print("|---|---|---:|---|---:|---:|---:|")
    for method, former_path, former_seconds, path, seconds, difference in rows:
        print(f"| {method} | {former_path} | {former_seconds:.1f} | {path} | {seconds:.1f} | "
              f"{seconds / former_seconds:.2f} | {difference:.3g} |")


if __name__ == "__main__":
    main()
