"""Restoration applied: records in memory (ObsPy traces and streams, NumPy arrays) and files, one
record or a whole archive, all through the same calls."""

#: What ``output_rate`` (``restore --output-rate``) takes: each trace written at its own rate, or at
#: the model's (:mod:`.rates`). Here so that the command line's parser reads it importing nothing.
OUTPUT_RATES = ("record", "model")
