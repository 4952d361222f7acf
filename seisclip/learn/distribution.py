"""--strategy and --precision: the tf.distribute strategy a run trains under, and the
cluster a multiworker run belongs to."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SeisclipError
from .quiet_tensorflow import keras, tf

STRATEGIES = ("default", "mirrored", "multiworker")


PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host0:12345", "host1:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in the cluster of a ``--strategy multiworker`` run, from ``TF_CONFIG``."""

    cluster: dict[str, list[str]]
    task_type: str
    task_index: int

    @property
    def workers(self) -> int:
        """Processes training together, the chief included."""
        return sum(len(addresses) for addresses in self.cluster.values())

    @property
    def is_chief(self) -> bool:
        """The task of type "chief", or worker 0 when the cluster has no chief (TensorFlow's rule)."""
        return self.task_type == "chief" or ("chief" not in self.cluster and self.task_index == 0)


def read_tf_config(text: str | None) -> ClusterTask:
    """The cluster and task that ``TF_CONFIG`` (its text, None when unset) describes, checked."""
    def malformed(problem: str) -> SeisclipError:
        return SeisclipError(f"{problem}; expected e.g. {TF_CONFIG_EXAMPLE}", "TF_CONFIG")

    if not text:
        raise malformed("not set: --strategy multiworker reads the cluster and this task from it")
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise SeisclipError(f"not JSON ({exc})", "TF_CONFIG") from None
    if not (isinstance(config, dict) and isinstance(config.get("cluster"), dict)
            and isinstance(config.get("task"), dict)):
        raise malformed('needs a "cluster" object and a "task" object')
    cluster, task = config["cluster"], config["task"]
    if not cluster or not set(cluster) <= {"chief", "worker"}:
        raise malformed(f'"cluster" must list "worker" (and at most one "chief") addresses, not {sorted(cluster)}')
    for job, addresses in cluster.items():
        if not (isinstance(addresses, list) and addresses and all(isinstance(a, str) and a for a in addresses)):
            raise malformed(f'"cluster" "{job}" must be a list of "host:port" addresses')
    if len(cluster.get("chief", [])) > 1:
        raise malformed('"cluster" has more than one "chief"')
    task_type, task_index = task.get("type"), task.get("index")
    if task_type not in cluster:
        raise malformed(f'"task" "type" {task_type!r} is not a job of "cluster"')
    if not (type(task_index) is int and 0 <= task_index < len(cluster[task_type])):
        raise malformed(f'"task" "index" {task_index!r} is not the index of one of the {len(cluster[task_type])} '
                        f'"{task_type}" addresses')
    return ClusterTask(cluster, task_type, task_index)


@dataclass(frozen=True)
class Distribution:
    """How a run trains: its ``tf.distribute`` strategy, the devices of this process it uses, its
    dtype policy and, in a multiworker run, this process's task."""

    strategy_name: str
    strategy: Any
    devices: list[str]
    precision: str
    task: ClusterTask | None

    @property
    def is_chief(self) -> bool:
        return self.task is None or self.task.is_chief

    @property
    def workers(self) -> int:
        return 1 if self.task is None else self.task.workers

    @property
    def replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)

    def summary(self) -> str:
        def count(n: int, noun: str) -> str:
            return f"{n} {noun}{'s' if n != 1 else ''}"

        if self.task is None:
            line = f"training on {count(self.replicas, 'replica')}: {', '.join(self.devices)}"
        else:
            line = (f"training on {count(self.replicas, 'replica')} over {count(self.workers, 'worker')}; "
                    f"{self.task.task_type} {self.task.task_index} here: {', '.join(self.devices)}")
        if self.strategy_name != "default" and not any("GPU" in device for device in self.devices):
            line += f" (no GPU visible: --strategy {self.strategy_name} uses the CPU)"
        return line

    def record(self) -> dict[str, Any]:
        """The manifest's account of the run's distribution (``devices``: the chief's)."""
        return {"strategy": self.strategy_name, "replicas": self.replicas, "workers": self.workers,
                "task": None if self.task is None else {"type": self.task.task_type, "index": self.task.task_index},
                "cluster": None if self.task is None else self.task.cluster,
                "devices": self.devices, "precision": self.precision}


def start_distribution(strategy_name: str, precision: str) -> Distribution:
    """Create the strategy ``--strategy`` names. Call it before anything runs a TensorFlow op:
    MultiWorkerMirroredStrategy must configure the runtime first (and it waits here until every
    worker of the cluster has started)."""
    task = None
    if strategy_name == "multiworker":
        task = read_tf_config(os.environ.get("TF_CONFIG"))
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        devices = list(strategy.extended.worker_devices)
    elif strategy_name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
        devices = list(strategy.extended.worker_devices)
    else:
        strategy = tf.distribute.get_strategy()
        # Without a strategy TensorFlow places ops on the first GPU if one is visible.
        device = (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU"))[0]
        devices = [tf.DeviceSpec.from_string(device.name).replace(job="localhost", replica=0, task=0).to_string()]
    return Distribution(strategy_name, strategy, devices, precision, task)


def work_around_keras_multi_worker_fit(model, segment_length: int, channels: int) -> None:
    """Let ``fit`` run under MultiWorkerMirroredStrategy with several workers, where Keras 3 (3.15,
    TensorFlow backend) fails twice: it builds the model from the first batch after
    ``strategy.reduce`` of the (inputs, targets) pair, and that strategy cannot reduce a pair; and
    it reduces each step's scalar logs with ``reduce(MEAN, axis=0)``, and a scalar has no axis 0.
    So build the model, loss, metrics and optimizer here from the known batch shapes, skip
    fit's own build, and give the step logs an axis of length one (their mean over replicas is
    then what Keras logs). The epoch logs, which the history records, come from the metrics,
    summed over every replica, and are not affected. Call it inside the strategy's scope."""
    inputs, targets = np.zeros((1, segment_length, channels), np.float32), np.zeros((1, segment_length, 2), np.float32)
    model._symbolic_build(data_batch=(inputs, targets))
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    for step_name in ("train_step", "test_step"):
        step = getattr(model, step_name)
        setattr(model, step_name,
                lambda data, step=step: keras.tree.map_structure(lambda log: keras.ops.expand_dims(log, 0), step(data)))
