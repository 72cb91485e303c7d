"""Pure CPU work of a bulk import on both cores: part of it in a forked copy of this process.

Bulk imports parse, build and sign thousands of records, in Python, under one interpreter lock.
Where the system can fork, ``ForkedCall`` runs a function in a child process, which inherits
everything it needs (the records, an unlocked signer) as a copy of this process's memory, and
returns its result through a pipe: no key, passphrase or input ever crosses a process boundary,
only results. ``map_halves`` computes the second half of a list that way.

Invariants:
- ``map_halves`` returns results in the order of the inputs, as ``[function(x) for x in items]``.
- ``function`` must be pure: no database, no files, no shared state (the child's side effects
  are lost, and the child never touches the parent's database connections: it leaves with
  ``os._exit``, running no finaliser). A process with other threads does not fork (the recorder
  API runs in multi-threaded tools): it computes everything itself.
- A child's result is only a result: a child that raises, dies or answers garbage gives
  ``None``, and the caller computes that part itself, so any error is raised in this process,
  as one process would raise it (``map_halves`` re-runs the item that failed in the child).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from functools import partial
from typing import Any, Generic, TypeVar

try:
    import fcntl
except ImportError:  # not on Windows, where nothing forks either
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 256
"""Below this, forking costs more than it saves."""
PIPE_BYTES = 1 << 20
"""The pipe buffer asked for, and the size of each read from it."""
CHILD_SHARE = 0.45
"""The share of the items the child takes (the parent also unpickles the child's results)."""


def can_fork() -> bool:
    """Whether forking is safe and useful here: a system with fork (not macOS, where system
    libraries are not fork-safe), two cores or more, and no other thread, which could hold a
    lock (OpenSSL's, the allocator's) that the child would then wait for forever."""
    return (
        hasattr(os, "fork")
        and sys.platform != "darwin"
        and (os.cpu_count() or 1) >= 2
        and threading.active_count() == 1
    )


class ForkedCall(Generic[R]):
    """``function()`` running in a forked child while this process goes on. ``result()`` is its
    value, or None if the child raised, died or sent something unreadable; ``cancel()`` stops it.
    Only create one where ``can_fork()``."""

    def __init__(self, function: Callable[[], R]) -> None:
        read_end, write_end = os.pipe()
        _widen(write_end)
        pid = os.fork()
        if pid == 0:  # the child: compute, send, leave without running any finaliser
            gc.disable()  # a collection would write to every inherited object: copies of all pages
            os.close(read_end)
            _child(function, write_end)
        os.close(write_end)
        self._pid: int | None = pid
        self._read_end = read_end

    def result(self) -> R | None:
        try:
            answer = _read_all(self._read_end)
        finally:
            self._reap()
        try:
            ok, value = pickle.loads(answer)  # noqa: S301 (our own forked copy wrote it to our own pipe)
        except Exception:
            return None
        return value if ok else None

    def cancel(self) -> None:
        if self._pid is not None:
            os.kill(self._pid, signal.SIGKILL)
            self._reap()

    def _reap(self) -> None:
        if self._pid is not None:
            os.close(self._read_end)
            os.waitpid(self._pid, 0)
            self._pid = None


def _child(function: Callable[[], Any], write_end: int) -> None:
    status = 0
    try:
        try:
            answer = pickle.dumps((True, function()), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            answer = pickle.dumps((False, None))
        view = memoryview(answer)
        while view:
            view = view[os.write(write_end, view) :]
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def _widen(pipe: int) -> None:
    """Give the pipe a 1 MiB buffer where the system allows (Linux, up to pipe-max-size): results
    of megabytes then cross in a sixteenth of the switches between the two processes."""
    if fcntl is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
        with suppress(OSError):
            fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, PIPE_BYTES):
        chunks.append(chunk)
    return b"".join(chunks)


def map_halves(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[function(x) for x in items]``, the second half computed in a forked child process."""
    if len(items) < MIN_ITEMS or not can_fork():
        return [function(item) for item in items]
    split = len(items) - int(len(items) * CHILD_SHARE)
    child = ForkedCall(partial(_map_or_failing_index, function, items[split:]))
    try:
        first = [function(item) for item in items[:split]]
    except BaseException:
        child.cancel()  # this half failed: the other is not wanted
        raise
    second = child.result()
    if isinstance(second, int):  # the child's item at this index raised: raise it here
        function(items[split + second])
        raise RuntimeError(f"item {split + second} failed in the child process only")
    if second is None:  # the child died or could not send: compute its half here
        return first + [function(item) for item in items[split:]]
    return first + second


def _map_or_failing_index(function: Callable[[T], R], items: Sequence[T]) -> list[R] | int:
    results: list[R] = []
    try:
        for item in items:
            results.append(function(item))
    except Exception:
        return len(results)
    return results
