"""seisclip's Python API (docs/api.md): ``load_model`` and ``restore``, exposed as
``seisclip.load_model`` and ``seisclip.restore``.

    model = seisclip.load_model("models/set00002_1024_20000_def004")   # loaded once
    restored = model.restore(stream)                   # a new Stream; also a Trace, or an array
    result = model.restoration(stream)                 # per trace: status, clip levels, runs, rates
    restored = seisclip.restore(stream, method="pocs")    # a classic method: no model

Every call goes through :func:`.signals.restore_signals`, as ``seisclip restore`` does for files;
a stream's traces are restored together (a network predicts all their windows in one go).
"""

from __future__ import annotations

import functools
import os
from typing import Any

from ..restore.inference import ModelRestorer
from ..restore.registry import RECOMMENDED, build_method, method_entry
from .data import inputs_of
from .rates import check_output_rate
from .result import Restorations
from .signals import restore_signals

#: The model ``seisclip.restore`` uses for a method that needs one: the bundled reference model.
REFERENCE_MODEL = "reference"


class Model:
    """A model loaded once (``load_model``), to restore ObsPy streams and traces and NumPy arrays.
    ``name``, ``sha256`` (of its network) and ``sampling_rate_hz`` (the rate it was trained at)
    say which it is."""

    def __init__(self, loaded: Any, batch_size: int = 256):
        handle = loaded.directory
        self.restorer = ModelRestorer.of(loaded, batch_size=batch_size)
        self.name: str = handle.name
        self.path = handle.path
        self.sha256: str = handle.sha256()
        self.sampling_rate_hz = float(handle.sampling_rate)

    def __repr__(self) -> str:
        return f"Model({self.name!r}, {self.sampling_rate_hz:g} Hz, sha256 {self.sha256[:12]})"

    def restoration(self, data: Any, method: str | None = None, mask: Any = None, clip_counts: float | None = None,
                    sampling_rate: float | None = None, output_rate: str = "record") -> Restorations:
        """``data`` restored, with what was done to each trace (:class:`~.result.Restorations`)."""
        return restoration(data, method, mask, clip_counts, sampling_rate, output_rate, model=self)

    def restore(self, data: Any, method: str | None = None, mask: Any = None, clip_counts: float | None = None,
                sampling_rate: float | None = None, output_rate: str = "record") -> Any:
        """``data`` restored, in its own kind: a new ``Stream``, ``Trace`` or array.

        * ``data``: an ObsPy ``Stream`` or ``Trace``, or a 1-D NumPy array with ``sampling_rate`` (Hz);
        * ``method``: a name of ``seisclip.restore.registry`` (None: the recommended one);
        * ``mask`` (True where clipped; a list of one per trace for a stream) or ``clip_counts``
          (samples at or beyond ± this many counts are clipped) say which samples are clipped;
          without either the clipping detector finds them, as ``seisclip restore`` does;
        * ``output_rate``: "record" gives each trace back at its own rate, "model" at the
          model's (docs/api.md, "Rates").
        """
        return self.restoration(data, method, mask, clip_counts, sampling_rate, output_rate).data()


def load_model(name_or_dir: str | os.PathLike, trust_definition: bool = False, batch_size: int = 256) -> Model:
    """The model ``name_or_dir`` (a model directory, a model of the group's scripts, or a bundled
    model's name), loaded once. ``trust_definition`` runs its definition.py where it needs it
    (docs/restoration.md); ``batch_size`` windows go through the network at a time."""
    from ..learn.models import load_any_model

    return Model(load_any_model(name_or_dir, trust_definition), batch_size)


@functools.lru_cache(maxsize=1)
def reference_model() -> Model:
    """The bundled reference model, loaded on first use and kept: ``seisclip.restore`` called in a
    loop loads it once."""
    return load_model(REFERENCE_MODEL)


def restoration(data: Any, method: str | None = None, mask: Any = None, clip_counts: float | None = None,
                sampling_rate: float | None = None, output_rate: str = "record",
                model: Model | None = None) -> Restorations:
    """``data`` restored by ``method`` (None: the recommended one), with ``model`` where the method
    needs one (None: the reference model); see :meth:`Model.restore`."""
    name = RECOMMENDED if method is None else method
    needs_model = method_entry(name).needs_model
    check_output_rate(output_rate)
    inputs = inputs_of(data, mask, clip_counts, sampling_rate)   # bad input is refused before a model loads
    used = (model or reference_model()) if needs_model else None
    restored = restore_signals(inputs.signals, build_method(name, used.restorer if used else None),
                               used.sampling_rate_hz if used else None, output_rate)
    return Restorations.of(inputs, restored, name, used.name if used else None, used.sha256 if used else None)


def restore(data: Any, method: str | None = None, mask: Any = None, clip_counts: float | None = None,
            sampling_rate: float | None = None, output_rate: str = "record") -> Any:
    """``seisclip.restore``: ``data`` restored in its own kind, as :meth:`Model.restore`, with no
    model for the classic methods (``method="pocs"``, "spline", "aspade", "cwr") and the bundled
    reference model for those that need one (the recommended one, ``method=None``)."""
    return restoration(data, method, mask, clip_counts, sampling_rate, output_rate).data()
