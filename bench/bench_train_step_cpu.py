"""The CPU cost of one def004 training step, by oneDNN and TensorFlow's CPU allocator.

    .venv/bin/python bench/bench_train_step_cpu.py [--steps 24] [--warm-up-steps 4] [--repeats 2]

Each configuration runs in a fresh Python process, because TensorFlow reads both settings once,
when it loads:

* ``oneDNN off``: ``TF_ENABLE_ONEDNN_OPTS=0``, what TensorFlow does by itself on CPUs without
  VNNI, AVX-512 BF16 or AMX (the baseline);
* ``oneDNN off, BFC allocator``: and ``TF_CPU_ALLOCATOR_USE_BFC=true``. Without oneDNN, TensorFlow's
  default CPU allocator takes each large tensor from ``malloc`` and gives it back, so every step
  maps fresh pages and faults on them; the BFC allocator keeps and reuses them;
* ``oneDNN on``: ``TF_ENABLE_ONEDNN_OPTS=1``, which seisclip sets unless the user set it
  (``seisclip/learn/quiet_tensorflow.py``);
* ``oneDNN on, BFC allocator``: both.

In each process def004 (``create_and_train_model_def004.py``: its network, loss and optimizer) is
fitted on batches of 32 random-walk segments of 1,024 samples clipped at random levels
(``seisclip.sets.pairs.labelled_batch``), fed through ``tf.data.Dataset.from_generator`` as
``seisclip.learn.pipeline`` feeds training, for ``--warm-up-steps`` untimed steps and then
``--steps`` timed ones. Each configuration runs ``--repeats`` times, alternating, and keeps its
fastest run: what else the machine did only ever slows a run. Prints a Markdown table: the
median milliseconds per step, minor page faults and system CPU seconds per step, the process's
peak resident memory, and the ratio of the step time to the baseline's measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIGURATIONS = {
    "oneDNN off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "oneDNN off, BFC allocator": {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPU_ALLOCATOR_USE_BFC": "true"},
    "oneDNN on": {"TF_ENABLE_ONEDNN_OPTS": "1"},
    "oneDNN on, BFC allocator": {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPU_ALLOCATOR_USE_BFC": "true"},
}
SETTINGS = ("TF_ENABLE_ONEDNN_OPTS", "TF_CPU_ALLOCATOR_USE_BFC")
BATCH_SIZE, SEGMENT_LENGTH, SEED = 32, 1024, 1


def measure(steps: int, warm_up_steps: int) -> dict:
    """In this process: fit def004 and return its median step time, page faults and system time."""
    import importlib.util

    import numpy as np

    from seisclip.learn.quiet_tensorflow import keras, tf
    from seisclip.sets.pairs import labelled_batch

    spec = importlib.util.spec_from_file_location("def004", REPO / "create_and_train_model_def004.py")
    definition = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(definition)
    settings = dict(definition.HYPERPARAMETERS)
    model = definition.build_model(SEGMENT_LENGTH, settings["widths"], settings["kernel_size"], len(definition.INPUTS))
    model.compile(optimizer=definition.optimizer(settings["learning_rate"], 1, warm_up_steps + steps),
                  loss=definition.loss)

    rng = np.random.default_rng(SEED)
    segments = np.cumsum(rng.normal(0.0, 100.0, size=(8 * BATCH_SIZE, SEGMENT_LENGTH)), axis=1)
    batch = labelled_batch(segments, rng.uniform(0.1, 1.0, size=len(segments)))

    def batches():
        for step in range(warm_up_steps + steps):
            rows = slice(step % 8 * BATCH_SIZE, (step % 8 + 1) * BATCH_SIZE)
            yield batch.inputs[rows], batch.packed_targets[rows]

    spec_of = lambda array: tf.TensorSpec(shape=(None, *array.shape[1:]), dtype=tf.float32)  # noqa: E731
    dataset = tf.data.Dataset.from_generator(batches, output_signature=(spec_of(batch.inputs),
                                                                        spec_of(batch.packed_targets))).prefetch(2)

    class StepCosts(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows: list[tuple[float, int, float]] = []

        def on_train_batch_begin(self, step, logs=None):
            usage = resource.getrusage(resource.RUSAGE_SELF)
            self.start = (time.perf_counter(), usage.ru_minflt, usage.ru_stime)

        def on_train_batch_end(self, step, logs=None):
            usage = resource.getrusage(resource.RUSAGE_SELF)
            if step >= warm_up_steps:
                wall, faults, system = self.start
                self.rows.append((time.perf_counter() - wall, usage.ru_minflt - faults, usage.ru_stime - system))

    costs = StepCosts()
    model.fit(dataset, steps_per_epoch=warm_up_steps + steps, epochs=1, verbose=0, callbacks=[costs])
    seconds, faults, system = zip(*costs.rows)
    return {"ms_per_step": 1000 * statistics.median(seconds), "faults_per_step": statistics.median(faults),
            "system_s_per_step": statistics.mean(system),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_configuration(variables: dict, steps: int, warm_up_steps: int) -> dict:
    environment = {name: value for name, value in os.environ.items() if name not in SETTINGS} | variables
    done = subprocess.run([sys.executable, __file__, "--measure", "--steps", str(steps),
                           "--warm-up-steps", str(warm_up_steps)],
                          env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench_train_step_cpu.py: a configuration {variables} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--warm-up-steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.steps, args.warm_up_steps)))
        return

    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for name, variables in CONFIGURATIONS.items():
            result = run_configuration(variables, args.steps, args.warm_up_steps)
            if name not in best or result["ms_per_step"] < best[name]["ms_per_step"]:
                best[name] = result
    baseline = best["oneDNN off"]["ms_per_step"]
    print(f"def004, batches of {BATCH_SIZE} × {SEGMENT_LENGTH} samples, {os.cpu_count()} CPUs; "
          f"median of {args.steps} steps, fastest of {args.repeats} runs\n")
    print("| configuration | ms per step | minor page faults per step | system s per step | peak RSS (MiB) "
          "| step time ÷ baseline |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, result in best.items():
        print(f"| {name} | {result['ms_per_step']:.0f} | {result['faults_per_step']:.0f} | "
              f"{result['system_s_per_step']:.2f} | {result['peak_rss_mib']:.0f} | "
              f"{result['ms_per_step'] / baseline:.2f} |")


if __name__ == "__main__":
    main()
