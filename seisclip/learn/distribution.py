"""--strategy and --precision: the tf.distribute strategy a run trains under, and the
cluster a multiworker run belongs to."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence


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


def fit_across_workers(model, strategy, metrics: Sequence[Callable], training, validation, steps_per_epoch: int,
                       initial_epoch: int, epochs: int, callbacks: list, verbose: int) -> None:
    """What ``model.fit`` does, for a MultiWorkerMirroredStrategy of several workers, where Keras 3's
    own fit cannot run: it first builds the model from a batch it averages across the workers with
    ``strategy.reduce``, which that strategy cannot do for an (inputs, targets) pair. Written with
    Keras' public API: each replica computes the compiled loss (already divided by the replicas, as
    Keras divides it) and the gradients, the optimizer applies them, and the epoch logs are
    ``loss`` and ``metrics`` over every replica's samples, then the same with ``val_`` on
    ``validation``. The callbacks see the calls fit makes."""
    with strategy.scope():
        if not model.optimizer.built:   # its variables are made here, not inside the first step
            model.optimizer.build(model.trainable_variables)

        def tracked(prefix: str) -> list:
            return [keras.metrics.Mean(f"{prefix}loss"),
                    *(keras.metrics.MeanMetricWrapper(metric, name=f"{prefix}{metric.__name__}") for metric in metrics)]

        train_metrics, validation_metrics = tracked(""), tracked("val_")

    def update(tracked_metrics: list, loss, targets, prediction) -> None:
        samples = tf.shape(targets)[0]
        tracked_metrics[0].update_state(loss * strategy.num_replicas_in_sync, sample_weight=samples)
        for metric in tracked_metrics[1:]:
            metric.update_state(targets, prediction)

    def train_on_replica(inputs, targets):
        with tf.GradientTape() as tape:
            prediction = model(inputs, training=True)
            loss = model.compute_loss(x=inputs, y=targets, y_pred=prediction, training=True)
            scaled = model.optimizer.scale_loss(loss)   # a mixed_float16 run's loss scale
        gradients = tape.gradient(scaled, model.trainable_weights)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_weights))
        update(train_metrics, loss, targets, prediction)

    def test_on_replica(inputs, targets):
        prediction = model(inputs, training=False)
        update(validation_metrics, model.compute_loss(x=inputs, y=targets, y_pred=prediction, training=False),
               targets, prediction)

    # Traced as written, like Keras' own steps: nothing here needs AutoGraph's rewriting.
    @tf.function(autograph=False)
    def train_step(iterator):
        strategy.run(train_on_replica, args=next(iterator))

    @tf.function(autograph=False)
    def test_step(batch):
        strategy.run(test_on_replica, args=batch)

    def results(tracked_metrics: list) -> dict[str, float]:
        return {metric.name: float(metric.result()) for metric in tracked_metrics}

    callback_list = keras.callbacks.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                                                 epochs=epochs, steps=steps_per_epoch)
    batches = iter(strategy.experimental_distribute_dataset(training))
    model.stop_training = False
    callback_list.on_train_begin()
    logs: dict[str, float] = {}
    for epoch in range(initial_epoch, epochs):
        for metric in train_metrics + validation_metrics:
            metric.reset_state()
        callback_list.on_epoch_begin(epoch)
        for step in range(steps_per_epoch):
            callback_list.on_train_batch_begin(step)
            train_step(batches)
            callback_list.on_train_batch_end(step)
        logs = results(train_metrics)
        if validation is not None:
            for batch in strategy.experimental_distribute_dataset(validation):
                test_step(batch)
            logs |= results(validation_metrics)
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
