"""The flags of every definition script (run_create_and_train_model.sh passes them on), spelled
like seisclip's other commands; the group's own spellings (``--number_of_consecutive_samples``,
``--segdefname``, ``--batch_size`` …) are kept as aliases. They become a :class:`TrainingConfig`
here, and nothing after reads a flag."""

from __future__ import annotations

import os
from typing import Sequence

from ..arguments import ArgumentParser, set_name
from ..sets.labels import DEFAULT_MIN_PEAK
from ..sets.split import MAX_TRAINING_SEED
from .config import TrainingConfig
from .definition import Definition
from .distribution import PRECISIONS, STRATEGIES


def parse_arguments(definition: Definition, argv: Sequence[str] | None) -> TrainingConfig:
    hp = definition.hyperparameters
    parser = ArgumentParser(
        prog=os.path.basename(definition.source_file),
        description=f"Train model definition {definition.name} on an index file and save it under models/.")
    parser.add_argument("--segment-length", "--number_of_consecutive_samples", dest="segment_length", type=int,
                        required=True, metavar="L",
                        help="segment length; must be the one the index file was drawn with")
    parser.add_argument("--set-name", "--segdefname", dest="set_name", required=True, metavar="STEM", type=set_name,
                        help="index file stem, e.g. set00001_256_40000 for indices_files/set00001_256_40000.txt")
    parser.add_argument("--indices-dir", "--indices_dir", dest="indices_dir", default="indices_files", help="folder of index files (default indices_files)")
    parser.add_argument("--models-dir", "--models_dir", dest="models_dir", default="models", help="folder of model directories (default models)")
    parser.add_argument("--epochs", type=int, default=hp["epochs"], help=f"default {hp['epochs']}")
    parser.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int, default=hp["batch_size"],
                        help="global batch size: the segments of one training step, split over all replicas "
                             f"(every GPU of every worker) (default {hp['batch_size']})")
    parser.add_argument("--learning-rate", "--learning_rate", dest="learning_rate", type=float, default=hp["learning_rate"], help=f"default {hp['learning_rate']}")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the split, the initial weights and the shuffling (default: derived from the model name)")
    parser.add_argument("--sbrl", action="store_true", help="scale each clipped run's status by its length")
    parser.add_argument("--min-peak", "--min_peak", dest="min_peak_counts", type=float, default=DEFAULT_MIN_PEAK,
                        help=f"skip segments whose peak |count| is below this (default {DEFAULT_MIN_PEAK:g})")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing model directory")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run of this model from its last completed epoch (its checkpoint "
                             "in MODELS_DIR/.NAME.work/), with the same arguments")
    parser.add_argument("--strict", action="store_true", help="a segment that would be skipped is an error")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    parser.add_argument("--bank", default=None, metavar="BANK.h5",
                        help="read the index lines' waveforms from this HDF5 bank (seisclip bank ingest) "
                             "instead of the ASCII files")
    parser.add_argument("--stream", action="store_true",
                        help="read segments from --bank a batch at a time instead of holding them all "
                             "(for sets larger than memory; same batches as without it)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="default",
                        help="default: one device (the first GPU if one is visible, else the CPU); mirrored: every "
                             "GPU of this machine (tf.distribute.MirroredStrategy); multiworker: several machines, "
                             "each running this command with its own TF_CONFIG, the chief writing the model "
                             "(tf.distribute.MultiWorkerMirroredStrategy) (default default)")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="Keras dtype policy while training: mixed_float16 for GPUs, mixed_bfloat16 for TPUs "
                             "and recent GPUs and CPUs; the saved model is float32 whatever this is (default float32)")
    args = parser.parse_args(argv)
    if args.stream and args.bank is None:
        parser.error("--stream reads from an HDF5 bank: give --bank BANK.h5")
    for flag, value in (("--segment-length", args.segment_length), ("--epochs", args.epochs),
                        ("--batch-size", args.batch_size)):
        if value <= 0:
            parser.error(f"{flag} must be a positive integer, got {value}")
    if args.seed is not None and not 0 <= args.seed < MAX_TRAINING_SEED:
        parser.error(f"--seed must be an integer in [0, 2**32 - 1] (TensorFlow's range), got {args.seed}")
    if not args.learning_rate > 0:
        parser.error(f"--learning-rate must be positive, got {args.learning_rate}")
    return TrainingConfig.from_arguments(args)
