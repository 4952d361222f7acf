"""The checkpoint of an interrupted run: Keras' own weights file with the optimizer, and beside it
what Keras leaves out (the history, the seed states of random layers)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from seisclip.errors import SeisclipError
from seisclip.learn.quiet_tensorflow import keras
from seisclip.learn.resume import Progress, read_checkpoint, restore_checkpoint, save_checkpoint

LENGTH = 16


def dropout_model(width: int = 8):
    """A compiled model with a dropout layer, whose seed state ``save_weights`` does not keep."""
    inputs = keras.Input((LENGTH,))
    hidden = keras.layers.Dropout(0.5, seed=3)(keras.layers.Dense(width)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(LENGTH)(hidden))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


def trained_model():
    keras.utils.set_random_seed(11)
    model = dropout_model()
    data = np.random.default_rng(0).normal(size=(32, LENGTH)).astype(np.float32)
    model.fit(data, data, batch_size=8, epochs=1, verbose=0)
    return model, data


def test_a_restored_checkpoint_continues_as_the_uninterrupted_model_seed_states_included(tmp_path):
    model, data = trained_model()
    folder = tmp_path / "checkpoint"
    save_checkpoint(folder, model, Progress(1, {"loss": [0.5]}, []))
    assert sorted(os.listdir(folder)) == ["model.weights.h5", "progress.json"]
    assert read_checkpoint(folder) == Progress(1, {"loss": [0.5]}, [])

    keras.utils.set_random_seed(99)   # another start: every value must come from the checkpoint
    restored = dropout_model()
    restore_checkpoint(restored, folder)
    for before, after in zip(model.variables + model.optimizer.variables,
                             restored.variables + restored.optimizer.variables, strict=True):
        assert np.array_equal(before.numpy(), after.numpy()), before.path
    # The seed state is among them, and it matters: one more epoch of each gives the same weights.
    assert any("seed_generator" in variable.path for variable in restored.variables)
    for each in (model, restored):
        each.fit(data, data, batch_size=8, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), restored.get_weights(), strict=True))


def test_a_checkpoint_is_replaced_whole(tmp_path):
    model, _ = trained_model()
    folder = tmp_path / "checkpoint"
    save_checkpoint(folder, model, Progress(1, {"loss": [0.5]}, []))
    save_checkpoint(folder, model, Progress(2, {"loss": [0.5, 0.4]}, [1]))
    assert read_checkpoint(folder) == Progress(2, {"loss": [0.5, 0.4]}, [1])
    assert sorted(os.listdir(tmp_path)) == ["checkpoint"]   # no temporary, no replaced folder left


def test_a_checkpoint_of_another_model_or_a_damaged_one_is_one_error(tmp_path):
    model, _ = trained_model()
    folder = tmp_path / "checkpoint"
    save_checkpoint(folder, model, Progress(1, {"loss": [0.5]}, []))
    with pytest.raises(SeisclipError, match="checkpoint does not fit the model the definition builds"):
        restore_checkpoint(dropout_model(width=4), folder)

    other = keras.Sequential([keras.Input((LENGTH,)), keras.layers.Dense(8), keras.layers.Dense(LENGTH)])
    other.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")   # another optimizer's variables
    with pytest.raises(SeisclipError, match="checkpoint does not fit the model the definition builds"):
        restore_checkpoint(other, folder)

    (folder / "progress.json").write_text(json.dumps({"history": {}}))
    with pytest.raises(SeisclipError, match=r"checkpoint cannot be read \(no 'completed_epochs'\)"):
        read_checkpoint(folder)
    (folder / "progress.json").write_text("{")
    with pytest.raises(SeisclipError, match="checkpoint cannot be read"):
        read_checkpoint(folder)
