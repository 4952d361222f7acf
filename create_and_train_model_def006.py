#!/usr/bin/env python3
"""Model definition def006: def004's choices (imported from create_and_train_model_def004.py, which
says why) with twice its context: windows of 2,048 samples (51 s at 40 Hz) in batches of 16, so a
step sees as many samples as def004's, and one more U-Net level (160 filters). Teleseismic records
clip in runs of 64 to 600 samples, where def004 restores worse than the spline.

    sh run_select_training_samples.sh 2048 10000 set00003
    sh run_create_and_train_model.sh 2048 set00003_2048_10000 def006

Measured and not adopted: docs/results/tried.md.
"""

# seisclip first: it loads TensorFlow without the start-up notices TensorFlow prints itself.
from seisclip.learn.training import train_definition  # isort: skip

from seisclip.learn.definition import definition_module
from seisclip.learn.networks import clip_consistent_unet

def004 = definition_module("def004")
AUGMENTATION, INPUTS, NORMALISATION, loss, optimizer = (
    def004.AUGMENTATION, def004.INPUTS, def004.NORMALISATION, def004.loss, def004.optimizer)

NAME = "def006"
HYPERPARAMETERS = {**def004.HYPERPARAMETERS, "batch_size": 16, "widths": (16, 32, 48, 64, 96, 128, 160)}


def build_model(segment_length: int, widths, kernel_size: int, channels: int):
    return clip_consistent_unet(widths, kernel_size, channels, name=NAME)


if __name__ == "__main__":
    raise SystemExit(train_definition(NAME, build_model, loss, HYPERPARAMETERS, inputs=INPUTS,
                                      normalisation=NORMALISATION, augmentation=AUGMENTATION, optimizer=optimizer))
