"""Atomic, never-clobbering file output, locks on output names, and content hashes.

Every output is first written to a hidden temporary name in its final folder,
``.NAME.<pid>.<random>.tmp``, flushed and fsync'ed, then given its final name in one step, so a
crash never leaves a half-written file under the final name. Without ``overwrite`` the final
name is claimed with ``os.link``, which fails if the name exists: of two runs racing for one
name, exactly one wins. A command holds :func:`output_lock` on its output name from before its
first check to its last write, so a second run of the same output fails at once, and while it
holds the lock it removes the temporaries that runs killed before it left behind (their
writer's pid, in the name, is gone).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

from .errors import SeisclipError

_CHUNK = 1 << 20


def _ordinary_mode(mode: int) -> int:
    """``mode`` less the process umask: what open() or mkdir() would have given."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


def read_input(path: str | os.PathLike, what: str) -> bytes:
    """The bytes of an input file; a missing or unreadable one is a :class:`SeisclipError`
    naming ``what`` it is meant to be."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise SeisclipError(f"{what} not found", path) from None
    except IsADirectoryError:
        raise SeisclipError(f"{what} is a directory", path) from None
    except OSError as exc:
        raise SeisclipError(f"cannot read {what}: {exc.strerror}", path) from None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_directory(directory: str | os.PathLike) -> None:
    """Make renames and links in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _folder_of(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _refusal(path: str | os.PathLike, what: str = "output") -> SeisclipError:
    return SeisclipError(f"{what} already exists; refusing to overwrite it (use --overwrite to replace it)", path)


def refuse_existing(path: str | os.PathLike, what: str = "output") -> None:
    """Fail early, before any work, when an output name is already taken."""
    if os.path.lexists(path):
        raise _refusal(path, what)


def temporary_prefix(final: Path) -> str:
    """``.NAME.<pid>.``: the start of this process's temporary names for ``final``."""
    return f".{final.name}.{os.getpid()}."


def _writer_gone(pid: int) -> bool:
    """Whether process ``pid`` has exited (a zombie, exited but not yet reaped, counts as gone)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state == "Z"


def stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Temporaries of ``path`` (files or folders) whose writer process has exited."""
    final = Path(path)
    pattern = re.compile(rf"\.{re.escape(final.name)}\.(\d+)\.[a-z0-9_]+\.tmp")
    folder = _folder_of(final)
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    return [folder / name for name in names
            if (match := pattern.fullmatch(name)) and _writer_gone(int(match.group(1)))]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_stale_temporaries(path: str | os.PathLike) -> None:
    """Remove what killed runs left while writing ``path``; call it holding ``path``'s lock.

    A folder an interrupted ``--overwrite`` run had moved aside (``.NAME.<pid>.replaced``)
    takes its name back if the new one never took it, and is removed otherwise.
    """
    final = Path(path)
    folder = _folder_of(final)
    replaced = re.compile(rf"\.{re.escape(final.name)}\.(\d+)\.replaced")
    with contextlib.suppress(FileNotFoundError):
        for name in sorted(os.listdir(folder)):
            match = replaced.fullmatch(name)
            if match and _writer_gone(int(match.group(1))):
                if os.path.lexists(final):
                    _remove(folder / name)
                else:
                    os.rename(folder / name, final)
                    print(f"note: {final} put back: an interrupted --overwrite run had moved it aside", file=sys.stderr)
    stale = stale_temporaries(final)
    for leftover in stale:
        _remove(leftover)
    if stale:
        print(f"note: removed {len(stale)} temporar{'y' if len(stale) == 1 else 'ies'} of {final} left by "
              f"interrupted runs ({', '.join(leftover.name for leftover in stale)})", file=sys.stderr)


_ANY_TEMPORARY = re.compile(r"\..+\.(\d+)\.[a-z0-9_]+\.tmp")


def remove_stale_temporaries_under(folder: str | os.PathLike) -> None:
    """Remove, anywhere under ``folder``, the temporary files whose writer has exited; for a run
    that owns the whole folder (it holds a lock on a file in it) and writes many outputs there."""
    stale = [Path(root) / name for root, _, names in os.walk(folder) for name in names
             if (match := _ANY_TEMPORARY.fullmatch(name)) and _writer_gone(int(match.group(1)))]
    for leftover in stale:
        _remove(leftover)
    if stale:
        print(f"note: removed {len(stale)} temporar{'y' if len(stale) == 1 else 'ies'} under {folder} left by "
              "interrupted runs", file=sys.stderr)


@contextlib.contextmanager
def output_lock(path: str | os.PathLike, what: str = "output") -> Iterator[None]:
    """Hold the lock on output name ``path`` (``.NAME.lock`` beside it, holding the pid), or fail at
    once if another run holds it; then remove the temporaries killed runs left for ``path``.

    The lock is an ``flock`` on that file, which the kernel releases when its process ends, however
    it ends; a lock file left by a killed run is simply locked again.
    """
    final = Path(path)
    folder = _folder_of(final)
    if not folder.is_dir():
        raise SeisclipError("output folder does not exist", folder)
    lock_path = folder / f".{final.name}.lock"
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SeisclipError(f"cannot create the lock file {lock_path.name} ({exc.strerror})", folder) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise SeisclipError(f"another run (pid {holder}) is writing this {what}; "
                                "wait for it to finish, or choose another name", final) from None
        # The previous holder removes the file before unlocking it: a lock taken on a file no
        # longer at lock_path guards nothing, so take the one that is there now.
        try:
            if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        remove_stale_temporaries(final)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_files(paths: Sequence[str | os.PathLike], overwrite: bool = False) -> Iterator[list[Path]]:
    """Yield a hidden temporary file name beside each of ``paths``; on success each becomes its path.

    The final names are taken in order, only once every file is written and fsync'ed and (without
    ``overwrite``) every name was seen free. On an exception the temporaries are removed and no
    path is touched.
    """
    finals = [Path(path) for path in paths]
    for final in finals:
        if not _folder_of(final).is_dir():
            raise SeisclipError("output folder does not exist", _folder_of(final))
    temporaries: list[Path] = []
    try:
        for final in finals:
            fd, name = tempfile.mkstemp(prefix=temporary_prefix(final), suffix=".tmp", dir=_folder_of(final))
            os.close(fd)
            os.chmod(name, _ordinary_mode(0o666))  # mkstemp makes it owner-only; outputs are shared like any file
            temporaries.append(Path(name))
        yield temporaries
        for temporary in temporaries:
            _fsync_file(temporary)
        if not overwrite:
            for final in finals:
                refuse_existing(final)
        for temporary, final in zip(temporaries, finals):
            if overwrite:
                os.replace(temporary, final)
            else:
                try:
                    os.link(temporary, final)
                except FileExistsError:
                    raise _refusal(final) from None
                os.unlink(temporary)
        for folder in {_folder_of(final) for final in finals}:
            fsync_directory(folder)
    finally:
        for temporary in temporaries:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary file name beside ``path``; on success it becomes ``path``.

    For outputs written by a library that wants a file name (h5py). On an exception, or
    without ``overwrite`` when ``path`` exists, the temporary file is removed and ``path`` is untouched.
    """
    with atomic_files([path], overwrite=overwrite) as (temporary,):
        yield temporary


def write_file_atomic(path: str | os.PathLike, data: bytes, overwrite: bool = False) -> None:
    """Write ``data`` to ``path`` atomically; without ``overwrite`` an existing ``path`` is an error."""
    with atomic_file(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``path``; on success it becomes ``path``.

    On an exception the temporary folder is removed and ``path`` is untouched. With ``overwrite``
    an existing ``path`` is first renamed ``.NAME.<pid>.replaced``, then removed once the new
    folder has its name; if the run dies between the two renames, the next run holding the
    output's lock renames it back (:func:`remove_stale_temporaries`).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite:
        refuse_existing(final)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(final), suffix=".tmp", dir=final.parent))
    os.chmod(tmp, _ordinary_mode(0o777))
    try:
        yield tmp
        for child in tmp.rglob("*"):
            if child.is_file():
                _fsync_file(child)
        fsync_directory(tmp)
        if os.path.lexists(final):
            if not overwrite:
                raise _refusal(final)
            replaced = final.with_name(f"{temporary_prefix(final)}replaced")
            os.rename(final, replaced)
            os.rename(tmp, final)
            shutil.rmtree(replaced)
        else:
            try:
                os.rename(tmp, final)
            except OSError as exc:   # a folder of that name appeared meanwhile (a run not holding the lock)
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    raise _refusal(final) from None
                raise
        fsync_directory(final.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
