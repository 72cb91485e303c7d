"""Pack files: many small blobs of one bulk import in one file, for the file blob store.

A bulk import stores thousands of small payloads (a WARC's pages and screenshots). One file per
blob costs a file creation each, which on some file systems takes longer than hashing and
signing the blob together; appending them to one pack file costs a ``write`` each.

Layout, under ``<store>/packs/``:
- ``<id>.pack``: the blobs' bytes, one after another (read-only once sealed);
- ``<id>.idx``: one line per blob, ``<sha256 hex> <offset> <size>``, in pack order.

Invariants:
- A pack is visible only through its index, and the index appears (atomic rename) only after
  the pack and the index are on disk: a crash leaves a complete pack or an unindexed one, which
  nothing references (``stray_files`` lists it, ``fsck --clean`` removes it once it is old).
- Sealed packs are never written again; a blob is in at most one pack of one batch.
- Nothing read from a pack is trusted: readers re-hash, and an index naming bytes the pack does
  not hold reads as a corrupt blob (``IntegrityError``), never as a short one.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody.durability import fsync_path, start_writeback
from custody.errors import IntegrityError, StoreError

PACK_SUFFIX = ".pack"
INDEX_SUFFIX = ".idx"
TEMP_INDEX_SUFFIX = ".idx.tmp"
MAX_PACK_BYTES = 256 * 1024 * 1024
"""A batch seals its pack and starts another once the pack holds this many bytes."""
WRITEBACK_BYTES = 8 * 1024 * 1024
"""A pack's bytes are handed to the kernel's write-back in steps of this size, so that sealing
(fsync) has little left to wait for."""
_INDEX_LINE = re.compile(rb"([0-9a-f]{64}) (\d{1,15}) (\d{1,15})")


@dataclass(frozen=True)
class PackedBlob:
    """Where a blob's bytes are: ``size`` bytes at ``offset`` of ``pack``."""

    pack: Path
    offset: int
    size: int


class PackWriter:
    """Appends blobs to one new pack; ``seal()`` makes it durable and visible."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.name = secrets.token_hex(12)
        self.path = folder / f"{self.name}{PACK_SUFFIX}"
        self._file = self.path.open("xb")
        self.size = 0
        self.entries: list[tuple[str, int, int]] = []
        self._written_back = 0

    def add(self, digest: str, data: bytes) -> None:
        self._file.write(data)
        self.entries.append((digest, self.size, len(data)))
        self.size += len(data)
        if self.size - self._written_back >= WRITEBACK_BYTES:
            self._file.flush()
            start_writeback(self._file.fileno(), self._written_back, self.size - self._written_back)
            self._written_back = self.size

    def seal(self) -> dict[str, PackedBlob]:
        """Write the pack and its index to disk (fsync both, then rename the index into place and
        fsync the folder); returns the blobs it holds."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.chmod(self.path, 0o444)
        index = self.folder / f"{self.name}{INDEX_SUFFIX}"
        temp = self.folder / f"{self.name}{TEMP_INDEX_SUFFIX}"
        lines = "".join(f"{digest} {offset} {size}\n" for digest, offset, size in self.entries)
        with temp.open("xb") as out:
            out.write(lines.encode("ascii"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o444)
        os.replace(temp, index)
        fsync_path(self.folder)
        return {digest: PackedBlob(self.path, offset, size) for digest, offset, size in self.entries}

    def discard(self) -> None:
        """Remove an unsealed pack (its batch failed: nothing names its blobs)."""
        if not self._file.closed:
            self._file.close()
        with suppress(OSError):
            self.path.unlink()


class PackIndex:
    """The packed blobs of a store, read from the index files; re-read when asked for a digest it
    does not know, since another process may have sealed a pack meanwhile. Thread-safe."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._blobs: dict[str, PackedBlob] = {}
        self._loaded: set[str] = set()
        self._lock = threading.Lock()

    def find(self, digest: str, *, reload: bool = True) -> PackedBlob | None:
        found = self._blobs.get(digest)
        if found is None and reload:
            self.reload()
            found = self._blobs.get(digest)
        return found

    def digests(self) -> set[str]:
        self.reload()
        return set(self._blobs)

    def add(self, name: str, blobs: dict[str, PackedBlob]) -> None:
        """The blobs of pack ``name``, which this process has just sealed."""
        with self._lock:
            for digest, blob in blobs.items():
                self._blobs.setdefault(digest, blob)
            self._loaded.add(f"{name}{INDEX_SUFFIX}")

    def reload(self) -> None:
        """Read the index files not read yet."""
        with self._lock:
            try:
                names = os.listdir(self.folder)
            except FileNotFoundError:
                return
            except OSError as exc:
                raise StoreError(f"cannot list blob packs in {self.folder}: {exc.strerror or exc}") from exc
            for name in sorted(names):
                if name.endswith(INDEX_SUFFIX) and name not in self._loaded:
                    self._read_index(self.folder / name)
                    self._loaded.add(name)

    def _read_index(self, index: Path) -> None:
        pack = index.with_suffix(PACK_SUFFIX)
        try:
            lines = index.read_bytes().splitlines()
        except OSError as exc:
            raise StoreError(f"cannot read blob pack index {index}: {exc.strerror or exc}") from exc
        for number, line in enumerate(lines, 1):
            match = _INDEX_LINE.fullmatch(line)
            if match is None:
                raise StoreError(
                    f"blob pack index {index} is damaged at line {number}: expected "
                    "'<sha256> <offset> <size>'"
                )
            digest = match[1].decode("ascii")
            self._blobs.setdefault(digest, PackedBlob(pack, int(match[2]), int(match[3])))

    def stray_files(self) -> list[Path]:
        """Packs no index names (a batch killed before it sealed) and half-written indexes."""
        try:
            names = set(os.listdir(self.folder))
        except FileNotFoundError:
            return []
        stray = [
            self.folder / name
            for name in names
            if name.endswith(TEMP_INDEX_SUFFIX)
            or (name.endswith(PACK_SUFFIX) and name.removesuffix(PACK_SUFFIX) + INDEX_SUFFIX not in names)
        ]
        return sorted(stray)


class PackedReader(io.RawIOBase):
    """The bytes of one packed blob, read from its pack."""

    def __init__(self, digest: str, blob: PackedBlob) -> None:
        super().__init__()
        self._digest = digest
        self._blob = blob
        self._file = blob.pack.open("rb", buffering=0)
        if os.fstat(self._file.fileno()).st_size < blob.offset + blob.size:
            self._file.close()
            raise IntegrityError(
                f"blob {digest} is corrupt: its pack {blob.pack} is shorter than its index says "
                f"({blob.size} bytes at offset {blob.offset})"
            )
        self._file.seek(blob.offset)
        self._left = blob.size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")[: self._left]
        if not view:
            return 0
        count = self._file.readinto(view) or 0
        if count == 0:
            raise IntegrityError(f"blob {self._digest} is corrupt: its pack {self._blob.pack} ended early")
        self._left -= count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()
