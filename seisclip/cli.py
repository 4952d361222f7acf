"""The ``seisclip`` command and the argument sets the top-level scripts share with it."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import __version__
from .arguments import ArgumentParser, positive_int, run_guarded
from .errors import SeisclipError
from .restoration_cli import add_restoration_commands


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--segment-length", "--number_of_consecutive_samples", dest="number_of_consecutive_samples",
                        type=int, default=256, metavar="L",
                        help="segment length in samples (default 256: 6.4 s at 40 Hz)")
    parser.add_argument("--segments", "--number_of_training_segments", dest="number_of_training_segments", type=int,
                        default=40000, metavar="N",
                        help="number of segments to draw (default 40000)")
    parser.add_argument("--ascii-dir", "--ASCII_file_dir", dest="ASCII_file_dir", default=None, metavar="DIR",
                        help="waveform folder as written into the index lines (default outfiles, the linker.sh link; "
                             "with --bank, the bank's path)")
    parser.add_argument("--metadata", "--metadata_file", dest="metadata_file", default="outfiles_contents_reordered.txt",
                        metavar="FILE",
                        help="bank metadata in wc format (default outfiles_contents_reordered.txt)")
    parser.add_argument("--out", "--output_file", dest="output_file", required=True, metavar="FILE",
                        help="index file to write; its manifest goes beside it with the suffix .json")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed (default: derived from the output file's stem, so a set name reproduces its set)")
    parser.add_argument("--min-clip-fraction", "--min_rscale", dest="min_clip_fraction", type=float, default=0.1,
                        help="lowest clip level, a fraction of the segment's peak (default 0.1)")
    parser.add_argument("--max-clip-fraction", "--max_rscale", dest="max_clip_fraction", type=float, default=1.0,
                        help="highest clip level, a fraction of the segment's peak (default 1.0)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing index file and manifest")
    parser.add_argument("--strict", action="store_true", help="a bad metadata line is an error instead of being skipped")
    parser.add_argument("--bank", default=None, metavar="BANK.h5",
                        help="draw from the traces of this HDF5 bank (seisclip bank ingest or import) "
                             "instead of the metadata file's")


def run_selection(args: argparse.Namespace) -> int:
    from .sets.selection import SelectionRequest, select_segments

    select_segments(SelectionRequest(
        segment_length=args.number_of_consecutive_samples,
        number_of_segments=args.number_of_training_segments,
        ascii_dir=args.ASCII_file_dir or (args.bank if args.bank is not None else "outfiles"),
        metadata_file=args.metadata_file,
        output_file=args.output_file,
        seed=args.seed,
        clip_level_range=(args.min_clip_fraction, args.max_clip_fraction),
        overwrite=args.overwrite,
        strict=args.strict,
        bank=args.bank,
    ))
    return 0


def selection_main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Entry point of ``select_training_samples.py``."""
    parser = ArgumentParser(prog=prog, description="Draw random training segments and write an index file with its manifest.")
    add_selection_arguments(parser)
    args = parser.parse_args(argv)
    return run_guarded(lambda: run_selection(args), parser.prog)


def _demo_bank(args: argparse.Namespace) -> int:
    from .bank.synthetic import generate_demo_bank

    chosen = {key: value for key, value in (("n_files", args.files), ("seed", args.seed)) if value is not None}
    metadata = generate_demo_bank(args.directory, metadata_path=args.metadata, progress=not args.quiet, **chosen)
    print(metadata)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .sets.verify import run_verify

    return run_verify(args.index, args.manifest, args.metadata, args.bank)


def _adopt(args: argparse.Namespace) -> int:
    from .sets.adopt import AdoptionRequest, adopt_index

    adopt_index(AdoptionRequest(index_file=args.index, metadata_file=args.metadata, ascii_dir=args.ascii_dir,
                                bank=args.bank, segment_length=args.segment_length, progress=not args.quiet))
    return 0


def _trace(args: argparse.Namespace) -> int:
    from .learn.trace import trace_model

    return trace_model(args.model_dir, split=args.split, check=not args.no_check)


def _adopt_model(args: argparse.Namespace) -> int:
    from .learn.adopted import adopt_model

    manifest = adopt_model(args.model, args.normalisation, sbrl=args.sbrl)
    print(f"adopted {args.model}: {args.normalisation} normalisation{', sbrl' if args.sbrl else ''} -> {manifest}",
          file=sys.stderr)
    return 0


