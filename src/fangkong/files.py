"""Private files: the data directory and everything fangkong writes in it hold personal
data, so directories are made 0700 and files 0600 whatever the process umask.

``private_dir`` makes a directory (and the missing ones above it) 0700; ``private_file``
makes an empty file 0600 or tightens an existing one; ``private_opener`` is passed to
``open(..., opener=private_opener)`` so a written file is 0600 from its first byte.
Files written by other libraries (Arrow, SQLite) are created with ``private_file`` first:
they truncate and keep the mode.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
PROCESS_UMASK = 0o077  # set by the CLI and the server at start: belt and braces
log = logging.getLogger(__name__)


def private_dir(path: Path) -> Path:
    """``path`` as a directory; each one created here (``path`` and missing parents) is 0700.
    An existing directory keeps its mode: it may be a user's own folder."""
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made meanwhile by another process
            continue
        os.chmod(d, DIR_MODE)  # the umask may have taken bits mkdir's mode asked for
    return path


def private_file(path: Path) -> bool:
    """Make ``path`` exist as a 0600 file (its directory too, 0700); an existing file
    readable or writable by group or others is tightened and logged. True if tightened."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        return _tighten(fd, path)
    finally:
        os.close(fd)


def private_opener(path: str | os.PathLike[str], flags: int) -> int:
    """An ``opener`` for :func:`open`: the file is created 0600, an existing one tightened."""
    fd = os.open(path, flags, FILE_MODE)
    try:
        _tighten(fd, Path(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def tighten(path: Path) -> bool:
    """Tighten an existing file to 0600 (logged); False if it was private or is absent."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        return _tighten(fd, path)
    finally:
        os.close(fd)


def _tighten(fd: int, path: Path) -> bool:
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if mode & 0o077 == 0:
        return False
    try:
        os.fchmod(fd, FILE_MODE)
    except PermissionError:  # someone else's file we may write: say so, do not fail
        log.warning("%s is mode %o and not ours to change: others may read it", path, mode)
        return False
    log.warning("%s was mode %o: now %o (others could read it)", path, mode, FILE_MODE)
    return True


def lock_down_process() -> None:
    """Set the umask so that whatever else this process creates is private too."""
    os.umask(PROCESS_UMASK)
