#!/usr/bin/env python3
"""The group's prediction command, run through seisclip:

    python predict_clipped_real_data_mean.py --number_of_consecutive_samples 256 --modeldir models \
        --modelname set00001_256_40000_def001 --ASCIIlabelledwaveform FILE [--sbrl] [--show]

Writes FILE.<modelname>.mean.restored.txt and .png; see docs/restoration.md.
"""

import sys

from seisclip.restore.group_scripts import prediction_main

if __name__ == "__main__":
    sys.exit(prediction_main(heatmap=False))