def _summary(args: argparse.Namespace) -> int:
    from .learn.trace import summarise_model

    return summarise_model(args.model_dir)


def _models(args: argparse.Namespace) -> int:
    from .learn.models import model_listing

    rows, problems = model_listing(args.folder)
    columns = ("model", "rate_hz", "window_samples", "definition", "test_mse", "training_data")
    cells = [columns, *([_cell(row[column]) for column in columns] for row in rows)]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns) - 1)]
    for line in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[-1])
    for problem in problems:
        print(f"note: not listed: {problem}", file=sys.stderr)
    return 0


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.5f}" if value < 1 else f"{value:g}"
    return "-" if value is None else str(value)


def _new_definition(args: argparse.Namespace) -> int:
    from .learn.new_definition import new_definition

    print(f"wrote {new_definition(args.source, name=args.name, folder=args.dir)}")
    return 0


def _bank_ingest(args: argparse.Namespace) -> int:
    from .bank.ingest import ingest_bank

    print(ingest_bank(args.metadata, args.ascii_dir, args.out, sampling_rate=args.sampling_rate,
                      overwrite=args.overwrite, strict=args.strict, progress=not args.quiet))
    return 0


def _bank_import(args: argparse.Namespace) -> int:
    from .bank.importing import import_to_ascii, import_to_bank
    from .bank.settings import ImportSettings

    if (args.out is None) == (args.ascii_dir is None):
        raise SeisclipError("give either --out BANK.h5 (an HDF5 bank) or --ascii-dir DIR with --metadata FILE "
                            "(the ASCII format)")
    if (args.ascii_dir is None) != (args.metadata is None):
        raise SeisclipError("--ascii-dir and --metadata go together: the folder of waveform files and their list")
    settings = ImportSettings(sampling_rate=args.sampling_rate, detrend=args.detrend, min_samples=args.min_samples,
                              clip_run=args.clip_run, keep_clipped=args.keep_clipped, hdf5_rate=args.hdf5_rate,
                              strict=args.strict)
    if args.out is not None:
        summary = import_to_bank(args.sources, args.out, settings, report_file=args.report, overwrite=args.overwrite,
                                 progress=not args.quiet)
    else:
        summary = import_to_ascii(args.sources, args.ascii_dir, args.metadata, settings, report_file=args.report,
                                  overwrite=args.overwrite, progress=not args.quiet)
    print(summary)
    return 0


def _bank_verify(args: argparse.Namespace) -> int:
    from .bank.verify import run_bank_verify

    return run_bank_verify(args.bank, args.ascii_dir, progress=not args.quiet)


def _export(args: argparse.Namespace) -> int:
    from .sets.export import ExportRequest, export_set

    print(export_set(ExportRequest(
        index=args.index, bank=args.bank, out=args.out, segment_length=args.segment_length, sbrl=args.sbrl,
        normalisation=args.normalisation, min_peak=args.min_peak, seed=args.seed, definition=args.definition,
        strict=args.strict, overwrite=args.overwrite, progress=not args.quiet)))
    return 0


def _add_bank_commands(commands) -> None:
    from .bank.settings import DEFAULT_SAMPLING_RATE

    bank = commands.add_parser("bank", help="the HDF5 waveform bank: ingest the ASCII files, import seismic data files, "
                                            "verify it")
    actions = bank.add_subparsers(dest="bank_command", required=True, metavar="ACTION")
    ingest = actions.add_parser("ingest", help="write every waveform file of a metadata list into one HDF5 bank")
    ingest.add_argument("--metadata", required=True, help="metadata file in wc format, e.g. outfiles_contents_reordered.txt")
    ingest.add_argument("--ascii-dir", required=True, help="folder of the ASCII waveform files the metadata lists")
    ingest.add_argument("--out", required=True, help="bank file to write, e.g. bank.h5")
    ingest.add_argument("--sampling-rate", type=float, default=DEFAULT_SAMPLING_RATE,
                        help=f"samples per second (default {DEFAULT_SAMPLING_RATE:g})")
    ingest.add_argument("--overwrite", action="store_true", help="replace an existing bank file")
    ingest.add_argument("--strict", action="store_true", help="a bad metadata line is an error instead of being skipped")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(action=_bank_ingest)

    _add_bank_import_command(actions)

    verify = actions.add_parser("verify", help="check every trace of a bank against its recorded counts and hashes")
    verify.add_argument("bank", help="bank file, e.g. bank.h5")
    verify.add_argument("--ascii-dir", default=None, help="also check every trace against its ASCII file in this folder")
    verify.add_argument("--quiet", action="store_true", help="no progress bar")
    verify.set_defaults(action=_bank_verify)


