"""Fewer garbage collections during bulk work.

A bulk import allocates millions of small objects (parsed headers, provenance documents, signed
entries), nearly all freed by reference counting. Python's cyclic collector still runs every 700
allocations and, every hundred runs, walks every live object; with the import's own data alive,
those walks cost a tenth of a WARC import. Inside ``fewer_collections()`` the collector runs
every ``GEN0_THRESHOLD`` allocations instead: memory stays bounded, collections stay rare.

The setting is process-wide: the first block entered sets it, the last one left restores what was
there (blocks may nest and run in several threads).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

GEN0_THRESHOLD = 100_000


class _Setting:
    """The process-wide setting and how many blocks hold it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved = gc.get_threshold()

    def enter(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.saved = gc.get_threshold()
                gc.set_threshold(max(GEN0_THRESHOLD, self.saved[0]), *self.saved[1:])
            self.depth += 1

    def leave(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0:
                gc.set_threshold(*self.saved)


_SETTING = _Setting()


@contextmanager
def fewer_collections() -> Iterator[None]:
    _SETTING.enter()
    try:
        yield
    finally:
        _SETTING.leave()
