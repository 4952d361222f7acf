"""What a ``create_and_train_model_defNNN.py`` script defines, checked before anything trains.

A definition script passes its choices to :func:`seisclip.learn.training.train_definition`;
everything but the name, the model and the loss is optional and defaults to def001's choice:

* ``HYPERPARAMETERS``: ``epochs``, ``batch_size``, ``learning_rate`` (required; the command
  line may override them), plus any key that ``build_model``, ``optimizer`` or ``callbacks``
  takes as a keyword parameter of the same name; any other key is an error;
* ``inputs``: the channels the network sees (:mod:`seisclip.sets.channels`);
* ``normalisation``: ``"peak"``, ``"clip"`` or a function of the clipped windows
  (:mod:`seisclip.sets.labels`);
* ``augmentation``: steps applied to training batches (:mod:`seisclip.sets.augmentation`);
* ``optimizer``: a function returning a Keras optimizer (default Adam at ``learning_rate``);
  it may take ``steps_per_epoch`` for a learning-rate schedule;
* ``callbacks``: a function returning extra Keras callbacks (early stopping, …).

A choice the script defines at module level (``AUGMENTATION``, ``def optimizer``, …; see
:data:`SCRIPT_NAMES`) must be the one it passes: one defined and not passed is refused.

A definition takes another's choices through :func:`definition_module` (``def004 =
definition_module("def004")``), never by the import path: so every definition script that made a
model is known, hashed into its manifest and copied into its model directory, and a model
directory loads from its own copies.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping, Sequence

from ..errors import SeisclipError
from ..sets.augmentation import check_augmentation
from ..sets.channels import DEFAULT_INPUTS, Channel, channel_name, check_channels
from ..sets.labels import NORMALISATIONS, Normalisation, normalisation_name

#: The hyperparameters the training run itself reads, with their type; all three are required.
RUN_HYPERPARAMETERS = {"epochs": int, "batch_size": int, "learning_rate": float}
#: The name a definition script gives each optional choice at module level: values in capitals,
#: functions by the choice's own name.
SCRIPT_NAMES = {"inputs": "INPUTS", "normalisation": "NORMALISATION", "augmentation": "AUGMENTATION",
                "optimizer": "optimizer", "callbacks": "callbacks"}
#: The optional choices of a definition, passed to train_definition by keyword.
CHOICES = tuple(SCRIPT_NAMES)
#: The module-level name by which a copy made by ``seisclip new-definition`` names the script it
#: started from: ``(definition name, sha256 of that script when copied)``.
STARTED_FROM = "STARTED_FROM"
#: A definition's name (its NAME), and its script's file name.
DEFINITION_NAME = re.compile(r"[A-Za-z0-9_]+")
_FILE_NAME = re.compile(r"create_and_train_model_(?P<name>[A-Za-z0-9_]+)\.py")
_MODULE_NAME = re.compile(r"create_and_train_model_(?P<name>[A-Za-z0-9_]+)")
#: Where a script loaded by :func:`load_definition_script` keeps the definitions it took with
#: :func:`definition_module`: their names and modules.
_IMPORTED = "__seisclip_imported_definitions__"
_loading: set[Path] = set()


def script_file_name(name: str) -> str:
    """The file name of definition ``name``'s script."""
    return f"create_and_train_model_{name}.py"


def _is_origin(value: Any) -> bool:
    return (isinstance(value, tuple) and len(value) == 2 and all(isinstance(part, str) for part in value)
            and bool(DEFINITION_NAME.fullmatch(value[0])) and bool(re.fullmatch(r"[0-9a-f]{64}", value[1])))


def definition_name(path: str | os.PathLike) -> str | None:
    """The definition name a script's file name gives, or None if it is no definition script's."""
    match = _FILE_NAME.fullmatch(os.path.basename(path))
    return match["name"] if match else None


