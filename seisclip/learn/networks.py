"""Networks that definition scripts build on, so that a definition holds only what it changes.

:func:`clip_consistent_unet` is the reference definitions' network (def003, def004): a fully
convolutional 1-D U-Net whose output is consistent with the record by construction.
"""

from __future__ import annotations

from .layers import ClipConsistent, CropToLengthOf, ExcessOfChannel, PadToMultiple
from .quiet_tensorflow import keras

layers = keras.layers


def clip_consistent_unet(widths, kernel_size: int, channels: int, name: str,
                         starting_from_channel: int | None = None) -> keras.Model:
    """A 1-D U-Net taking windows of any length ``(None, channels)`` whose first two channels are
    the clipped samples and their status, to the restored window ``(None,)``.

    One level per width: two convolutions of ``kernel_size`` (leaky ReLU), then max-pooling down
    to the next; back up by transposed convolutions (not UpSampling1D, whose gradient makes oneDNN
    print an error notice), each joined by its level's skip connection. The window is zero-padded
    to a multiple of the total downsampling and cropped back. The last layer's amount goes through
    :class:`ClipConsistent`: unclipped samples pass through exactly, clipped ones end at or beyond
    their clip level, within ten of it.

    ``starting_from_channel``: the amount is added to how far that input channel (an estimate
    such as the spline's) lies beyond the clipped samples, and the last layer starts at zero, so
    the untrained network returns that estimate and training learns a correction to it.
    """
    inputs = keras.Input(shape=(None, channels), name="clipped_and_status")
    x = PadToMultiple(2 ** (len(widths) - 1))(inputs)
    skips = []
    for depth, width in enumerate(widths):
        if depth:
            skips.append(x)
            x = layers.MaxPooling1D(2)(x)
        x = layers.Conv1D(width, kernel_size, padding="same", activation="leaky_relu")(x)
        x = layers.Conv1D(width, kernel_size, padding="same", activation="leaky_relu")(x)
    for width, skip in zip(reversed(widths[:-1]), reversed(skips)):
        x = layers.Conv1DTranspose(width, 2, strides=2)(x)
        x = layers.Concatenate()([x, skip])
        x = layers.Conv1D(width, kernel_size, padding="same", activation="leaky_relu")(x)
        x = layers.Conv1D(width, kernel_size, padding="same", activation="leaky_relu")(x)
    if starting_from_channel is None:
        amount = CropToLengthOf()([layers.Conv1D(1, 1)(x), inputs])
    else:
        correction = CropToLengthOf()([layers.Conv1D(1, 1, kernel_initializer="zeros")(x), inputs])
        amount = ExcessOfChannel(starting_from_channel)([correction, inputs])
    restored = ClipConsistent(name="restored")([amount, inputs[..., 0], inputs[..., 1]])
    return keras.Model(inputs, restored, name=name)
