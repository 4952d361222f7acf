"""Restoration applied: records in memory (ObsPy traces and streams, NumPy arrays) and files, one
record or a whole archive, all through the same calls."""
