"""Never overwrite an input, never leave a half-written file.

:func:`same_file` tells whether an output path names an input; :func:`atomic_output` writes a file
so that it appears whole or not at all.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, Literal, overload

StrPath = str | os.PathLike[str]


def same_file(a: StrPath, b: StrPath) -> bool:
    """Whether ``a`` and ``b`` name the same file.

    When both exist: the same device and inode (:func:`os.path.samefile`), so a hard link, a
    symlink or another spelling (``./x``, ``d/../x``) of the file is the same file. When one or
    both do not exist (or cannot be looked at): whether both spell the same path once symlinks
    and ``..`` are resolved; a missing file is never the same as an existing one.
    """
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")


@overload
def atomic_output(path: StrPath, mode: Literal["w"] = "w", encoding: str = "utf-8",
                  newline: str | None = "") -> AbstractContextManager[IO[str]]: ...
@overload
def atomic_output(path: StrPath, mode: Literal["wb"], encoding: str = "utf-8",
                  newline: str | None = "") -> AbstractContextManager[IO[bytes]]: ...
def atomic_output(path: StrPath, mode: str = "w", encoding: str = "utf-8",
                  newline: str | None = "") -> AbstractContextManager[IO[Any]]:
    """``with atomic_output(path) as f: f.write(…)``: ``path`` gets the new content whole, or
    keeps its old content.

    The content goes to a temporary file beside ``path`` (``.<name>.<random>.tmp``, so that
    :func:`os.replace` is a rename within one file system), which is flushed, fsynced and renamed
    onto ``path`` when the block ends without an exception. When the block raises (or the process
    is interrupted with KeyboardInterrupt), the temporary file is removed and ``path`` is left
    untouched; the exception propagates.

    ``mode`` is ``"w"`` (text: ``encoding``, and ``newline=""`` so that the csv module's line ends
    are kept) or ``"wb"``. A new file gets the permissions a plain ``open`` would give it
    (0o666 less the umask: 0o644 under umask 022); a replaced file keeps its mode. A symlink is
    followed: the file it points to is replaced, the link stays. A path that exists and is not a
    regular file (``/dev/stdout``, a FIFO, ``/dev/null``) is opened and written directly: it is
    never replaced. A folder raises :class:`IsADirectoryError` before anything is written.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', not {mode!r}")
    return _atomic(Path(path), mode, encoding, newline)


@contextmanager
def _atomic(path: Path, mode: str, encoding: str, newline: str | None) -> Iterator[IO[Any]]:
    target = Path(os.path.realpath(path))
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"Is a directory: {str(path)!r}")
    text = mode == "w"
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(target, mode, encoding=encoding if text else None, newline=newline if text else None) as direct:
            yield direct
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temp = _temp_name(target)
        try:
            fd = os.open(temp, flags, 0o666)  # the umask applies, as to a plain open
        except FileExistsError:
            continue
        break
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(f"no free temporary name beside {str(path)!r}")
    try:
        if st is not None:
            os.chmod(temp, stat.S_IMODE(st.st_mode))
        f = os.fdopen(fd, mode, encoding=encoding if text else None, newline=newline if text else None)
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable, where the platform allows it (POSIX)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows, or a folder that cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
