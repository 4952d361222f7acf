"""The ``seisclip`` subcommands that restore records and evaluate restorations: restore,
verify-restorations, merge-restorations, clip, evaluate, evaluation-summary, compare and
calibrate-band, and the
restoration options restore_clipped_waveform.py shares with them."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

from .arguments import positive_int
from .errors import SeisclipError


def _restore(args: argparse.Namespace) -> int:
    if not args.records and args.records_from is None:
        raise SeisclipError("no record to restore: give RECORD… or --records-from FILE")
    args.model = model_for(args.method, args.model)
    if args.out_dir is None and len(args.records) == 1 and args.records_from is None:
        from .restore.seismic import is_seismic_file

        if args.shard or args.jobs:
            raise SeisclipError("--shard and --jobs are for restoring many records: give --out-dir")
        options = dict(method=args.method, model_dir=args.model, output=args.out, plot=args.plot, stride=args.stride,
                       combine=args.combine, clip_counts=args.clip_counts, tolerance=args.tolerance,
                       batch_size=args.batch_size, overwrite=args.overwrite, trust_definition=args.trust_definition,
                       window=args.window, self_check=args.self_check)
        if os.path.isfile(args.records[0]) and is_seismic_file(args.records[0]):
            from .api.seismic_files import restore_seismic_file

            restore_seismic_file(args.records[0], output_rate=args.output_rate, **options)
        else:
            from .api.single import restore_file

            restore_file(args.records[0], labelled=args.labelled, **options)
        return 0
    from .api.archive import run_archive

    if args.out_dir is None:
        raise SeisclipError("several records (or --records-from) need --out-dir DIR for their outputs")
    if args.out is not None or args.plot is not None:
        raise SeisclipError("--out and --plot name one record's outputs; with --out-dir each record's are named "
                            "after it")
    summary = run_archive(args.records, args.out_dir, {
        "method": args.method, "model_dir": args.model, "window": args.window, "stride": args.stride,
        "combine": args.combine, "labelled": args.labelled, "clip_counts": args.clip_counts,
        "tolerance": args.tolerance, "output_rate": args.output_rate, "self_check": args.self_check},
        records_from=args.records_from, shard=args.shard, jobs=args.jobs, batch_size=args.batch_size,
        trust_definition=args.trust_definition, progress=not args.quiet)
    return 1 if summary.failed else 0


def model_for(method: str, model: str | None) -> str | None:
    """The model a restoration names: the one given, by its exact name (a bundled model's version,
    not its bare name), or for a method that needs one and was given none, the bundled reference
    model, said on stderr."""
    from .learn.bundled import DEFAULT_MODEL
    from .learn.models import model_identity
    from .restore.registry import method_entry, method_names

    if model is None and method_entry(method).needs_model:
        model = model_identity(DEFAULT_MODEL)
        *others, last = method_names(model=False)
        print(f"note: restoring with method {method} and the bundled model {model} (--model chooses another; "
              f"--method {', '.join(others)} or {last} needs none)", file=sys.stderr)
    return None if model is None else model_identity(model)


def _verify_restorations(args: argparse.Namespace) -> int:
    from .api.ledger import verify_restorations

    return verify_restorations(args.out_dir)


def _merge_restorations(args: argparse.Namespace) -> int:
    from .api.ledger import merge_restorations

    return merge_restorations(args.out_dirs, args.out)


def add_trust_option(parser: argparse.ArgumentParser, flag: Callable[[str], str]) -> None:
    parser.add_argument(flag("trust_definition"), dest="trust_definition", action="store_true",
                        help="run the model directory's definition.py when the model needs it (custom layers or "
                             "inputs) even though it matches no definition script here: only for code you trust")


def add_restore_options(parser: argparse.ArgumentParser, flag: Callable[[str], str]) -> None:
    """Options shared by ``seisclip restore`` and restore_clipped_waveform.py; ``flag`` spells
    each option's name in the command's style."""
    from .restore.registry import RECOMMENDED, REGISTRY

    parser.add_argument(flag("method"), dest="method", choices=tuple(REGISTRY), default=RECOMMENDED,
                        help=f"default {RECOMMENDED}, the one to use; " + "; ".join(
                            f"{entry.name}: {entry.summary}" for entry in REGISTRY.values()) + " (docs/restoration.md)")
    parser.add_argument(flag("window"), dest="window", type=positive_int, default=None,
                        help="window length for a fully convolutional model (default 4096 or its L if longer); "
                             "other models take windows of their L only")
    parser.add_argument(flag("stride"), dest="stride", type=positive_int, default=None,
                        help="samples between window starts (default a quarter of the window)")
    parser.add_argument(flag("self_check"), dest="self_check", action="store_true",
                        help="model: shrink the estimate towards the clipped input as far as a check on the record "
                             "itself asks (docs/restoration.md)")
    parser.add_argument(flag("combine"), dest="combine", choices=("median", "mean"), default="median",
                        help="how the windows covering a sample are combined (default median)")
    parser.add_argument(flag("clip_counts"), flag("clip_level"), dest="clip_counts", type=float, default=None,
                        help="plain input: samples with |value| >= this many counts are clipped (default: detect runs at "
                             "the extremes)")
    parser.add_argument(flag("tolerance"), dest="tolerance", type=float, default=0.0,
                        help="plain input, detection: counts within which a sample is at the extreme (default 0)")
    parser.add_argument(flag("batch_size"), dest="batch_size", type=positive_int, default=256,
                        help="windows per batch (default 256)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    add_trust_option(parser, flag)
    labelled = parser.add_mutually_exclusive_group()
    labelled.add_argument("--labelled", dest="labelled", action="store_true", default=None,
                          help="input is 'index value status' lines after a header (default: decided from the file)")
    labelled.add_argument("--plain", dest="labelled", action="store_false", help="input is one value per line")


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluate.evaluation import run_evaluate
    from .learn.models import model_identity

    run_evaluate(model_dir=model_identity(args.model) if args.model else None, records=args.records, clip_fractions=args.clip_fractions, out_dir=args.out_dir,
                 stride=args.stride, window=args.window, self_check=args.self_check, overwrite=args.overwrite,
                 progress=not args.quiet,
                 trust_definition=args.trust_definition)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .evaluate.compare import run_compare
    from .learn.models import model_identity

    run_compare([model_identity(model) for model in args.model_dirs], records=args.records, clip_fractions=args.clip_fractions, sort_by=args.sort_by,
                out_dir=args.out_dir, stride=args.stride, window=args.window, overwrite=args.overwrite,
                progress=not args.quiet, trust_definition=args.trust_definition)
    return 0


def _calibrate_band(args: argparse.Namespace) -> int:
    from .learn.models import open_model
    from .restore.band import BAND_CALIBRATION_FILE, CALIBRATION_FILES, CALIBRATION_SEED
    from .restore.calibration import calibrate
    from .restore.hybrid import HybridMethod
    from .restore.inference import ModelRestorer
    from .restore.registry import build_methods

    directory = open_model(args.model)
    out = args.out or os.path.join(directory.path, BAND_CALIBRATION_FILE)
    if os.path.lexists(out) and not args.overwrite:
        raise SeisclipError("band calibration exists already; --overwrite replaces it", out)
    files = CALIBRATION_FILES if args.files is None else args.files
    seed = CALIBRATION_SEED if args.seed is None else args.seed
    restorer = ModelRestorer.of(directory.load(args.trust_definition), band=False)
    parts = build_methods(["model", "spline", "pocs"], restorer)
    calibration = calibrate(HybridMethod(parts["model"], parts["spline"], parts["pocs"]), directory.sha256(),
                            files=files, seed=seed, progress=not args.quiet)
    calibration.write(out)
    print(f"{out}: the hybrid's 90 % band is restored + sign × [{calibration.lower_z:.3f}, {calibration.upper_z:.3f}] × "
          f"its parts' spread ({calibration.clipped_samples} clipped samples of {files} generated records, seed {seed})", file=sys.stderr)
    return 0


def _evaluation_summary(args: argparse.Namespace) -> int:
    from .evaluate.summary import evaluation_summary

    print(evaluation_summary(args.out_dir), end="")
    return 0


def _clip(args: argparse.Namespace) -> int:
    from .restore.records import clip_artificially

    record = clip_artificially(args.waveform, args.fraction, args.out, overwrite=args.overwrite)
    print(f"{args.out}: {int(record.clipped.sum())} of {record.values.size} samples clipped at +-{record.clip_high:g}",
          file=sys.stderr)
    return 0


def add_restoration_commands(commands) -> None:
    """restore, verify-restorations, merge-restorations, clip, evaluate, evaluation-summary and compare."""
    restore = commands.add_parser("restore", help="restore the clipped samples of a record, or of many into a folder")
    restore.add_argument("records", nargs="*", metavar="RECORD",
                         help="clipped record(s): labelled 'index value status' lines, one value per line, or "
                              "miniSEED, SAC and other files ObsPy reads; quoted globs are expanded")
    restore.add_argument("--records-from", default=None, metavar="FILE",
                         help="also restore the records (paths or globs) this file lists, one a line")
    restore.add_argument("--out-dir", default=None, metavar="DIR",
                         help="restore every record into DIR with one model load, each output named after its "
                              "record, and DIR/restorations.jsonl recording what restored what; a rerun skips the "
                              "records done")
    restore.add_argument("--shard", default=None, metavar="K/N",
                         help="with --out-dir: restore only share K of N of the records (for batch schedulers)")
    restore.add_argument("--jobs", type=positive_int, default=None,
                         help="with --out-dir: threads reading and restoring records (default: the CPUs)")
    from .api import OUTPUT_RATES

    restore.add_argument("--output-rate", choices=OUTPUT_RATES, default=OUTPUT_RATES[0],
                         help="a seismic trace at another rate than the model's (which the model "
                              "restores at its own rate): written at the record's rate (default; unclipped samples "
                              "as recorded) or at the model's, the whole trace resampled (docs/restoration.md)")
    restore.add_argument("--resample", dest="output_rate", action="store_const", const="model",
                         help="the same as --output-rate model")
    restore.add_argument("--quiet", action="store_true", help="with --out-dir: no progress bar")
    restore.add_argument("--model", default=None, help="a bundled model's name (default reference, the newest "
                                                        "reference-vN; `seisclip models` lists them), a model directory, "
                                                        "or a model of the group's scripts: SavedModel directory or .h5")
    restore.add_argument("--out", default=None,
                         help="restored record (default here: r.txt gives r.restored.txt, r.mseed r.restored.mseed, "
                              "docs/restoration.md); a seismic record's status file goes beside it, .status before "
                              "its suffix (and its band's files, .lower and .upper), and its amplitude table, "
                              "OUT.amplitudes.csv")
    restore.add_argument("--plot", default=None, help="PNG plot (default: the output's name with .png)")
    add_restore_options(restore, lambda name: "--" + name.replace("_", "-"))
    restore.set_defaults(action=_restore)

    verify_restorations = commands.add_parser(
        "verify-restorations", help="re-hash the inputs and outputs a restore --out-dir run recorded")
    verify_restorations.add_argument("out_dir", metavar="DIR", help="folder of a restore --out-dir run")
    verify_restorations.set_defaults(action=_verify_restorations)

    merge = commands.add_parser("merge-restorations",
                                help="join the restorations.jsonl of a run's shares, checking every record is there once")
    merge.add_argument("out_dirs", nargs="+", metavar="DIR", help="the folders of the shares (restore --shard K/N)")
    merge.add_argument("--out", required=True, help="joined log to write, e.g. restorations.jsonl")
    merge.set_defaults(action=_merge_restorations)

    clip = commands.add_parser("clip", help="clip an unclipped waveform at a fraction of its peak (labelled output)")
    clip.add_argument("waveform", help="unclipped ASCII waveform, one value per line")
    clip.add_argument("--fraction", "--level", dest="fraction", type=float, required=True,
                      help="clip level as a fraction of the peak, e.g. 0.4")
    clip.add_argument("--out", required=True, help="labelled record to write: a header, then 'index value status' lines")
    clip.add_argument("--overwrite", action="store_true", help="replace an existing output")
    clip.set_defaults(action=_clip)

    evaluate = commands.add_parser("evaluate", help="compare the model with the classic methods per clip-level bin")
    evaluate.add_argument("--model", default=None, help="a bundled model's name or a model directory (default source: "
                                                         "its test split)")
    evaluate.add_argument("--records", nargs="+", default=None, metavar="FILE",
                          help="evaluate on these unclipped records instead, clipped at --clip-fractions: ASCII "
                               "files, HDF5 banks, or miniSEED, SAC and other files bank import reads")
    evaluate.add_argument("--clip-fractions", "--clip-levels", dest="clip_fractions", nargs="+", type=float,
                          default=None, metavar="FRACTION",
                          help="clip levels as fractions of each record's peak (default 0.15 0.25 ... 0.95)")
    evaluate.add_argument("--window", type=positive_int, default=None,
                          help="records: window length for a fully convolutional model (default 4096 or its L)")
    evaluate.add_argument("--stride", type=positive_int, default=None,
                          help="records: samples between window starts (default a quarter of the window)")
    evaluate.add_argument("--self-check", action="store_true",
                          help="model: shrink each estimate towards the clipped input as far as a check on the "
                               "record itself asks")
    evaluate.add_argument("--out-dir", default=None, help="output folder (default evaluations/<model>_<test|records>)")
    evaluate.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    add_trust_option(evaluate, lambda name: "--" + name.replace("_", "-"))
    evaluate.set_defaults(action=_evaluate)

    summary = commands.add_parser("evaluation-summary",
                                  help="a few lines on an evaluation: the recommended method against the spline at "
                                       "three clip levels, and where the full tables are")
    summary.add_argument("out_dir", metavar="DIR", help="folder seisclip evaluate wrote")
    summary.set_defaults(action=_evaluation_summary)

    compare = commands.add_parser("compare", help="models side by side with the baselines, per record family: "
                                                  "Markdown, CSV and PNG")
    compare.add_argument("model_dirs", nargs="+", metavar="MODEL_DIR", help="model directories or bundled models' names to compare")
    compare.add_argument("--records", nargs="+", default=None, metavar="FILE",
                         help="unclipped records, clipped at --clip-fractions; a record's family is the folder "
                              "holding its file (without: only what the manifests say)")
    compare.add_argument("--clip-fractions", "--clip-levels", dest="clip_fractions", nargs="+", type=float,
                         default=None, metavar="FRACTION",
                         help="clip levels as fractions of each record's peak (default 0.15 0.25 ... 0.95)")
    compare.add_argument("--sort-by", default=None, metavar="COLUMN",
                         help="sort the rows by this column, ascending: a family (its mean ratio to the spline), "
                              "worse, parameters, epochs, training_s, test_mse, ... (default: as given)")
    compare.add_argument("--window", type=positive_int, default=None,
                         help="window length for a fully convolutional model (default 4096 or its L)")
    compare.add_argument("--stride", type=positive_int, default=None,
                         help="samples between window starts (default a quarter of the window)")
    compare.add_argument("--out-dir", default=None,
                         help="output folder (default evaluations/compare_<labels>)")
    compare.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    compare.add_argument("--quiet", action="store_true", help="no progress lines")
    add_trust_option(compare, lambda name: "--" + name.replace("_", "-"))
    compare.set_defaults(action=_compare)

    calibrate_band = commands.add_parser(
        "calibrate-band", help="calibrate the hybrid's 90 %% band for a model, on generated records, into "
                               "MODEL_DIR/band_calibration.json")
    calibrate_band.add_argument("--model", required=True, help="a bundled model's name or a model directory")
    calibrate_band.add_argument("--out", default=None, help="where to write it (default MODEL_DIR/band_calibration.json)")
    calibrate_band.add_argument("--files", type=positive_int, default=None,
                                help="generated records to calibrate on (default: CALIBRATION_FILES of "
                                     "seisclip/restore/band.py)")
    calibrate_band.add_argument("--seed", type=int, default=None,
                                help="their seed (default: CALIBRATION_SEED there, neither the demo bank's nor the "
                                     "benchmark's)")
    calibrate_band.add_argument("--overwrite", action="store_true", help="replace an existing calibration")
    calibrate_band.add_argument("--quiet", action="store_true", help="no progress bar")
    add_trust_option(calibrate_band, lambda name: "--" + name.replace("_", "-"))
    calibrate_band.set_defaults(action=_calibrate_band)
