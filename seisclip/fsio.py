"""Atomic, never-clobbering file output and content hashes.

Every output is first written to a hidden temporary name in its final folder, flushed and
fsync'ed, then given its final name in one step, so a crash never leaves a half-written file
under the final name. Without ``overwrite`` the final name is claimed with ``os.link``, which
fails if the name exists: of two runs racing for one name, exactly one wins.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import SeisclipError

_CHUNK = 1 << 20


def _ordinary_mode(mode: int) -> int:
    """``mode`` less the process umask: what open() or mkdir() would have given."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def refuse_existing(path: str | os.PathLike, what: str = "output") -> None:
    """Fail early, before any work, when an output name is already taken."""
    if os.path.lexists(path):
        raise SeisclipError(f"{what} already exists; refusing to overwrite it (use --overwrite to replace it)", path)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary file name beside ``path``; on success it becomes ``path``.

    For outputs written by a library that wants a file name (h5py). On an exception, or
    without ``overwrite`` when ``path`` exists, the temporary file is removed and ``path`` is untouched.
    """
    final = Path(path)
    folder = final.parent if str(final.parent) else Path(".")
    if not folder.is_dir():
        raise SeisclipError("output folder does not exist", folder)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    os.chmod(tmp_name, _ordinary_mode(0o666))  # mkstemp makes it owner-only; outputs are shared like any file
    try:
        yield Path(tmp_name)
        with open(tmp_name, "rb") as handle:
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp_name, final)
        else:
            try:
                os.link(tmp_name, final)
            except FileExistsError:
                raise SeisclipError("output already exists; refusing to overwrite it (use --overwrite to replace it)", final) from None
            os.unlink(tmp_name)
        _fsync_directory(folder)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def write_file_atomic(path: str | os.PathLike, data: bytes, overwrite: bool = False) -> None:
    """Write ``data`` to ``path`` atomically; without ``overwrite`` an existing ``path`` is an error."""
    with atomic_file(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``path``; on success it becomes ``path``.

    On an exception the temporary folder is removed and ``path`` is untouched.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite:
        refuse_existing(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    os.chmod(tmp, _ordinary_mode(0o777))
    try:
        yield tmp
        for child in tmp.rglob("*"):
            if child.is_file():
                with open(child, "rb") as handle:
                    os.fsync(handle.fileno())
        if os.path.lexists(final):
            if not overwrite:
                raise SeisclipError("output already exists; refusing to overwrite it (use --overwrite to replace it)", final)
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.rename(final, old)
            os.rename(tmp, final)
            shutil.rmtree(old)
        else:
            os.rename(tmp, final)
        _fsync_directory(final.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
