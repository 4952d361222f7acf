"""A definition script's flags become one typed TrainingConfig; the group's spellings are aliases."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from seisclip.learn.command_line import parse_arguments
from seisclip.learn.config import TrainingConfig
from seisclip.learn.definition import Definition

DEFINITION = Definition(name="def001", build_model=lambda segment_length: None, loss=lambda target, prediction: 0,
                        hyperparameters={"epochs": 10, "batch_size": 64, "learning_rate": 1e-3},
                        source_file="create_and_train_model_def001.py")

GROUP_SPELLING = ["--number_of_consecutive_samples", "256", "--segdefname", "set00001_256_40000",
                  "--indices_dir", "sets", "--models_dir", "trained", "--batch_size", "32", "--learning_rate", "0.01",
                  "--min_peak", "80", "--epochs", "3", "--seed", "7", "--sbrl"]
SEISCLIP_SPELLING = ["--segment-length", "256", "--set-name", "set00001_256_40000", "--indices-dir", "sets",
                     "--models-dir", "trained", "--batch-size", "32", "--learning-rate", "0.01", "--min-peak", "80",
                     "--epochs", "3", "--seed", "7", "--sbrl"]


def test_both_spellings_give_the_same_settings_in_named_units():
    config = parse_arguments(DEFINITION, GROUP_SPELLING)
    assert parse_arguments(DEFINITION, SEISCLIP_SPELLING) == config
    assert (config.segment_length, config.set_name, config.batch_size, config.learning_rate, config.min_peak_counts,
            config.epochs, config.seed, config.sbrl) == (256, "set00001_256_40000", 32, 0.01, 80.0, 3, 7, True)
    assert config.index_path == Path("sets/set00001_256_40000.txt") and config.models_dir == Path("trained")


def test_the_definition_gives_the_defaults_and_the_settings_cannot_change_later():
    config = parse_arguments(DEFINITION, ["--segment-length", "64", "--set-name", "s_64_10"])
    assert (config.epochs, config.batch_size, config.learning_rate, config.seed) == (10, 64, 1e-3, None)
    assert (config.bank, config.stream, config.strategy, config.precision) == (None, False, "default", "float32")
    with pytest.raises(FrozenInstanceError):
        config.epochs = 2   # type: ignore[misc]
    assert isinstance(config, TrainingConfig)


@pytest.mark.parametrize("flag, value, message", [
    ("--batch_size", "0", "--batch-size must be a positive integer, got 0"),
    ("--epochs", "-1", "--epochs must be a positive integer, got -1"),
    ("--learning_rate", "0", "--learning-rate must be positive, got 0.0"),
])
def test_a_bad_setting_is_named_in_seisclip_spelling_whichever_was_typed(capsys, flag, value, message):
    with pytest.raises(SystemExit) as stopped:
        parse_arguments(DEFINITION, ["--segment-length", "64", "--set-name", "s_64_10", flag, value])
    assert stopped.value.code == 1
    assert message in capsys.readouterr().err
