"""Training speed of def001 by ``--strategy`` and ``--precision``, on this machine's devices.

    .venv/bin/python bench/bench_train_strategy.py [--segments 2048] [--segment-length 256]
        [--epochs 2] [--batch-size 64] [--warm-up-batches 4]

Makes a synthetic in-memory set of ``--segments`` random segments, clipped at random levels
(``seisclip.sets.pairs.labelled_batch``), then for each configuration — default float32,
mirrored float32, default mixed_float16, default mixed_bfloat16 — creates the strategy with
``seisclip.learn.training.start_distribution``, sets the dtype policy, builds and compiles def001
(``create_and_train_model_def001.py``) in the strategy's scope as ``seisclip.learn.training`` does,
fits ``--warm-up-batches`` batches (graph tracing is not counted), then fits ``--epochs``
epochs over the whole set, timing each. A configuration's speed is that of its fastest epoch,
the one least disturbed by whatever else the machine did. The batches are made before timing,
so the table measures the network and the strategy, not the making of training pairs. Prints
the devices and a Markdown table: training samples per second, and each configuration's ratio
to default float32 measured in the same run. Runs unchanged on a CPU or a GPU machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path

import numpy as np

from seisclip.learn.quiet_tensorflow import keras, tf
from seisclip.learn.distribution import start_distribution
from seisclip.learn.training import restored_mae, restored_mse
from seisclip.sets.pairs import labelled_batch

REPO = Path(__file__).resolve().parent.parent
DEFINITION_SCRIPT = REPO / "create_and_train_model_def001.py"
CONFIGURATIONS = (("default", "float32"), ("mirrored", "float32"), ("default", "mixed_float16"),
                  ("default", "mixed_bfloat16"))
SEED = 1


def load_definition():
    spec = importlib.util.spec_from_file_location("create_and_train_model_def001", DEFINITION_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_pairs(n_segments: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(n, L, 2)`` and packed targets ``(n, L, 2)`` of random-walk segments."""
    rng = np.random.default_rng(SEED)
    segments = np.cumsum(rng.normal(0.0, 100.0, size=(n_segments, length)), axis=1)
    batch = labelled_batch(segments, rng.uniform(0.1, 1.0, size=n_segments))
    return batch.inputs, batch.packed_targets


class EpochTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def time_training(definition, strategy_name: str, precision: str, inputs: np.ndarray, packed: np.ndarray,
                  batch_size: int, epochs: int, warm_up_batches: int) -> tuple[float, list[str], int]:
    """Seconds of the fastest of ``epochs`` epochs after a warm-up; the devices used and the replica count."""
    distribution = start_distribution(strategy_name, precision)
    keras.utils.set_random_seed(SEED)
    keras.mixed_precision.set_global_policy(precision)
    try:
        with distribution.strategy.scope():
            model = definition.build_model(inputs.shape[1])
            model.compile(optimizer=keras.optimizers.Adam(definition.HYPERPARAMETERS["learning_rate"]),
                          loss=definition.loss, metrics=[restored_mse, restored_mae])
        # Full batches and, if the set ends with one, a partial batch: both shapes are traced here.
        warm_up = warm_up_batches * batch_size + len(inputs) % batch_size
        model.fit(batches(inputs[:warm_up], packed[:warm_up], batch_size), epochs=1, verbose=0)
        epoch_times = EpochTimes()
        model.fit(batches(inputs, packed, batch_size), epochs=epochs, verbose=0, callbacks=[epoch_times])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return min(epoch_times.seconds), distribution.devices, distribution.replicas


def batches(inputs: np.ndarray, packed: np.ndarray, batch_size: int) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((inputs, packed)).batch(batch_size).prefetch(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=2048, help="segments in the set (default 2048)")
    parser.add_argument("--segment-length", type=int, default=256, help="samples per segment (default 256)")
    parser.add_argument("--epochs", type=int, default=2,
                        help="timed epochs per configuration, the fastest counted (default 2)")
    parser.add_argument("--batch-size", type=int, default=64, help="global batch size (default 64, def001's)")
    parser.add_argument("--warm-up-batches", type=int, default=4, help="untimed batches first (default 4)")
    args = parser.parse_args()

    inputs, packed = synthetic_pairs(args.segments, args.segment_length)
    definition = load_definition()
    tf.config.experimental.enable_op_determinism()  # as seisclip.learn.training.train sets it
    print(f"def001, L = {args.segment_length}, {args.segments:,} segments, batch size {args.batch_size}, "
          f"fastest of {args.epochs} timed epoch(s); visible devices: "
          f"{', '.join(device.name for device in tf.config.list_logical_devices())}", flush=True)
    results = []
    for strategy_name, precision in CONFIGURATIONS:
        seconds, devices, replicas = time_training(definition, strategy_name, precision, inputs, packed,
                                                   args.batch_size, args.epochs, args.warm_up_batches)
        results.append((strategy_name, precision, replicas, devices, seconds))
        print(f"{strategy_name} {precision}: {args.segments / seconds:,.0f} samples/s ({seconds:.1f} s an epoch)",
              flush=True)

    samples = args.segments
    reference = samples / results[0][4]
    print("\n| strategy | precision | replicas | devices | samples an epoch | seconds (fastest epoch) | samples/s "
          "| vs default float32 |")
    print("|---|---|---:|---|---:|---:|---:|---:|")
    for strategy_name, precision, replicas, devices, seconds in results:
        print(f"| {strategy_name} | {precision} | {replicas} | {', '.join(devices)} | {samples:,} | {seconds:.2f} "
              f"| {samples / seconds:,.0f} | {samples / seconds / reference:.2f}x |")
    print(f"\nparameters: --segments {args.segments} --segment-length {args.segment_length} --epochs {args.epochs} "
          f"--batch-size {args.batch_size} --warm-up-batches {args.warm_up_batches}; "
          f"os.cpu_count() = {os.cpu_count()}; tensorflow {tf.__version__}, keras {keras.__version__}")
    print("training: def001's build_model and loss, Adam, restored_mse/restored_mae metrics, op determinism on, "
          "built and compiled in the strategy's scope under the precision's dtype policy; batches made before timing.")


if __name__ == "__main__":
    main()
