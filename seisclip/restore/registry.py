"""The restoration methods seisclip knows, in the order commands list them, and the one it
recommends. ``seisclip restore`` (its default and ``--method``'s choices), restore_clipped_waveform.py,
the archive run, ``evaluate``, ``compare``, the demo's summary and the benchmarks read them here.

A new method is a module with its class (:class:`~.methods.RestorationMethod`) and one
:func:`register` call below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ..errors import SeisclipError

if TYPE_CHECKING:
    from .inference import ModelRestorer
    from .methods import RestorationMethod


@dataclass(frozen=True)
class Build:
    """What a method is built with: the loaded network (for a method that needs a model), how its
    windows are laid and combined, and the methods it is built from (its entry's ``parts``)."""

    restorer: ModelRestorer | None = None
    stride: int | None = None
    combine: str = "median"
    parts: dict[str, RestorationMethod] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodEntry:
    name: str
    build: Callable[[Build], RestorationMethod]
    summary: str                    # what it does, for --method's help
    needs_model: bool = False
    parts: tuple[str, ...] = ()     # registry methods it is built from, each built once and shared


REGISTRY: dict[str, MethodEntry] = {}
#: The method to use, the default of ``restore``: on the development set of real records it erred
#: least at every level (docs/restoration.md).
RECOMMENDED = "hybrid"


def register(entry: MethodEntry) -> None:
    if entry.name in REGISTRY:
        raise SeisclipError(f"a restoration method {entry.name!r} is registered already")
    REGISTRY[entry.name] = entry


def method_names(model: bool = True, classic: bool = True) -> list[str]:
    """The registered methods, those that need a model (``model``) and those that do not (``classic``)."""
    return [name for name, entry in REGISTRY.items() if (model if entry.needs_model else classic)]


def method_entry(name: str) -> MethodEntry:
    if name not in REGISTRY:
        raise SeisclipError(f"method must be one of {tuple(REGISTRY)}, got {name!r}")
    return REGISTRY[name]


def build_methods(names: list[str], restorer: ModelRestorer | None = None, stride: int | None = None,
                  combine: str = "median") -> dict[str, RestorationMethod]:
    """The named methods, each built once with the parts it needs: the hybrid and the network
    alone asked for together predict the network's windows once."""
    from .methods import Reused

    built: dict[str, RestorationMethod] = {}

    def build(name: str) -> RestorationMethod:
        if name not in built:
            entry = method_entry(name)
            if entry.needs_model and restorer is None:
                raise SeisclipError(f"method {name!r} needs --model MODEL_DIR")
            parts = {part: build(part) for part in entry.parts}
            built[name] = Reused(entry.build(Build(restorer, stride, combine, parts)))
        return built[name]

    return {name: build(name) for name in names}


def build_method(name: str, restorer: ModelRestorer | None = None, stride: int | None = None,
                 combine: str = "median") -> RestorationMethod:
    return build_methods([name], restorer, stride, combine)[name]


# Each method's module is imported when the method is built: listing the methods (``--help``,
# every command's parser) loads none of them.

def _hybrid(build: Build) -> RestorationMethod:
    from .hybrid import HybridMethod

    return HybridMethod(build.parts["model"], build.parts["spline"], build.parts["pocs"],
                        build.restorer.band_calibration)


def _network(build: Build) -> RestorationMethod:
    from .inference import NetworkMethod

    return NetworkMethod(build.restorer, build.stride, build.combine)


def _classic(name: str) -> Callable[[Build], RestorationMethod]:
    def classic(build: Build) -> RestorationMethod:
        from .aspade import restore_aspade
        from .baselines import restore_pocs, restore_spline
        from .methods import ClassicMethod

        return ClassicMethod(name, {"spline": restore_spline, "pocs": restore_pocs, "aspade": restore_aspade}[name])

    return classic


def _cwr(build: Build) -> RestorationMethod:
    from .cwr import CWRMethod

    return CWRMethod()


register(MethodEntry("hybrid", _hybrid, "the model's network blended with POCS, and the cubic spline on the clipped "
                     "runs where the record is smooth (mostly the blend where the spline rises far above it)",
                     needs_model=True, parts=("model", "spline", "pocs")))
register(MethodEntry("model", _network, "the network alone", needs_model=True))
register(MethodEntry("spline", _classic("spline"), "cubic spline"))
register(MethodEntry("pocs", _classic("pocs"), "POCS"))
register(MethodEntry("aspade", _classic("aspade"), "A-SPADE"))
register(MethodEntry("cwr", _cwr, "CWRΔt after Edwards et al. 2025: POCS on overlapping segments sized from the "
                     "record's corner frequency, the mean over offsets of the segment grid, with a band from "
                     "their spread"))
