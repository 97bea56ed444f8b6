"""Atomic writes of files and whole directories: a crash or an error never leaves a half-written checkpoint behind."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

from .errors import DestinationError


def give_default_permissions(path: str | os.PathLike[str]) -> None:
    """Give a file or directory made by ``tempfile`` (private, 0600/0700) the mode a plain ``open`` would give."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~umask)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and an atomic rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        give_default_permissions(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        give_default_permissions(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------------------------------
# Atomic directories
#
# A directory is saved by writing the complete new content into a staging directory beside it (same parent, so the
# same file system) and publishing that in one step: renameat2(RENAME_EXCHANGE) swaps the two directories atomically
# on Linux; elsewhere two renames are used, and a crash between them leaves the complete old directory under a
# ``.NAME.old-*`` name. Files of the old directory that the new content does not replace (a README, tokenizer files)
# are hard-linked (or copied) into the staging directory first, so they survive the swap.

#: Name of the marker file inside a staging directory: who made it (host, pid) and for which target.
STAGING_MARKER = ".albert-staging.json"


def staging_prefix(target: str | os.PathLike[str]) -> str:
    """The name prefix of the staging directories of ``target`` (a hidden sibling).

    >>> staging_prefix("/data/out")
    '.out.staging-'
    """
    return f".{Path(target).name}.staging-"


def _write_marker(directory: Path, target: Path) -> None:
    marker = {"pid": os.getpid(), "host": socket.gethostname(), "target": str(target), "created": time.time()}
    (directory / STAGING_MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")


def make_staging_directory(target: str | os.PathLike[str]) -> Path:
    """Create an empty staging directory beside ``target`` (``.NAME.staging-<pid>-<random>``) holding a marker file.

    Raises :class:`~albert_core.errors.DestinationError` when the parent directory cannot be written.
    """
    target = Path(target)
    staging = target.parent / f"{staging_prefix(target)}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.mkdir(staging)
    except OSError as exc:
        raise DestinationError(f"cannot create a staging directory in {target.parent} to write {target}: "
                               f"{exc.strerror or exc}") from exc
    _write_marker(staging, target)
    return staging


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale_staging(target: str | os.PathLike[str]) -> tuple[list[Path], list[str]]:
    """Remove the staging directories that killed runs left beside ``target``; report those not provably stale.

    A staging directory is removed only when its marker names ``target``, this host, and a process that no longer
    runs. Returns ``(removed, reports)``; each report names a directory that was left in place and why.
    """
    target = Path(target)
    removed: list[Path] = []
    reports: list[str] = []
    if not target.parent.is_dir():
        return removed, reports
    for candidate in sorted(target.parent.glob(staging_prefix(target) + "*")):
        if candidate.is_symlink() or not candidate.is_dir():
            reports.append(f"{candidate} is not a staging directory (not a plain directory); left in place")
            continue
        try:
            marker = json.loads((candidate / STAGING_MARKER).read_text(encoding="utf-8"))
            pid, host, named = int(marker["pid"]), str(marker["host"]), str(marker["target"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reports.append(f"{candidate} has no readable {STAGING_MARKER} ({type(exc).__name__}); left in place")
            continue
        if named != str(target) or host != socket.gethostname():
            reports.append(f"{candidate} belongs to {named} on host {host}; left in place")
        elif _pid_alive(pid):
            reports.append(f"{candidate} belongs to process {pid}, which is still running; left in place")
        else:
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed, reports


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange_paths(first: Path, second: Path) -> bool:
    """Swap two existing paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); ``False`` where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(second))


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system, or hard links unsupported
        shutil.copy2(source, destination)


def _carry_over(entry: os.DirEntry, staging: Path) -> None:
    destination = staging / entry.name
    if entry.is_symlink():
        os.symlink(os.readlink(entry.path), destination)
    elif entry.is_dir():
        shutil.copytree(entry.path, destination, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(entry.path, str(destination))


def publish_directory(staging: Path, target: Path) -> None:
    """Make ``staging`` the directory ``target`` in one step; the old ``target`` (if any) is removed afterwards."""
    cwd = None
    with contextlib.suppress(OSError):
        cwd = os.getcwd()
    with contextlib.suppress(FileNotFoundError):
        (staging / STAGING_MARKER).unlink()
    _fsync_directory(staging)
    if not target.exists():
        os.rename(staging, target)  # fails, rather than merging, if something non-empty appeared meanwhile
    elif exchange_paths(staging, target):
        _write_marker(staging, target)  # the staging name now holds the old content: provably ours if we die here
        shutil.rmtree(staging, ignore_errors=True)
    else:
        old = target.parent / f".{target.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(target, old)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    _fsync_directory(target.parent)
    if cwd is not None and (cwd == str(target) or cwd.startswith(str(target) + os.sep)):
        with contextlib.suppress(OSError):  # the process was inside the old directory: move into the new one
            os.chdir(cwd)


def resolve_destination(directory: str | os.PathLike[str]) -> Path:
    """The real path a directory save writes (symlinks to a directory are followed and kept as they are).

    Raises :class:`~albert_core.errors.DestinationError` when a file (not a directory) is in the way.
    """
    target = Path(os.path.realpath(os.path.abspath(directory)))
    if target.exists() and not target.is_dir():
        raise DestinationError(f"{directory} exists and is not a directory")
    if target.parent == target:
        raise DestinationError(f"{directory}: cannot save into the root of the file system")
    return target


@contextlib.contextmanager
def atomic_directory(directory: str | os.PathLike[str],
                     replaces: Callable[[str], bool] = lambda name: True) -> Iterator[Path]:
    """Yield an empty staging directory; on success it becomes ``directory`` in one step, on error it is removed.

    Entries of the existing ``directory`` for which ``replaces(name)`` is false, and which the new content does not
    hold, are carried over (hard links; copies across file systems). Either the complete old directory or the
    complete new one is at ``directory`` at every moment (with two plain renames where the system cannot exchange
    directories, a crash between them leaves the old one at ``.NAME.old-*`` beside it).
    """
    target = resolve_destination(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = make_staging_directory(target)
    try:
        if target.is_dir():
            shutil.copymode(target, staging)
        yield staging
        if target.is_dir():
            for entry in os.scandir(target):
                if not replaces(entry.name) and not os.path.lexists(staging / entry.name):
                    _carry_over(entry, staging)
        publish_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
