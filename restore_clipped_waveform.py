#!/usr/bin/env python3
"""Restore the clipped samples of a record with a trained model (or a classic baseline).

    python restore_clipped_waveform.py --input_file record.txt --model_dir models/set00001_256_40000_def002 \
        [--output_file record.restored.txt] [--plot_file record.restored.png] [--method METHOD]

METHOD is one of seisclip.restore.registry's methods, its recommended one by default.

Writes `index value status restored lower upper` lines, the amplitude table and a PNG plot; see `seisclip restore --help`.
The group's prediction flags work too: --ASCIIlabelledwaveform FILE, --modeldir DIR --modelname NAME
and --number_of_consecutive_samples L (checked against the model).
"""

import sys

from seisclip.arguments import ArgumentParser, run_guarded
from seisclip.restoration_cli import add_restore_options
from seisclip.errors import SeisclipError
from seisclip.restore.group_scripts import add_group_model_flags, group_model_path
from seisclip.api.single import restore_file


def main() -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input_file", "--ASCIIlabelledwaveform", dest="input_file", required=True,
                        help="clipped record (labelled or one value per line)")
    parser.add_argument("--model_dir", default=None, help="model directory under models/")
    add_group_model_flags(parser, required=False)
    parser.add_argument("--output_file", default=None,
                        help="restored record (default here: r.txt gives r.restored.txt, NAME NAME.restored.txt)")
    parser.add_argument("--plot_file", default=None, help="PNG plot (default: the output's name with .png)")
    add_restore_options(parser, lambda name: "--" + name)
    args = parser.parse_args()

    def restore() -> int:
        if args.modelname is not None and args.model_dir is not None:
            raise SeisclipError("give the model either as --model_dir or as --modeldir and --modelname, not both")
        model_dir = group_model_path(args.modeldir, args.modelname) if args.modelname is not None else args.model_dir
        restore_file(args.input_file, method=args.method, model_dir=model_dir,
                     window_length=args.number_of_consecutive_samples, output=args.output_file,
                     plot=args.plot_file, stride=args.stride, combine=args.combine, labelled=args.labelled,
                     clip_counts=args.clip_counts, tolerance=args.tolerance, batch_size=args.batch_size,
                     overwrite=args.overwrite, trust_definition=args.trust_definition, window=args.window,
                     self_check=args.self_check)
        return 0

    return run_guarded(restore, parser.prog)


if __name__ == "__main__":
    sys.exit(main())
