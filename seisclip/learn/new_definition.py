"""``seisclip new-definition FROM``: start a definition script as a copy of another.

The copy lies in the folder of the wrappers (``--dir``, default the working folder), named
``create_and_train_model_defNNN.py`` one above the highest number there (as wide as the widest
number there, at least three digits) or as ``--name`` says, with its ``NAME`` line set to match
and a ``STARTED_FROM = (name, sha256)`` line after it naming the script it was copied from, which
a model trained by the copy records as ``started_from``.
It never replaces a file: the name is taken atomically (a link of the written file), so two runs
at once still take two different free numbers.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from ..errors import SeisclipError
from ..fsio import read_input, write_file_atomic
from .definition import DEFINITION_NAME, STARTED_FROM, definition_name, script_file_name

#: The script's own ``NAME = "…"`` line, at module level.
_NAME_LINE = re.compile(r'^NAME = (["\'])(?P<name>[A-Za-z0-9_]*)\1[ \t]*$', re.MULTILINE)
#: A copy's record of its origin, replaced when a copy is copied again.
_STARTED_FROM_LINE = re.compile(rf"^{STARTED_FROM} = .*\n", re.MULTILINE)
_NUMBERED = re.compile(r"def(?P<number>[0-9]+)")
#: Names tried in turn when other runs take the next free numbers at the same moment.
_ATTEMPTS = 100


def new_definition(source: str, name: str | None = None, folder: str | os.PathLike = ".") -> Path:
    """Copy the definition script ``source`` (a definition's name, looked for in ``folder``, or a
    script's path) into ``folder`` as definition ``name`` (default: the next free defNNN); return
    the new script's path."""
    folder = Path(folder)
    if name is not None and not DEFINITION_NAME.fullmatch(name):
        raise SeisclipError(f"--name {name!r} is not a definition name (letters, digits and _, such as def012)")
    if not folder.is_dir():
        raise SeisclipError("folder not found", folder)
    source_path = _source_script(source, folder)
    try:
        text = read_input(source_path, "definition script").decode("utf-8")
    except UnicodeDecodeError:
        raise SeisclipError("definition script is not UTF-8 text", source_path) from None
    lines = _NAME_LINE.findall(text)
    if len(lines) != 1:
        # The copy's NAME must be set, and to match its file name as training checks.
        raise SeisclipError('has no NAME = "…" line to set' if not lines else
                            f'has {len(lines)} NAME = "…" lines: which one is its name is unclear', source_path)
    origin = (definition_name(source_path), hashlib.sha256(text.encode("utf-8")).hexdigest())
    if name is not None:
        return _write(folder / script_file_name(name), _renamed(text, name, origin))
    for _ in range(_ATTEMPTS):
        name = _next_free_name(folder)
        target = folder / script_file_name(name)
        try:
            return _write(target, _renamed(text, name, origin))
        except SeisclipError:
            if not target.exists():
                raise
            # Another run took this number between the listing and the link: take the next one.
    raise SeisclipError(f"no free definition number after {_ATTEMPTS} tries", folder)


def _source_script(source: str, folder: Path) -> Path:
    if DEFINITION_NAME.fullmatch(source):
        path = folder / script_file_name(source)
        if not path.is_file():
            raise SeisclipError(f"definition script not found: no definition {source!r} in {folder}", path)
        return path
    path = Path(source)
    if definition_name(path) is None:
        raise SeisclipError("is not a definition script (create_and_train_model_<NAME>.py) nor a definition's name",
                            path)
    if not path.is_file():
        raise SeisclipError("definition script not found", path)
    return path


def _renamed(text: str, name: str, origin: tuple[str, str]) -> str:
    text = _STARTED_FROM_LINE.sub("", text)
    return _NAME_LINE.sub(f'NAME = "{name}"\n{STARTED_FROM} = {origin!r}', text, count=1)


def _next_free_name(folder: Path) -> str:
    """def<N+1> for the highest N of the folder's ``create_and_train_model_defN.py``, as wide as
    the widest N there (at least 3 digits)."""
    numbers = [match["number"] for path in folder.glob("create_and_train_model_def*.py")
               if (match := _NUMBERED.fullmatch(definition_name(path) or ""))]
    highest = max((int(number) for number in numbers), default=0)
    width = max((len(number) for number in numbers), default=3)
    return f"def{highest + 1:0{max(width, 3)}d}"


def _write(target: Path, text: str) -> Path:
    if os.path.lexists(target):
        raise SeisclipError("already exists: new-definition never replaces a file (choose another --name)", target)
    write_file_atomic(target, text.encode("utf-8"))
    return target
