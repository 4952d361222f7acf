"""One training run: the definition, the user's flags and what follows from them."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..fsio import sha256_file
from ..sets.index_file import IndexFile
from ..sets.split import default_seed, model_name
from .definition import Definition
from .distribution import Distribution


@dataclass(frozen=True)
class Run:
    """One training run: the definition, the user's flags and what follows from them."""

    definition: Definition
    args: argparse.Namespace
    distribution: Distribution
    started: float
    index_path: Path
    index: IndexFile
    selection: dict | None
    selection_sha256: str | None

    @property
    def name(self) -> str:
        return model_name(self.args.segdefname, self.definition.name, self.args.sbrl)

    @property
    def model_dir(self) -> Path:
        return Path(self.args.models_dir) / self.name

    @property
    def seed(self) -> int:
        return default_seed(self.name) if self.args.seed is None else self.args.seed

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The definition's, with the command line's epochs, batch size and learning rate."""
        args = self.args
        return {**self.definition.hyperparameters, "epochs": args.epochs, "batch_size": args.batch_size,
                "learning_rate": args.learning_rate}

    def arguments(self) -> dict[str, Any]:
        """Everything that decides the trained weights: a resumed run must have all of it unchanged."""
        args = self.args
        return {
            "model_name": self.name, "definition": self.definition.name,
            "definition_sha256": sha256_file(self.definition.source_file), "index_sha256": self.index.sha256,
            "segment_length": args.number_of_consecutive_samples, "sbrl": args.sbrl, "min_peak": args.min_peak,
            "strict": args.strict, "epochs": args.epochs, "batch_size": args.batch_size,
            "learning_rate": args.learning_rate, "seed": self.seed, "bank": args.bank, "stream": args.stream,
            "strategy": args.strategy, "precision": args.precision,
        }
