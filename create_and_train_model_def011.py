#!/usr/bin/env python3
"""Model definition def011: def004's choices (imported from create_and_train_model_def004.py, which
says why) with a loss that weighs an estimate beyond the truth OVERSHOOT_WEIGHT times as much as
one short of it, so that the network holds back where a window leaves it unsure: under it the
best estimate of a sample is an expectile below the mean (the 1 / (1 + OVERSHOOT_WEIGHT) one).
The aim: fewer records made worse than the clipped input.

    sh run_select_training_samples.sh 1024 20000 set00002
    sh run_create_and_train_model.sh 1024 set00002_1024_20000 def011

Measured and not adopted: docs/results/tried.md.
"""

# seisclip first: it loads TensorFlow without the start-up notices TensorFlow prints itself.
from seisclip.learn.training import train_definition  # isort: skip

import keras
from keras import ops

from seisclip.learn.definition import definition_module
from seisclip.learn.networks import clip_consistent_unet

def004 = definition_module("def004")
AUGMENTATION, ERROR_FLOOR, HYPERPARAMETERS, INPUTS, NORMALISATION, optimizer = (
    def004.AUGMENTATION, def004.ERROR_FLOOR, def004.HYPERPARAMETERS, def004.INPUTS, def004.NORMALISATION,
    def004.optimizer)

NAME = "def011"
OVERSHOOT_WEIGHT = 3.0


def build_model(segment_length: int, widths, kernel_size: int, channels: int) -> keras.Model:
    return clip_consistent_unet(widths, kernel_size, channels, name=NAME)


@keras.saving.register_keras_serializable(package=NAME)
def loss(target, prediction):
    """def004's loss with each clipped sample's squared error weighted OVERSHOOT_WEIGHT where the
    estimate lies beyond the truth on the sample's side (targets are clip-normalised, so a
    clipped sample's truth is at least 1 from zero on its side)."""
    truth, clipped = target[..., 0], ops.cast(target[..., 1] != 0, prediction.dtype)
    overshoot = ops.cast(ops.sign(truth) * (prediction - truth) > 0, prediction.dtype)
    weight = 1.0 + (OVERSHOOT_WEIGHT - 1.0) * overshoot
    peak = ops.max(ops.abs(truth), axis=-1)
    per_clipped_sample = ops.maximum(ops.sum(clipped, axis=-1), 1.0) * ops.square(peak)
    restored = ops.sum(weight * ops.square(prediction - truth) * clipped, axis=-1) / per_clipped_sample
    left_as_is = ops.sum(ops.square(ops.abs(truth) - 1.0) * clipped, axis=-1) / per_clipped_sample
    return restored / (left_as_is + ERROR_FLOOR**2)


if __name__ == "__main__":
    raise SystemExit(train_definition(NAME, build_model, loss, HYPERPARAMETERS, inputs=INPUTS,
                                      normalisation=NORMALISATION, augmentation=AUGMENTATION, optimizer=optimizer))
