"""seisclip: traceable training sets of artificially clipped seismogram segments,
networks that restore clipped samples, and tools to apply them to real records.

The Python API (docs/api.md), imported on first use so that ``import seisclip`` stays light:

* ``seisclip.load_model(name_or_dir)``: a model, loaded once, whose ``restore`` restores ObsPy
  streams and traces and NumPy arrays;
* ``seisclip.restore(data, method="pocs")``: the same with no model, for the classic methods
  (a method that needs a model uses the bundled reference model).
"""

import types

__version__ = "0.1.0"
__all__ = ["__version__", "load_model", "restore"]

from . import restore as _restore_stage  # noqa: E402  (a docstring: nothing heavy)


class _CallableStage(types.ModuleType):
    """``seisclip.restore`` is the package of the restoration methods and the API's ``restore``
    function at once: a package and a function cannot otherwise share the name, and whichever
    was imported first would hide the other. Calling the package calls the function."""

    def __call__(self, data, method=None, mask=None, clip_counts=None, sampling_rate=None, output_rate="record"):
        """Restore ``data``, an ObsPy Stream or Trace or a 1-D NumPy array with its
        ``sampling_rate`` in Hz: :func:`seisclip.api.model.restore` (docs/api.md)."""
        from .api.model import restore

        return restore(data, method, mask, clip_counts, sampling_rate, output_rate)


_restore_stage.__class__ = _CallableStage


def __getattr__(name: str):
    """``seisclip.load_model``, imported when first asked for (PEP 562)."""
    if name == "load_model":
        from .api.model import load_model

        return load_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
