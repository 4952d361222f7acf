#!/usr/bin/env python3
"""Model definition def012: def004's choices (imported from create_and_train_model_def004.py, which
says why) with a second term in the loss for each window's peak, so that the network restores
peaks without the low bias of a squared error on the samples alone: over a peak it is unsure of,
the sample-wise best estimate is the mean of the curves that fit, whose peak is lower than theirs.
The aim: peak amplitudes a magnitude can be read from.

    sh run_select_training_samples.sh 1024 20000 set00002
    sh run_create_and_train_model.sh 1024 set00002_1024_20000 def012

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

NAME = "def012"
STARTED_FROM = ('def004', '3d778a4cd977812e074c8e5821c43feac89f40d521852fc1b7a496a6ac18f08d')
#: The peak's term counts as much as the samples' term: both are the share of the clipped
#: input's own error left.
PEAK_WEIGHT = 1.0


def build_model(segment_length: int, widths, kernel_size: int, channels: int) -> keras.Model:
    return clip_consistent_unet(widths, kernel_size, channels, name=NAME)


@keras.saving.register_keras_serializable(package=NAME)
def loss(target, prediction):
    """def004's loss plus PEAK_WEIGHT times the window's squared peak error divided by the clipped
    input's, plus (ERROR_FLOOR × peak)². Targets are clip-normalised, so the clipped input's peak
    is 1 and errs by the true peak − 1; a window without clipped samples has no peak error."""
    truth, clipped = target[..., 0], ops.cast(target[..., 1] != 0, prediction.dtype)
    peak = ops.max(ops.abs(truth), axis=-1)
    restored_peak = ops.max(ops.abs(prediction) * clipped + ops.abs(truth) * (1.0 - clipped), axis=-1)
    left_as_is = ops.square(peak - 1.0) + ops.square(ERROR_FLOOR * peak)
    return def004.loss(target, prediction) + PEAK_WEIGHT * ops.square(restored_peak - peak) / left_as_is


if __name__ == "__main__":
    raise SystemExit(train_definition(NAME, build_model, loss, HYPERPARAMETERS, inputs=INPUTS,
                                      normalisation=NORMALISATION, augmentation=AUGMENTATION, optimizer=optimizer))
