#!/usr/bin/env python3
"""Model definition def003: the reference restoration network, a clip-consistent 1-D U-Net.

    sh run_select_training_samples.sh 1024 20000 set00002
    sh run_create_and_train_model.sh 1024 set00002_1024_20000 def003

* Windows are divided by their clip level, which a clipped record shows: the clipped input
  lies in [-1, 1] whatever the record's gain.
* Fully convolutional, so `seisclip restore --window` can give it windows much longer than the
  L it trained on: context longer than the longest clipped run.
* Consistent by construction (seisclip.learn.layers.ClipConsistent): unclipped samples pass
  through exactly; a clipped sample is its clip level plus a bounded amount on its own side.
* The loss looks only at clipped samples (nothing else can be wrong), relative to the window's
  true peak as the evaluation measures it.
"""

# seisclip first: it loads TensorFlow without the start-up notices TensorFlow prints itself.
from seisclip.learn.training import train_definition  # isort: skip

import keras
from keras import ops

from seisclip.learn.networks import clip_consistent_unet
from seisclip.sets.augmentation import PolarityFlip

NAME = "def003"
HYPERPARAMETERS = {"epochs": 6, "batch_size": 32, "learning_rate": 1e-3,
                   "widths": (16, 32, 48, 64, 96, 128), "kernel_size": 9}
INPUTS = ("clipped", "status")
NORMALISATION = "clip"
AUGMENTATION = (PolarityFlip(),)


def build_model(segment_length: int, widths, kernel_size: int, channels: int) -> keras.Model:
    # segment_length is not fixed into the network: it restores windows of any length.
    return clip_consistent_unet(widths, kernel_size, channels, name=NAME)


def optimizer(learning_rate: float, epochs: int, steps_per_epoch: int):
    # Clipping the gradient's norm keeps the rare window clipped at a tenth of its peak from
    # throwing the weights far off.
    return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, epochs * steps_per_epoch),
                                 clipnorm=1.0)


@keras.saving.register_keras_serializable(package=NAME)
def loss(target, prediction):
    """Mean squared error over each window's clipped samples, relative to its true peak."""
    truth, clipped = target[..., 0], ops.cast(target[..., 1] != 0, prediction.dtype)
    squared = ops.square(prediction - truth) / ops.square(ops.max(ops.abs(truth), axis=-1, keepdims=True))
    return ops.sum(squared * clipped, axis=-1) / ops.maximum(ops.sum(clipped, axis=-1), 1.0)


if __name__ == "__main__":
    raise SystemExit(train_definition(NAME, build_model, loss, HYPERPARAMETERS, inputs=INPUTS,
                                      normalisation=NORMALISATION, augmentation=AUGMENTATION, optimizer=optimizer))