def _add_bank_import_command(actions) -> None:
    from .bank.settings import DEFAULT_CLIP_RUN, DEFAULT_HDF5_RATE, DEFAULT_MIN_SAMPLES, DEFAULT_SAMPLING_RATE, DETRENDS

    imports = actions.add_parser(
        "import", help="import miniSEED, SAC (anything ObsPy reads) and CREDIT-X1local HDF5 files into a bank")
    imports.add_argument("sources", nargs="+", metavar="SOURCE",
                         help="data files, or folders searched for them (a file there that is no waveform is "
                              "skipped and reported)")
    imports.add_argument("--out", default=None, help="HDF5 bank to write, e.g. bank.h5")
    imports.add_argument("--ascii-dir", default=None,
                         help="instead: folder of ASCII waveform files to write (one sample per line)")
    imports.add_argument("--metadata", default=None, help="with --ascii-dir: their metadata list to write (wc format)")
    imports.add_argument("--report", default=None,
                         help="import report (JSON) to write (default: beside the bank or the metadata, "
                              "NAME.import.json)")
    imports.add_argument("--sampling-rate", type=float, default=DEFAULT_SAMPLING_RATE,
                         help=f"the bank's rate: faster traces are resampled with an anti-alias filter, slower ones "
                              f"left out (default {DEFAULT_SAMPLING_RATE:g} Hz)")
    imports.add_argument("--detrend", choices=DETRENDS, default="none",
                         help="remove each trace's mean or linear trend before resampling (default none)")
    imports.add_argument("--min-samples", type=positive_int, default=DEFAULT_MIN_SAMPLES,
                         help=f"leave out traces shorter than this at the bank's rate (default {DEFAULT_MIN_SAMPLES})")
    imports.add_argument("--clip-run", type=positive_int, default=DEFAULT_CLIP_RUN,
                         help=f"a flat run this long at a trace's extreme, entered and left steeply, marks it clipped "
                              f"(default {DEFAULT_CLIP_RUN})")
    imports.add_argument("--keep-clipped", action="store_true",
                         help="import clipped traces too (flagged in the bank's 'clipped' column and the report)")
    imports.add_argument("--hdf5-rate", type=float, default=DEFAULT_HDF5_RATE,
                         help=f"sampling rate of CREDIT-X1local datasets that carry none (default {DEFAULT_HDF5_RATE:g} Hz)")
    imports.add_argument("--strict", action="store_true", help="a file in a source folder that is no waveform is an error")
    imports.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    imports.add_argument("--quiet", action="store_true", help="no progress bar")
    imports.set_defaults(action=_bank_import)


