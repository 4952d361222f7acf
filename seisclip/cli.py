"""The ``seisclip`` command and the argument sets the top-level scripts share with it."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from . import __version__
from .errors import SeisclipError


class ArgumentParser(argparse.ArgumentParser):
    """Bad arguments are bad input like any other: one line on stderr, exit status 1."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(1, f"{self.prog}: error: {message} (see --help)\n")


def run_guarded(action: Callable[[], int | None], prog: str) -> int:
    """Run ``action``; a :class:`SeisclipError` becomes one line on stderr and exit status 1."""
    try:
        return action() or 0
    except SeisclipError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--number_of_consecutive_samples", type=int, default=256, metavar="L",
                        help="segment length in samples (default 256: 6.4 s at 40 Hz)")
    parser.add_argument("--number_of_training_segments", type=int, default=40000, metavar="N",
                        help="number of segments to draw (default 40000)")
    parser.add_argument("--ASCII_file_dir", default="outfiles", metavar="DIR",
                        help="waveform folder as written into the index lines (default outfiles, the linker.sh link)")
    parser.add_argument("--metadata_file", default="outfiles_contents_reordered.txt", metavar="FILE",
                        help="bank metadata in wc format (default outfiles_contents_reordered.txt)")
    parser.add_argument("--output_file", required=True, metavar="FILE",
                        help="index file to write; its manifest goes beside it with the suffix .json")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed (default: derived from the output file's stem, so a set name reproduces its set)")
    parser.add_argument("--min_rscale", type=float, default=0.1, help="lowest clip level (default 0.1)")
    parser.add_argument("--max_rscale", type=float, default=1.0, help="highest clip level (default 1.0)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing index file and manifest")
    parser.add_argument("--strict", action="store_true", help="a bad metadata line is an error instead of being skipped")


def run_selection(args: argparse.Namespace) -> int:
    from .selection import SelectionRequest, select_segments

    select_segments(SelectionRequest(
        segment_length=args.number_of_consecutive_samples,
        number_of_segments=args.number_of_training_segments,
        ascii_dir=args.ASCII_file_dir,
        metadata_file=args.metadata_file,
        output_file=args.output_file,
        seed=args.seed,
        clip_level_range=(args.min_rscale, args.max_rscale),
        overwrite=args.overwrite,
        strict=args.strict,
    ))
    return 0


def selection_main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Entry point of ``select_training_samples.py``."""
    parser = ArgumentParser(prog=prog, description="Draw random training segments and write an index file with its manifest.")
    add_selection_arguments(parser)
    args = parser.parse_args(argv)
    return run_guarded(lambda: run_selection(args), parser.prog)


def _demo_bank(args: argparse.Namespace) -> int:
    from .demo_bank import generate_demo_bank

    chosen = {key: value for key, value in (("n_files", args.files), ("seed", args.seed)) if value is not None}
    metadata = generate_demo_bank(args.directory, metadata_path=args.metadata, progress=not args.quiet, **chosen)
    print(metadata)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .verify import run_verify

    return run_verify(args.index, args.manifest, args.metadata)


def _trace(args: argparse.Namespace) -> int:
    from .trace import trace_model

    return trace_model(args.model_dir, split=args.split, check=not args.no_check)


def _summary(args: argparse.Namespace) -> int:
    from .trace import summarise_model

    return summarise_model(args.model_dir)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="seisclip", description=__doc__)
    parser.add_argument("--version", action="version", version=f"seisclip {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo-bank", help="generate the synthetic demo bank of 40 Hz ASCII seismograms")
    demo.add_argument("directory", help="folder to create (kept as it is if it already holds the complete bank)")
    demo.add_argument("--metadata", default=None, help="metadata file to write (default DIRECTORY/outfiles_contents_reordered.txt)")
    demo.add_argument("--files", type=int, default=None, help="number of waveform files (default 240)")
    demo.add_argument("--seed", type=int, default=None, help="random seed (default 19830924, the committed demo bank)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(action=_demo_bank)

    select = commands.add_parser("select", help="draw training segments (same flags as select_training_samples.py)")
    add_selection_arguments(select)
    select.set_defaults(action=run_selection)

    verify = commands.add_parser("verify", help="check an index file against its manifest, the metadata and the bank")
    verify.add_argument("index", help="index file, e.g. indices_files/set00001_256_40000.txt")
    verify.add_argument("--manifest", default=None, help="manifest (default: the index path with suffix .json)")
    verify.add_argument("--metadata", default=None, help="metadata file (default: the one the manifest names)")
    verify.set_defaults(action=_verify)

    trace = commands.add_parser("trace", help="list the segments that trained a model and check their sources")
    trace.add_argument("model_dir", help="model directory, e.g. models/set00001_256_40000_def001")
    trace.add_argument("--split", default=None, help="list only this split: train, validation, test or 'skipped: <reason>'")
    trace.add_argument("--no-check", action="store_true", help="do not re-hash the index and waveform files")
    trace.set_defaults(action=_trace)

    summary = commands.add_parser("summary", help="what a model is, what trained it and its test metrics")
    summary.add_argument("model_dir", help="model directory, e.g. models/set00001_256_40000_def001")
    summary.set_defaults(action=_summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_guarded(lambda: args.action(args), f"seisclip {args.command}")


if __name__ == "__main__":
    sys.exit(main())