@dataclass(frozen=True)
class Definition:
    """One definition script's choices."""

    name: str
    build_model: Callable[..., Any]
    loss: Callable[[Any, Any], Any]
    hyperparameters: dict[str, Any]
    source_file: str
    inputs: Sequence[Channel] = DEFAULT_INPUTS
    normalisation: Normalisation = "peak"
    augmentation: Sequence[Any] = ()
    optimizer: Callable[..., Any] | None = None
    callbacks: Callable[..., list] | None = None
    #: The definition scripts it takes choices from (:func:`definition_module`), and those they
    #: take from: name → file.
    imported: Mapping[str, Path] = field(default_factory=dict)
    #: (name, sha256) of the script this one was copied from, when new-definition made it.
    started_from: tuple[str, str] | None = None

    def problems(self) -> list[str]:
        """Everything wrong with the definition, one line each."""
        problems = []
        file_name = definition_name(self.source_file)
        if file_name is None:
            problems.append("a definition script is named create_and_train_model_<NAME>.py")
        elif file_name != self.name:
            problems.append(f"NAME is {self.name!r} but the file name says {file_name!r}: "
                            f"set NAME = {file_name!r}")
        for script in (self.source_file, *self.imported.values()):
            problems += [f"{os.path.basename(script)}: {problem}" if script != self.source_file else problem
                         for problem in imports_by_path(script)]
        problems += self._hyperparameter_problems()
        if self.started_from is not None and not _is_origin(self.started_from):
            problems.append(f"{STARTED_FROM} must be (a definition's name, the sha256 of its script), "
                            f"got {self.started_from!r}")
        problems += check_channels(self.inputs)
        if not (self.normalisation in NORMALISATIONS or callable(self.normalisation)):
            problems.append(f"normalisation must be one of {', '.join(NORMALISATIONS)} or a function of the "
                            f"clipped windows, got {self.normalisation!r}")
        problems += check_augmentation(self.augmentation)
        for role in ("optimizer", "callbacks"):
            function = getattr(self, role)
            if function is not None and not callable(function):
                problems.append(f"{role} must be a function, got {function!r}")
        return problems

    def _hyperparameter_problems(self) -> list[str]:
        hp = self.hyperparameters
        if not isinstance(hp, dict):
            return [f"HYPERPARAMETERS must be a dict, got {type(hp).__name__}"]
        problems = [f"HYPERPARAMETERS: missing {key!r}" for key in RUN_HYPERPARAMETERS if key not in hp]
        for key, kind in RUN_HYPERPARAMETERS.items():
            value = hp.get(key)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if key in hp and not (number and (kind is float or isinstance(value, int)) and value > 0):
                problems.append(f"HYPERPARAMETERS: {key!r} must be a positive {kind.__name__}, got {value!r}")
        takers = {role: _parameters(function) for role, function in
                  (("build_model", self.build_model), ("optimizer", self.optimizer), ("callbacks", self.callbacks))
                  if function is not None}
        for key in hp:
            if key not in RUN_HYPERPARAMETERS and not any(key in names for names in takers.values()):
                problems.append(f"HYPERPARAMETERS: unknown key {key!r}: not one of {', '.join(RUN_HYPERPARAMETERS)} "
                                f"nor a parameter of {', '.join(takers)}")
        return problems

    def check(self, script_problems: Sequence[str] = ()) -> None:
        """Refuse the first problem, ``script_problems`` (:func:`dropped_choices`) before the
        definition's own: a choice not passed can be what makes a hyperparameter unknown."""
        problems = [*script_problems, *self.problems()]
        if problems:
            raise SeisclipError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                                self.source_file)

    @property
    def channel_names(self) -> list[str]:
        return [channel_name(channel) for channel in self.inputs]

    @property
    def custom_channels(self) -> dict[str, Callable]:
        return {channel.__name__: channel for channel in self.inputs if callable(channel)}

    def make_model(self, segment_length: int, hyperparameters: dict[str, Any]):
        """``build_model(segment_length, [channels=…], [hyperparameters it names])``."""
        offered = {**hyperparameters, "channels": len(self.inputs)}
        return self.build_model(segment_length, **_named(self.build_model, offered, skip_first=True))

    def make_optimizer(self, hyperparameters: dict[str, Any], steps_per_epoch: int):
        if self.optimizer is None:
            from .quiet_tensorflow import keras

            return keras.optimizers.Adam(hyperparameters["learning_rate"])
        return self.optimizer(**_named(self.optimizer, {**hyperparameters, "steps_per_epoch": steps_per_epoch}))

    def make_callbacks(self, hyperparameters: dict[str, Any], steps_per_epoch: int) -> list:
        if self.callbacks is None:
            return []
        return list(self.callbacks(**_named(self.callbacks, {**hyperparameters, "steps_per_epoch": steps_per_epoch})))

    def record(self) -> dict[str, Any]:
        """The choices as the manifest records them, and as restore and evaluate read them."""
        return {
            "inputs": self.channel_names,
            "normalisation": normalisation_name(self.normalisation),
            # The definition's own functions that building the inputs needs at restoration.
            "custom_functions": sorted({*self.custom_channels,
                                        *([] if isinstance(self.normalisation, str) else [self.normalisation.__name__])}),
            "augmentation": [step.record() for step in self.augmentation],
            "optimizer_function": getattr(self.optimizer, "__name__", None),
            "callbacks_function": getattr(self.callbacks, "__name__", None),
        }


