"""Making writes durable: fsync of one file or folder, or one sync of a whole file system."""

from __future__ import annotations

import ctypes
import os
import sys
from contextlib import suppress
from pathlib import Path


def fsync_path(path: Path) -> None:
    """fsync a file or a folder (a folder: so that a rename into it survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """A hint: start writing bytes ``[offset, offset + length)`` of an open file back to disk now
    (Linux does so for dirty pages on ``POSIX_FADV_DONTNEED``), so that a later fsync has little
    left to wait for. Durability still rests on that fsync; where there is no such hint, nothing."""
    if hasattr(os, "posix_fadvise"):
        with suppress(OSError):
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def syncfs(path: Path) -> bool:
    """Flush the whole file system holding ``path`` to disk (Linux ``syncfs``, which waits for the
    writes); False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))
    finally:
        os.close(fd)
    return True
