#!/usr/bin/env python3
"""Model definition def007: def004's choices (imported from create_and_train_model_def004.py, which
says why) with the spline baseline's estimate as a third input channel, so that the network learns
a correction to the spline, which restores the broad peaks of teleseismic records close to exactly.

    sh run_select_training_samples.sh 1024 20000 set00002
    sh run_create_and_train_model.sh 1024 set00002_1024_20000 def007

Measured and not adopted: docs/results/tried.md.
"""

# seisclip first: it loads TensorFlow without the start-up notices TensorFlow prints itself.
from seisclip.learn.training import train_definition  # isort: skip

from seisclip.learn.definition import definition_module
from seisclip.learn.networks import clip_consistent_unet

def004 = definition_module("def004")
AUGMENTATION, HYPERPARAMETERS, NORMALISATION, loss, optimizer = (
    def004.AUGMENTATION, def004.HYPERPARAMETERS, def004.NORMALISATION, def004.loss, def004.optimizer)

NAME = "def007"
INPUTS = ("clipped", "status", "spline")


def build_model(segment_length: int, widths, kernel_size: int, channels: int):
    return clip_consistent_unet(widths, kernel_size, channels, name=NAME)


if __name__ == "__main__":
    raise SystemExit(train_definition(NAME, build_model, loss, HYPERPARAMETERS, inputs=INPUTS,
                                      normalisation=NORMALISATION, augmentation=AUGMENTATION, optimizer=optimizer))