def dropped_choices(script: Mapping[str, Any], passed: Mapping[str, Any]) -> list[str]:
    """The choices the definition script defines at module level (``script``: its names) but does
    not pass to train_definition, one line each: the run would silently train without them."""
    problems = []
    for choice, script_name in SCRIPT_NAMES.items():
        # An imported module of that name (from keras import callbacks) is no choice.
        if script_name not in script or inspect.ismodule(script[script_name]):
            continue
        if choice not in passed:
            problems.append(f"{script_name} is defined but not passed to train_definition: "
                            f"add {choice}={script_name}")
        elif passed[choice] is not script[script_name]:
            problems.append(f"{script_name} is defined but train_definition got another {choice}: "
                            f"pass {choice}={script_name}")
    return problems


def _parameters(function: Callable) -> set[str]:
    return set(inspect.signature(function).parameters)


def _named(function: Callable, offered: dict[str, Any], skip_first: bool = False) -> dict[str, Any]:
    """The entries of ``offered`` that ``function`` takes as keyword parameters."""
    parameters = list(inspect.signature(function).parameters.values())[1 if skip_first else 0:]
    return {p.name: offered[p.name] for p in parameters
            if p.name in offered and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def definition_module(name: str) -> ModuleType:
    """Definition ``name``'s script as a module, for a definition script to take its choices:
    ``def004 = definition_module("def004")`` loads create_and_train_model_def004.py from the folder
    of the script that calls it, by its file (not through the import path), and records it among
    that script's imports, which the model's manifest and model directory then hold."""
    caller = inspect.currentframe().f_back.f_globals
    caller_file = caller.get("__file__")
    if caller_file is None:
        raise SeisclipError(f"definition_module({name!r}) is called by a definition script at module level")
    try:
        if not isinstance(name, str) or not DEFINITION_NAME.fullmatch(name):
            raise SeisclipError(f"definition_module: {name!r} is not a definition name (such as 'def004')",
                                caller_file)
        path = Path(caller_file).resolve().parent / script_file_name(name)
        if not path.is_file():
            raise SeisclipError(f"takes definition {name!r}, but there is no {path.name} beside it", caller_file)
        module = load_definition_script(path)
    except SeisclipError as exc:
        if caller.get("__name__") != "__main__":
            raise
        # The script runs as a command, and this is before its train_definition guards it: one line.
        raise SystemExit(f"{os.path.basename(caller_file)}: error: {exc}") from None
    caller.setdefault(_IMPORTED, {})[name] = module
    return module


def load_definition_script(path: str | os.PathLike, what: str = "definition") -> ModuleType:
    """A definition script as a module, its ``__main__`` block not run: one module per file and
    content, so that two model directories' ``definition.py``, or a script changed since, never
    share one. What it raises becomes one error line naming it (and ``what`` it is)."""
    path = Path(path).resolve()
    data = path.read_bytes()
    module_name = "seisclip_definition_" + hashlib.sha256(str(path).encode() + b"\0" + data).hexdigest()[:16]
    if module_name in sys.modules:
        return sys.modules[module_name]
    if path in _loading:
        raise SeisclipError("definitions import each other in a circle", path)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    _loading.add(path)
    try:
        spec.loader.exec_module(module)
    except SeisclipError:
        del sys.modules[module_name]
        raise
    except Exception as exc:   # whatever the script raises, it is this script's problem
        del sys.modules[module_name]
        lines = str(exc).strip().splitlines()
        raise SeisclipError(f"cannot import the {what}: {type(exc).__name__}: {lines[0] if lines else ''}",
                            path) from None
    finally:
        _loading.discard(path)
    return module


def imported_definitions(script: Mapping[str, Any]) -> dict[str, Path]:
    """Every definition script that the script of module-level names ``script`` took with
    :func:`definition_module`, and those took in turn: name → file, in the order first taken."""
    found: dict[str, Path] = {}
    pending = list(script.get(_IMPORTED, {}).items())
    while pending:
        name, module = pending.pop(0)
        if name not in found:
            found[name] = Path(module.__file__)
            pending += list(vars(module).get(_IMPORTED, {}).items())
    return found


def imports_by_path(source_file: str | os.PathLike) -> list[str]:
    """A line for each definition script that ``source_file`` imports through the import path
    (``from create_and_train_model_def004 import …``): the model would not record it."""
    tree = ast.parse(Path(source_file).read_bytes(), filename=os.fspath(source_file))
    modules = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    modules += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    return [f"imports {module} through the import path, which the model would not record: take it with "
            f"{match['name']} = definition_module({match['name']!r}) (seisclip.learn.definition)"
            for module in modules if (match := _MODULE_NAME.fullmatch(module))]
