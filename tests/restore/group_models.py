"""Models as the group's own training scripts save them, made with ``tf_keras`` (Keras 2) in a
process of their own: ``python group_models.py FOLDER``.

* ``set00001_64_600_def002/``: a SavedModel (``model.save(DIR)``) of a def001-like Sequential
  network ending in a custom ``GaussianSmoothing`` layer, defined only here;
* ``set00001_64_600_def001.h5``: a legacy HDF5 model of Keras' own layers;
* ``wrong_channels/``: a SavedModel taking windows of 3 channels.

For every ``NAME.inputs.npy`` in FOLDER, ``NAME.expected.npy`` is the model NAME's own
``predict`` of those inputs.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

L = 64
layers = tf_keras.layers


class GaussianSmoothing(layers.Layer):
    """Their def002's last layer: each window smoothed with a Gaussian of ``sigma`` samples."""

    def __init__(self, sigma=1.5, **kwargs):
        super().__init__(**kwargs)
        self.sigma = sigma

    def call(self, inputs):
        half = int(3 * self.sigma)
        offsets = tf.range(-half, half + 1, dtype=tf.float32)
        weights = tf.exp(-offsets**2 / (2 * self.sigma**2))
        weights /= tf.reduce_sum(weights)
        return tf.nn.conv1d(inputs[..., None], weights[:, None, None], stride=1, padding="SAME")[..., 0]

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}


def sequential(channels: int, smoothing: bool) -> tf_keras.Model:
    stack = [layers.Input((L, channels)), layers.Conv1D(8, 5, padding="same", activation="tanh"),
             layers.Flatten(), layers.Dense(L)]
    return tf_keras.Sequential(stack + ([GaussianSmoothing(1.5)] if smoothing else []))


def main(folder: Path) -> None:
    tf_keras.utils.set_random_seed(20261204)
    models = {"set00001_64_600_def002": (sequential(2, smoothing=True), folder / "set00001_64_600_def002"),
              "set00001_64_600_def001": (sequential(2, smoothing=False), folder / "set00001_64_600_def001.h5"),
              "wrong_channels": (sequential(3, smoothing=False), folder / "wrong_channels")}
    for name, (model, path) in models.items():
        model.save(str(path))
        inputs = folder / f"{name}.inputs.npy"
        if inputs.exists():
            np.save(folder / f"{name}.expected.npy", model.predict(np.load(inputs), verbose=0))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
