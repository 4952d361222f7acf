"""A training run's settings, typed: built once from a definition script's command line
(:mod:`.command_line`), where the group's flag names stop. Everything after reads these fields."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class TrainingConfig:
    """What the user asked of one training run."""

    segment_length: int          # samples per segment; the index file's L
    set_name: str                # the index file's stem, e.g. set00001_256_40000
    indices_dir: Path
    models_dir: Path
    epochs: int
    batch_size: int              # global: split over every replica
    learning_rate: float
    seed: int | None             # None: derived from the model name
    sbrl: bool                   # status scaled by run length
    min_peak_counts: float       # segments whose peak |count| is below this are skipped
    strict: bool                 # a segment that would be skipped is an error
    bank: str | None             # an HDF5 bank to read the waveforms from, else the ASCII files
    stream: bool                 # read the bank a batch at a time
    strategy: str
    precision: str
    overwrite: bool
    resume: bool
    quiet: bool

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> "TrainingConfig":
        """The settings of parsed flags (their ``dest`` names are this class's fields)."""
        values = {field.name: getattr(args, field.name) for field in fields(cls)}
        for folder in ("indices_dir", "models_dir"):
            values[folder] = Path(values[folder])
        return cls(**values)

    @property
    def index_path(self) -> Path:
        return self.indices_dir / f"{self.set_name}.txt"
