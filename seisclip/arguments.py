"""What every command shares: an argument parser whose errors are one line, argument types, and
the guard that turns a SeisclipError into one line on stderr and exit status 1."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Callable

from .errors import SeisclipError


class ArgumentParser(argparse.ArgumentParser):
    """Bad arguments are bad input like any other: one line on stderr, exit status 1."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(1, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    """Argument type of counts such as a stride or a batch size."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


#: A set name (SETID, or an index file stem): it names files under indices_files/ and models/,
#: so it must not reach into another folder or hold white space.
_SET_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def set_name(text: str) -> str:
    """Argument type of a set name: letters, digits, '.', '_' or '-', not starting with '.'."""
    if not _SET_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} must be letters, digits, '.', '_' or '-' and not start with '.'")
    return text


def run_guarded(action: Callable[[], int | None], prog: str) -> int:
    """Run ``action``; a :class:`SeisclipError` becomes one line on stderr and exit status 1.
    A reader that stops reading (``seisclip trace MODEL | head``) ends the run quietly with
    status 1, as it ends any Unix tool."""
    try:
        return action() or 0
    except SeisclipError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Python flushes stdout at exit: into the closed pipe that would fail again, loudly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
