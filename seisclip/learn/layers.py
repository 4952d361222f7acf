"""Keras layers that restoration networks share, registered so that a saved model loads with
nothing but seisclip imported.

* :class:`ClipConsistent` makes a network's output consistent with the record by construction:
  unclipped samples pass through exactly, each clipped sample is its recorded value (the clip
  level) plus a bounded non-negative amount on its own side.
* :class:`PadToMultiple` and :class:`CropToLengthOf` let a network that halves its length a
  few times (a U-Net) take windows of any length.
"""

from __future__ import annotations

from .quiet_tensorflow import keras

ops = keras.ops


@keras.saving.register_keras_serializable(package="seisclip")
class ClipConsistent(keras.layers.Layer):
    """``[amount, clipped, status] -> clipped + sign(status) * min(|amount|, max_excess)``.

    ``clipped`` and ``status`` are ``(batch, L)``; ``amount`` is ``(batch, L)`` or ``(batch, L, 1)``.
    With clip normalisation the clip level is 1 and a true peak at most ``1 / 0.1`` times it, so
    ``max_excess = 9`` bounds every estimate by what training could ever have asked for. ``|amount|``
    rather than a softplus: a softplus flattens towards zero excess, where most clipped samples
    of a gently clipped window belong, and training then stalls with the output stuck at the input.
    """

    def __init__(self, max_excess: float = 9.0, **kwargs):
        super().__init__(**kwargs)
        self.max_excess = float(max_excess)

    def call(self, inputs):
        amount, clipped, status = inputs
        if len(amount.shape) == 3:
            amount = amount[..., 0]
        excess = ops.minimum(ops.abs(amount), self.max_excess)
        return clipped + ops.sign(status) * excess

    def get_config(self):
        return {**super().get_config(), "max_excess": self.max_excess}


@keras.saving.register_keras_serializable(package="seisclip")
class ExcessOfChannel(keras.layers.Layer):
    """``[amount, window] -> amount + max(sign(status) * (window[..., channel] - clipped), 0)``: the
    amount a channel's estimate (the spline's, say) lies beyond the clipped samples, plus the
    network's own. ``amount`` is ``(batch, L, 1)``, ``window`` the inputs ``(batch, L, channels)``
    whose first two channels are the clipped samples and their status; the result is ``(batch, L)``."""

    def __init__(self, channel: int, **kwargs):
        super().__init__(**kwargs)
        self.channel = int(channel)

    def call(self, inputs):
        amount, window = inputs
        clipped, status, estimate = window[..., 0], window[..., 1], window[..., self.channel]
        return amount[..., 0] + ops.maximum(ops.sign(status) * (estimate - clipped), 0.0)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0][:2]

    def get_config(self):
        return {**super().get_config(), "channel": self.channel}


@keras.saving.register_keras_serializable(package="seisclip")
class PadToMultiple(keras.layers.Layer):
    """Zero-pads the time axis of ``(batch, L, channels)`` at its end to a multiple of ``multiple``."""

    def __init__(self, multiple: int, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, inputs):
        length = ops.shape(inputs)[1]
        missing = (self.multiple - length % self.multiple) % self.multiple
        return ops.pad(inputs, [[0, 0], [0, missing], [0, 0]])

    def compute_output_shape(self, input_shape):
        batch, length, channels = input_shape
        padded = None if length is None else -(-length // self.multiple) * self.multiple
        return batch, padded, channels

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="seisclip")
class CropToLengthOf(keras.layers.Layer):
    """``[x, reference] -> x[:, :len(reference)]``: undoes :class:`PadToMultiple`."""

    def call(self, inputs):
        x, reference = inputs
        return x[:, : ops.shape(reference)[1]]

    def compute_output_shape(self, input_shapes):
        x_shape, reference_shape = input_shapes
        return (x_shape[0], reference_shape[1], *x_shape[2:])
