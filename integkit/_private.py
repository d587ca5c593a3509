"""Files only their owner can read: the state database, checkpoints, like the token key.

What integkit keeps on disk (call history, budgets, cached answers, records of an extraction)
is nobody else's business on a shared machine, so what it creates is ``0600`` (folders
``0700``) whatever the umask. Files that already exist keep the mode their owner gave them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

__all__ = ["FILE_MODE", "DIR_MODE", "open_private", "private_dir", "private_file"]

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a folder, created ``0700`` if it is new (missing parents are created with
    the default mode: they may be the user's own folders)."""
    path = Path(path)
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another process, just now
            pass
    return path


def private_file(path: str | os.PathLike[str]) -> Path:
    """``path``, created empty and ``0600`` if it does not exist yet (its folder too)."""
    path = Path(path)
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    return path


def open_private(path: str | os.PathLike[str], mode: str = "ab") -> IO[Any]:
    """``open(path, mode)``, the file created ``0600`` if it is new."""
    private_file(path)
    return open(path, mode)  # noqa: SIM115 - the caller closes it (a context manager)
