"""Reading zip archives that may be hostile (WACZ captures, disclosure bundles).

Nothing is extracted: members are checked, then streamed. Before any member is read, an archive is
refused if a member name is absolute, contains '..', a backslash, NUL or an empty segment, or
repeats; if a member is a symbolic link or another non-regular file, encrypted, uses a
compression method other than stored or deflate, overlaps another member, or expands beyond the
size or ratio limits (zip bombs). A member that yields more bytes than it declares is cut off.

Every error is a ``FormatError`` naming the archive and the member.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from custody.errors import FormatError

CHUNK = 1 << 16


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on an archive: member count, total expanded size, expansion ratio."""

    max_members: int = 100_000
    max_total_bytes: int = 64 * 1024**3
    """Most uncompressed bytes all members may declare together."""
    max_ratio: int = 100
    """Highest uncompressed:compressed ratio of one member (checked above ``ratio_floor``)."""
    ratio_floor: int = 1024 * 1024
    """Members that expand to at most this many bytes are not ratio-checked (tiny files can be
    very compressible without harm)."""


def open_zip(stream: Any, *, name: str, kind: str) -> zipfile.ZipFile:
    """Open ``stream`` (seekable, binary) as a zip, or raise a FormatError saying it is not a
    readable ``kind``."""
    try:
        stream.seek(0)
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise FormatError(f"{name}: not a {kind}: not a readable zip file ({exc})") from exc


class MemberStream:
    """A zip member read as a stream: counted, hashed (unless the reader hashes it itself), and
    with zip errors turned into FormatErrors."""

    def __init__(self, stream: Any, *, where: str, declared_size: int, hashing: bool = True) -> None:
        self._stream = stream
        self._where = where
        self._declared = declared_size
        self._hashing = hashing
        self.hasher = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = bytes(self._stream.read(size))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise FormatError(f"{self._where} cannot be read: {exc}") from exc
        self.size += len(data)
        if self.size > self._declared:
            raise FormatError(f"{self._where} holds more than the {self._declared} bytes it declares")
        if self._hashing:
            self.hasher.update(data)
        return data

    def readline(self, limit: int) -> bytes:
        try:
            data = bytes(self._stream.readline(limit))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise FormatError(f"{self._where} cannot be read: {exc}") from exc
        self.size += len(data)
        if self._hashing:
            self.hasher.update(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def check_member_name(info: zipfile.ZipInfo, name: str, *, kind: str) -> None:
    path = info.filename
    shown = info.orig_filename
    if "\x00" in shown or path != shown:
        raise FormatError(f"{name}: member {shown!r} has a NUL byte in its name")
    if path.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", path):
        raise FormatError(f"{name}: member {path!r} has an absolute path; refusing the {kind}")
    if "\\" in path:
        raise FormatError(f"{name}: member {path!r} has a backslash in its path; refusing the {kind}")
    parts = path.rstrip("/").split("/")
    if ".." in parts:
        raise FormatError(f"{name}: member {path!r} leaves the package folder ('..'); refusing the {kind}")
    if any(part in ("", ".") for part in parts):
        raise FormatError(f"{name}: member {path!r} has an empty or '.' path segment")


def check_members(
    zf: zipfile.ZipFile, stream: Any, *, name: str, limits: ZipLimits, kind: str
) -> list[zipfile.ZipInfo]:
    """The archive's file members (directories left out), after every check in the module
    docstring; ``kind`` ("WACZ", "bundle") is named in the messages."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise FormatError(f"{name}: {len(infos)} members; the limit is {limits.max_members}")
    seen: dict[str, int] = {}
    total = 0
    files = []
    for number, info in enumerate(infos, 1):
        check_member_name(info, name, kind=kind)
        path = info.filename
        if path in seen:
            raise FormatError(
                f"{name}: member name {path!r} appears more than once (entries {seen[path]} and {number}); "
                f"refusing the {kind}"
            )
        seen[path] = number
        mode = info.external_attr >> 16
        file_type = stat.S_IFMT(mode)
        if file_type == stat.S_IFLNK:
            raise FormatError(f"{name}: member {path!r} is a symbolic link; refusing the {kind}")
        if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise FormatError(f"{name}: member {path!r} is not a regular file (mode {oct(mode)})")
        if info.flag_bits & 0x1:
            raise FormatError(f"{name}: member {path!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FormatError(
                f"{name}: member {path!r} uses compression method {info.compress_type}; "
                f"a {kind} uses stored or deflate"
            )
        if info.is_dir():
            if info.file_size:
                raise FormatError(f"{name}: directory member {path!r} has content")
            continue
        total += info.file_size
        if total > limits.max_total_bytes:
            raise FormatError(
                f"{name}: the members expand to more than {limits.max_total_bytes} bytes "
                "(WaczLimits.max_total_bytes); refusing the {kind}"
            )
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise FormatError(
                f"{name}: member {path!r} expands from {info.compress_size} to {info.file_size} bytes "
                f"(ratio {info.file_size // max(info.compress_size, 1)}:1; the limit is "
                f"{limits.max_ratio}:1): a zip bomb? refusing the {kind}"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise FormatError(
                f"{name}: stored member {path!r} declares {info.file_size} bytes but occupies "
                f"{info.compress_size}"
            )
        files.append(info)
    # Members must not share bytes (overlapping entries make a small zip expand many times over).
    spans = []
    for info in files:
        stream.seek(info.header_offset)
        local = stream.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise FormatError(
                f"{name}: member {info.filename!r} has no local header at offset {info.header_offset}"
            )
        name_length = int.from_bytes(local[26:28], "little")
        extra_length = int.from_bytes(local[28:30], "little")
        end = info.header_offset + 30 + name_length + extra_length + info.compress_size
        spans.append((info.header_offset, end, info.filename))
    spans.sort()
    for (_, end, path), (start, _, following) in itertools.pairwise(spans):
        if end > start:
            raise FormatError(f"{name}: members {path!r} and {following!r} overlap; refusing the {kind}")
    return files


def read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limit: int) -> tuple[bytes, str]:
    if info.file_size > limit:
        raise FormatError(f"{name}: {info.filename} is {info.file_size} bytes; the limit is {limit}")
    member = MemberStream(zf.open(info), where=f"{name}: {info.filename}", declared_size=info.file_size)
    data = b"".join(iter(lambda: member.read(CHUNK), b""))
    return data, member.hasher.hexdigest()
