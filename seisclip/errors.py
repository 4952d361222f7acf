"""The project's own error type: one line naming the file, the line and the problem."""

from __future__ import annotations

import os


class SeisclipError(Exception):
    """Bad input or a refused action. The CLI prints it as one line and exits 1."""

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        return where + self.message
