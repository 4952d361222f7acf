"""One training run: the definition, the user's settings and what follows from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..fsio import sha256_file
from ..sets.index_file import IndexFile
from ..sets.split import default_seed, model_name
from .config import TrainingConfig
from .definition import Definition
from .distribution import Distribution


@dataclass(frozen=True)
class Run:
    """One training run: the definition, the user's settings and what follows from them."""

    definition: Definition
    config: TrainingConfig
    distribution: Distribution
    started: float
    index: IndexFile
    selection: dict | None
    selection_sha256: str | None

    @property
    def index_path(self) -> Path:
        return self.config.index_path

    @property
    def name(self) -> str:
        return model_name(self.config.set_name, self.definition.name, self.config.sbrl)

    @property
    def model_dir(self) -> Path:
        return self.config.models_dir / self.name

    @property
    def seed(self) -> int:
        return default_seed(self.name) if self.config.seed is None else self.config.seed

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The definition's, with the command line's epochs, batch size and learning rate."""
        config = self.config
        return {**self.definition.hyperparameters, "epochs": config.epochs, "batch_size": config.batch_size,
                "learning_rate": config.learning_rate}

    def arguments(self) -> dict[str, Any]:
        """Everything that decides the trained weights: a resumed run must have all of it unchanged.
        (The keys are those of ``arguments.json`` since its first format, so older runs resume.)"""
        config = self.config
        return {
            "model_name": self.name, "definition": self.definition.name,
            "definition_sha256": sha256_file(self.definition.source_file), "index_sha256": self.index.sha256,
            "segment_length": config.segment_length, "sbrl": config.sbrl, "min_peak": config.min_peak_counts,
            "strict": config.strict, "epochs": config.epochs, "batch_size": config.batch_size,
            "learning_rate": config.learning_rate, "seed": self.seed, "bank": config.bank, "stream": config.stream,
            "strategy": config.strategy, "precision": config.precision,
            # Only where there are any, so that a run of a definition importing none resumes as before.
            **({"imported_definitions_sha256": self.imported_sha256()} if self.definition.imported else {}),
        }

    def imported_sha256(self) -> dict[str, str]:
        """The sha256 of each definition script the definition takes choices from, by name."""
        return {name: sha256_file(path) for name, path in self.definition.imported.items()}
