"""The reference definition (def004): restoring a long record, and training throughput.

    .venv/bin/python bench/bench_reference.py [--model models/set00002_1024_20000_def004]
        [--samples 100000] [--clipped-fraction 0.02] [--train-windows 2048] [--length 1024]

Restoration: one record of ``--samples`` samples made as ``bench_restore.py`` makes it (generated
traces end to end, clipped where ``--clipped-fraction`` of the samples are clipped), restored by
def004 through ``ModelRestorer`` (windows of 4,096, the default for a fully convolutional model)
and by each classic method on the same record. ``--model`` times a trained def004; without it an
untrained one, seeded (the weights do not change the time). Each timing follows a warm-up call.

Training: def004 on ``--train-windows`` windows of ``--length`` samples cut from generated
traces, one epoch after a warm-up epoch, through seisclip's own path (``SegmentPairs`` making
clipped, labelled and augmented batches in ``training_dataset``'s ``tf.data`` pipeline, fed to
``model.fit`` with the definition's loss and optimizer), against a bare compiled training step
of the same network on the same batches already in memory as tensors (the fastest the network
trains here). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bench_restore import make_record
from seisclip.bank.synthetic import synthetic_seismogram
from seisclip.learn.manifest import ModelManifest
from seisclip.learn.model_dir import ModelDirectory
from seisclip.learn.pipeline import training_dataset
from seisclip.learn.quiet_tensorflow import keras, tf
from seisclip.restore.inference import ModelRestorer
from seisclip.restore.registry import build_method, method_names
from seisclip.sets.channels import resolve
from seisclip.sets.pairs import Representation, SegmentPairs, batch_count, epoch_order, in_batches

REPO = Path(__file__).resolve().parent.parent
SEED = 7
REFERENCE = "def004"


def load_reference():
    spec = importlib.util.spec_from_file_location(REFERENCE, REPO / f"create_and_train_model_{REFERENCE}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(definition, length: int):
    hp = definition.HYPERPARAMETERS
    keras.utils.set_random_seed(SEED)
    return definition.build_model(length, hp["widths"], hp["kernel_size"], len(definition.INPUTS))


def restorer(definition, model_dir: str | None, length: int) -> ModelRestorer:
    if model_dir:
        return ModelRestorer.of(ModelDirectory.open(model_dir).load())
    manifest = ModelManifest.untrained(f"{REFERENCE} (untrained)",
                                       {"segment_length": length, "sbrl": False, "normalisation": "clip",
                                        "inputs": list(definition.INPUTS)})
    return ModelRestorer(build(definition, length), ModelDirectory(REPO, manifest))


def timed(function) -> float:
    function()
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def training_windows(n: int, length: int) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    windows = []
    trace_number = 0
    while len(windows) < n:
        trace = synthetic_seismogram(np.random.default_rng([SEED, trace_number]), 8 * length).astype(np.float64)
        trace_number += 1
        for start in rng.integers(0, trace.size - length, 8):
            window = trace[start:start + length]
            if np.abs(window).max() >= 50:
                windows.append(window)
    return np.stack(windows[:n])


def project_pipeline_seconds(definition, pairs: SegmentPairs, positions: np.ndarray, batch_size: int) -> float:
    """One epoch through training_dataset and model.fit, after a warm-up epoch."""
    model = build(definition, pairs.segment_length)
    hp = definition.HYPERPARAMETERS
    steps = batch_count(len(positions), batch_size)
    model.compile(optimizer=definition.optimizer(hp["learning_rate"], 2, steps), loss=definition.loss)
    dataset = training_dataset(pairs, positions, batch_size, SEED, epochs=2)
    times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.started)

    model.fit(dataset, steps_per_epoch=steps, epochs=2, shuffle=False, verbose=0, callbacks=[EpochTimer()])
    return times[1]


def bare_step_seconds(definition, pairs: SegmentPairs, positions: np.ndarray, batch_size: int) -> float:
    """The same batches held as tensors, one compiled step each, after a warm-up pass."""
    model = build(definition, pairs.segment_length)
    hp = definition.HYPERPARAMETERS
    optimizer = definition.optimizer(hp["learning_rate"], 2, batch_count(len(positions), batch_size))
    batches = []
    for number, batch_positions in enumerate(in_batches(epoch_order(positions, SEED, 0), batch_size)):
        batch = pairs.pairs(batch_positions, (0, number))
        batches.append((tf.constant(batch.inputs), tf.constant(batch.packed_targets)))

    @tf.function
    def step(inputs, targets):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(definition.loss(targets, model(inputs, training=True)))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    def epoch():
        for inputs, targets in batches:
            step(inputs, targets)
        float(step(*batches[0]))   # wait for the last step

    return timed(epoch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a trained def004 model directory (default: untrained)")
    parser.add_argument("--samples", type=int, default=100_000, help="samples in the restored record (default 100000)")
    parser.add_argument("--clipped-fraction", type=float, default=0.02, help="fraction clipped (default 0.02)")
    parser.add_argument("--train-windows", type=int, default=2048, help="training windows (default 2048)")
    parser.add_argument("--length", type=int, default=1024, help="training window length (default 1024)")
    args = parser.parse_args()
    definition = load_reference()

    record = make_record(args.samples, args.clipped_fraction, np.random.default_rng(SEED))
    model_restorer = restorer(definition, args.model, args.length)
    rows = [f"| {REFERENCE} ({'trained' if args.model else 'untrained'}), windows of {model_restorer.window} | "
            f"{timed(lambda: model_restorer.restore(record)):.3f} s |"]
    for name in method_names(model=False):
        seconds = timed(lambda: build_method(name).restore(record))
        rows.append(f"| {name} | {seconds:.3f} s |")
    print(f"Restoring {args.samples:,} samples, {int(record.clipped.sum()):,} clipped "
          f"({record.clipped.mean():.1%}):\n\n| method | time |\n|---|---:|")
    print("\n".join(rows))

    windows = training_windows(args.train_windows, args.length)
    rscale = np.random.default_rng(SEED).uniform(0.1, 1.0, len(windows))
    segments = SimpleNamespace(segment_length=args.length, index=SimpleNamespace(clip_fraction=rscale),
                               used=np.arange(len(windows)))
    representation = Representation(normalisation=definition.NORMALISATION, channels=tuple(resolve(definition.INPUTS)),
                                    augmentation=tuple(definition.AUGMENTATION), seed=SEED)
    pairs = SegmentPairs(segments, lambda positions: windows[positions], representation)
    positions = np.arange(len(windows))
    batch_size = definition.HYPERPARAMETERS["batch_size"]
    project = project_pipeline_seconds(definition, pairs, positions, batch_size)
    bare = bare_step_seconds(definition, pairs, positions, batch_size)
    print(f"\nTraining {REFERENCE} on {len(windows):,} windows of {args.length}, batch {batch_size}, one epoch:\n\n"
          "| path | windows/s | ratio to bare |\n|---|---:|---:|\n"
          f"| bare compiled step, batches in memory | {len(windows) / bare:.0f} | 1.00 |\n"
          f"| seisclip (pairs, tf.data, model.fit) | {len(windows) / project:.0f} | {bare / project:.2f} |")


if __name__ == "__main__":
    main()
