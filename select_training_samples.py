#!/usr/bin/env python3
"""Draw NUMSEG random training segments (file, start, clip level) from the bank's metadata
and write `istart rscale path` lines, with a JSON manifest beside them.

    python select_training_samples.py --number_of_consecutive_samples 256 \
        --number_of_training_segments 40000 --ASCII_file_dir outfiles \
        --metadata_file outfiles_contents_reordered.txt \
        --output_file indices_files/set00001_256_40000.txt [--seed 1234]
"""

import sys

from seisclip.cli import selection_main

if __name__ == "__main__":
    sys.exit(selection_main())
