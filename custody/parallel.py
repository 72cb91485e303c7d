"""Pure CPU work of a bulk import on both cores: half of it in a forked copy of this process.

Bulk imports build and sign thousands of records, in Python, under one interpreter lock. Where
the system can fork, ``map_halves`` runs the second half of such a list in a child process,
which inherits everything it needs (the records, an unlocked signer) as a copy of this
process's memory, and returns its results through a pipe: no key, passphrase or input ever
crosses a process boundary in either direction, only the results.

Invariants:
- Results come back in the order of the inputs, exactly as ``[function(x) for x in items]``.
- ``function`` must be pure: no database, no files, no shared state (the child's side effects
  are lost, and the child never touches the parent's database connections: it leaves with
  ``os._exit``, running no finaliser). A process with other threads does not fork (the recorder
  API runs in multi-threaded tools): it computes everything itself.
- An exception is the same as in one process: the child only reports which item failed, and
  the parent runs that item itself, so the error raised is the one the function raises there.
  A child that dies or answers garbage is not trusted: the parent computes its half itself.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 256
"""Below this, forking costs more than it saves."""
CHILD_SHARE = 0.5
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


def map_halves(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[function(x) for x in items]``, the second half computed in a forked child process."""
    if len(items) < MIN_ITEMS or not can_fork():
        return [function(item) for item in items]
    split = len(items) - int(len(items) * CHILD_SHARE)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, leave without running any finaliser
        gc.disable()  # a collection would write to every inherited object: copies of all pages
        os.close(read_end)
        _child(function, items[split:], write_end)
    os.close(write_end)
    try:
        first = [function(item) for item in items[:split]]
        answer = _read_all(read_end)
    except BaseException:
        os.kill(pid, signal.SIGKILL)  # this half failed: the other is not wanted
        raise
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    second = _decode(answer)
    if second is None:  # the child died or could not send: compute its half here
        return first + [function(item) for item in items[split:]]
    if isinstance(second, int):  # the child's item at this index raised: raise it here
        function(items[split + second])
        raise RuntimeError(f"item {split + second} failed in the child process only")
    return first + second


def _child(function: Callable[[T], R], items: Sequence[T], write_end: int) -> None:
    status = 0
    try:
        results: list[R] = []
        try:
            for item in items:
                results.append(function(item))
            answer = pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            answer = pickle.dumps(len(results))
        view = memoryview(answer)
        while view:
            view = view[os.write(write_end, view) :]
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(answer: bytes) -> list[Any] | int | None:
    """The child's results, the index of its failing item, or None if it sent neither."""
    try:
        value = pickle.loads(answer)  # noqa: S301 (our own forked copy wrote it to our own pipe)
    except Exception:
        return None
    return value if isinstance(value, list | int) else None
