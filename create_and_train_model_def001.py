#!/usr/bin/env python3
"""Model definition def001: the group's first restoration network.

    sh run_create_and_train_model.sh 256 set00001_256_40000 def001
    python create_and_train_model_def001.py --number_of_consecutive_samples 256 --segdefname set00001_256_40000

Input per segment: (L, 2) = (clipped segment, status -1/0/+1); output: the L restored samples.
A new definition is a copy of this file as create_and_train_model_defNNN.py with NAME and
whatever below it changes; data loading, splitting, saving and provenance live in seisclip.
train_definition also takes an optimizer, callbacks, input channels, a normalisation and
augmentation (docs/training.md).
"""

# seisclip first: it loads TensorFlow without the start-up notices TensorFlow prints itself.
from seisclip.learn.training import train_definition  # isort: skip

import keras
from keras import layers, ops

NAME = "def001"
HYPERPARAMETERS = {"epochs": 10, "batch_size": 64, "learning_rate": 1e-3}


def build_model(segment_length: int) -> keras.Model:
    inputs = keras.Input(shape=(segment_length, 2), name="clipped_and_status")
    x = inputs
    for filters, width in ((64, 3), (128, 5)):
        for _ in range(2):
            x = layers.Conv1D(filters, width, padding="same")(x)
            x = layers.LeakyReLU()(x)
        x = layers.MaxPooling1D(2)(x)
    x = layers.Flatten()(x)
    for units in (1024, 512):
        x = layers.Dense(units)(x)
        x = layers.LeakyReLU()(x)
    outputs = layers.Dense(segment_length, name="restored")(x)
    return keras.Model(inputs, outputs, name=NAME)


@keras.saving.register_keras_serializable(package=NAME)
def loss(target, prediction):
    """Squared error, tripled where a clipped sample is under-estimated, plus a smoothness penalty.

    target[..., 0] is the unclipped segment, target[..., 1] its status.
    """
    truth, status = target[..., 0], target[..., 1]
    error = prediction - truth
    under_estimated = ((status >= 1) & (error < 0)) | ((status <= -1) & (error > 0))
    squared = ops.square(error) * (1.0 + 2.0 * ops.cast(under_estimated, error.dtype))
    first_difference = prediction[:, 1:] - prediction[:, :-1]
    second_difference = first_difference[:, 1:] - first_difference[:, :-1]
    smoothness = ops.mean(ops.square(first_difference), axis=-1) + 0.5 * ops.mean(ops.square(second_difference), axis=-1)
    return ops.mean(squared, axis=-1) + 0.1 * smoothness


if __name__ == "__main__":
    raise SystemExit(train_definition(NAME, build_model, loss, HYPERPARAMETERS))
