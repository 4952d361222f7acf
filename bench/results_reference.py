"""The bundled reference model beside a retrained one: what each was trained on and how it scored
on its test split, and whether the two networks are the same.

    python bench/results_reference.py [--shipped reference] [--retrained models/set00002_1024_20000_def004]
        [--page docs/results/reference.md]

``make reference`` trains the retrained one and runs this. The networks are compared weight by
weight: model.keras records when it was saved, so two files of the same weights differ in sha256.
The development-set figures of def004 are on docs/results/development_set.md.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from seisclip.arguments import run_guarded
from seisclip.learn.models import load_any_model, open_model

PROG = "results_reference.py"
ROWS = (("network sha256", lambda handle: handle.sha256()),
        ("definition", lambda handle: handle.definition_name),
        ("training data", lambda handle: handle.training_data),
        ("epochs", lambda handle: handle.model_columns(None)["epochs"]),
        ("training time (s)", lambda handle: handle.model_columns(None)["training_s"]),
        ("test MSE", lambda handle: f"{handle.model_columns(None)['test_mse']:.5f}"),
        ("test MAE", lambda handle: f"{handle.model_columns(None)['test_mae']:.5f}"),
        ("test MSE, clipped input left as is", lambda handle: f"{handle.manifest_json()['test_metrics']['clipped_input_mse']:.5f}"))


def same_weights(first: str, second: str) -> bool:
    """Whether two models' networks hold the same weights, array by array."""
    a, b = (load_any_model(model).network.get_weights() for model in (first, second))
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


def table(shipped: str, retrained: str) -> str:
    handles = [open_model(shipped), open_model(retrained)]
    lines = [f"| | {handles[0].name} (shipped) | {retrained} (retrained) |", "|---|---|---|"]
    for label, value in ROWS:
        lines.append(f"| {label} | " + " | ".join(str(value(handle)) for handle in handles) + " |")
    same = same_weights(shipped, retrained)
    lines += ["", f"The two networks hold {'the same' if same else 'different'} weights."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--shipped", default="reference", help="the bundled model (default %(default)s)")
    parser.add_argument("--retrained", default="models/set00002_1024_20000_def004",
                        help="the model `make reference` trained (default %(default)s)")
    parser.add_argument("--page", default=None, help="write the page here, e.g. docs/results/reference.md")
    args = parser.parse_args(argv)

    def run() -> int:
        body = table(args.shipped, args.retrained)
        print(body, end="")
        if args.page:
            from results_page import write_page

            write_page(args.page, "The bundled reference model and its retraining", body,
                       [args.shipped, args.retrained], records={})
        return 0

    return run_guarded(run, PROG)


if __name__ == "__main__":
    sys.exit(main())