def _add_export_command(commands) -> None:
    from .sets.labels import DEFAULT_MIN_PEAK, NORMALISATIONS

    export = commands.add_parser("export", help="materialise an index file's training set as plain HDF5")
    export.add_argument("index", help="index file, e.g. indices_files/set00001_256_40000.txt")
    export.add_argument("--bank", required=True, help="HDF5 bank to read the segments from (seisclip bank ingest)")
    export.add_argument("--out", required=True, help="file to write, e.g. set00001_256_40000.h5")
    export.add_argument("--segment-length", type=int, default=None,
                        help="samples per segment (default: the selection manifest's)")
    export.add_argument("--sbrl", action="store_true", help="scale each clipped run's status by its length")
    export.add_argument("--normalisation", choices=NORMALISATIONS, default="peak",
                        help="divide segments by their peak or by their clip level in counts (default peak)")
    export.add_argument("--min-peak", type=float, default=DEFAULT_MIN_PEAK,
                        help=f"skip segments whose peak |count| is below this (default {DEFAULT_MIN_PEAK:g})")
    export.add_argument("--seed", type=int, default=None,
                        help="seed of the split (default: the one training --definition on this index would derive)")
    export.add_argument("--definition", default="def001",
                        help="model definition whose default training seed splits the set (default def001)")
    export.add_argument("--strict", action="store_true", help="a segment that would be skipped is an error")
    export.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    export.add_argument("--quiet", action="store_true", help="no progress bar")
    export.set_defaults(action=_export)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="seisclip", description=(
        "Build traceable training sets of artificially clipped seismogram segments, train networks "
        "that restore clipped samples, and restore clipped records."))
    parser.add_argument("--version", action="version", version=f"seisclip {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo-bank", help="generate a bank of realistic 40 Hz seismograms (the demo bank, or more "
                                                 "training data with another --seed)")
    demo.add_argument("directory", help="folder to create (kept as it is if it already holds the complete bank)")
    demo.add_argument("--metadata", default=None, help="metadata file to write (default DIRECTORY/outfiles_contents_reordered.txt)")
    demo.add_argument("--files", type=positive_int, default=None, help="number of waveform files (default 600)")
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
    verify.add_argument("--bank", default=None,
                        help="for a set drawn from an HDF5 bank: the bank (default: the one the manifest names)")
    verify.set_defaults(action=_verify)

    adopt = commands.add_parser("adopt", help="write the missing manifest of an index file the group's original "
                                              "selector made, so that verify, training and trace treat it as drawn")
    adopt.add_argument("index", help="index file, e.g. indices_files/set00001_256_40000.txt")
    listing = adopt.add_mutually_exclusive_group()
    listing.add_argument("--metadata", default="outfiles_contents_reordered.txt", metavar="FILE",
                         help="metadata file in wc format listing the waveform files "
                              "(default outfiles_contents_reordered.txt)")
    listing.add_argument("--bank", default=None, metavar="BANK.h5",
                         help="instead: the HDF5 bank holding the traces; its provenance is recorded "
                              "instead of each waveform file's sha256")
    adopt.add_argument("--ascii-dir", default=None, metavar="DIR",
                       help="the folder the index lines name (default: the one line 1 names)")
    adopt.add_argument("--segment-length", type=positive_int, default=None, metavar="L",
                       help="samples per segment (default: SEGLEN of the name <SETID>_<SEGLEN>_<NUMSEG>.txt)")
    adopt.add_argument("--quiet", action="store_true", help="no progress bar")
    adopt.set_defaults(action=_adopt)

    trace = commands.add_parser("trace", help="list the segments that trained a model and check their sources")
    trace.add_argument("model_dir", help="model directory, e.g. models/set00001_256_40000_def001")
    trace.add_argument("--split", default=None, help="list only this split: train, validation, test or 'skipped: <reason>'")
    trace.add_argument("--no-check", action="store_true", help="do not re-hash the index and waveform files")
    trace.set_defaults(action=_trace)

    adopt_model = commands.add_parser(
        "adopt-model", help="record how the group's own scripts fed a SavedModel directory or .h5 model, and the "
                            "sha256 of its files, so that restore, evaluate and compare use it as they did")
    adopt_model.add_argument("model", help="SavedModel directory (model.save(DIR) under Keras 2) or legacy .h5 file")
    adopt_model.add_argument("--normalisation", "--scaling", dest="normalisation", required=True,
                             choices=("peak", "none"),
                             help="peak: each record divided by its largest |value| (predict_clipped_real_data_mean.py); "
                                  "none: in counts (their sbrl scripts)")
    adopt_model.add_argument("--sbrl", action="store_true", help="the status input is scaled by run length")
    adopt_model.set_defaults(action=_adopt_model)

    summary = commands.add_parser("summary", help="what a model is, what trained it and its test metrics")
    summary.add_argument("model_dir", help="model directory, e.g. models/set00001_256_40000_def001")
    summary.set_defaults(action=_summary)

    models = commands.add_parser("models", help="the bundled models and those under models/: rate, window length, "
                                                "definition, test MSE and training data")
    models.add_argument("--folder", default="models", help="the folder of model directories (default %(default)s)")
    models.set_defaults(action=_models)

    new = commands.add_parser("new-definition", help="start a definition script as a copy of another, under the next "
                                                     "free number; never overwrites")
    new.add_argument("source", metavar="FROM", help="the definition to copy: its name (def004) or its script's path")
    new.add_argument("--name", default=None, metavar="defNNN", help="the copy's name (default: one above the highest "
                                                                    "defNNN in DIR)")
    new.add_argument("--dir", default=".", metavar="DIR", help="the folder of the wrappers, where the copy goes and "
                                                               "FROM is looked for (default: the working folder)")
    new.set_defaults(action=_new_definition)

    add_restoration_commands(commands)
    _add_bank_commands(commands)
    _add_export_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_guarded(lambda: args.action(args), f"seisclip {args.command}")


if __name__ == "__main__":
    sys.exit(main())
