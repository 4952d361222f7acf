"""seisclip: traceable training sets of artificially clipped seismogram segments,
networks that restore clipped samples, and tools to apply them to real records."""

__version__ = "0.1.0"
