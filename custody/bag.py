"""BagIt (RFC 8493) for disclosure bundles: tag files, manifests, and a deterministic zip.

Invariants:
- Pure text and bytes in, bytes out, except ``write_zip``, which writes to the stream it is given.
- Manifests list ``<sha256 hex>  <path>`` lines sorted by path (two spaces: what ``sha256sum -c``
  reads, and valid BagIt, which allows any run of whitespace). Paths are relative, ``/``-separated
  and never need BagIt's percent-encoding: custody names every file it writes, and names with
  CR, LF or ``%`` are refused.
- The zip is deterministic: one top folder, entries sorted by path, fixed file times (1980-01-01,
  the zip epoch), fixed permissions, each member stored or deflated at a fixed level as its
  ``BagFile`` says: the same bag gives the same bytes.
- Parsing is strict: a manifest line that is not ``<64 lowercase hex> <path>``, a path listed
  twice or a path that could leave the bag is a ``FormatError`` naming the file and line.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from custody.digests import sha256_hex
from custody.errors import FormatError

BAGIT_VERSION = "1.0"
BAGIT_TXT = f"BagIt-Version: {BAGIT_VERSION}\nTag-File-Character-Encoding: UTF-8\n".encode()
PAYLOAD_MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
BAG_INFO = "bag-info.txt"
BAG_DECLARATION = "bagit.txt"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
COMPRESS_LEVEL = 6
_LINE = re.compile(r"([0-9a-f]{64})[ \t]+(\S.*)")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


def check_bag_path(path: str, what: str = "path") -> str:
    """A relative ``/``-separated path that stays inside the bag and needs no percent-encoding."""
    if not path or "\\" in path or any(c in path for c in "\r\n%\x00"):
        raise FormatError(f"{what} {path!r} is empty or holds a backslash, CR, LF, '%' or NUL")
    if path.startswith("/") or any(part in ("", ".", "..") for part in path.split("/")):
        raise FormatError(f"{what} {path!r} is absolute or has an empty, '.' or '..' segment")
    return str(PurePosixPath(path))


def manifest_text(digests: Mapping[str, str]) -> bytes:
    """A ``manifest-sha256.txt`` / ``tagmanifest-sha256.txt``: ``digest  path`` sorted by path."""
    lines = []
    for path in sorted(digests):
        check_bag_path(path)
        lines.append(f"{digests[path]}  {path}\n")
    return "".join(lines).encode()


def parse_manifest(data: bytes, *, name: str) -> dict[str, str]:
    """Path -> sha256 hex from a manifest file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{name} is not UTF-8: {exc}") from exc
    if text and not text.endswith("\n"):
        raise FormatError(f"{name}: the last line has no line feed (the file may be cut short)")
    result: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _LINE.fullmatch(line)
        if match is None:
            raise FormatError(f"{name} line {number}: expected '<sha256 hex>  <path>', got {line[:80]!r}")
        digest, path = match.groups()
        path = check_bag_path(path, f"{name} line {number}: path")
        if path in result:
            raise FormatError(f"{name} line {number}: {path} is listed twice")
        result[path] = digest
    return result


def bag_info_text(fields: Sequence[tuple[str, str]]) -> bytes:
    """``bag-info.txt``: ``Label: value`` lines in the order given (values on one line)."""
    lines = []
    for label, value in fields:
        if not _LABEL.fullmatch(label):
            raise FormatError(f"bag-info label {label!r} is not letters, digits and '-'")
        if "\n" in value or "\r" in value:
            raise FormatError(f"bag-info value of {label} spans lines")
        lines.append(f"{label}: {value}\n")
    return "".join(lines).encode()


def parse_bag_info(data: bytes, *, name: str = BAG_INFO) -> dict[str, list[str]]:
    """Label -> values (a label may repeat). Continuation lines (leading whitespace) are joined."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{name} is not UTF-8: {exc}") from exc
    fields: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line[:1] in (" ", "\t") and fields:
            label, value = fields[-1]
            fields[-1] = (label, f"{value} {line.strip()}")
            continue
        label, sep, value = line.partition(":")
        if not sep or not _LABEL.fullmatch(label.strip()):
            raise FormatError(f"{name} line {number}: expected 'Label: value', got {line[:80]!r}")
        fields.append((label.strip(), value.strip()))
    result: dict[str, list[str]] = {}
    for label, value in fields:
        result.setdefault(label, []).append(value)
    return result


@dataclass(frozen=True)
class BagFile:
    """One file of a bag: its path inside the bag and its content, either bytes or a source of
    chunks (read once, while the zip is written) with its length and SHA-256 known beforehand."""

    path: str
    content: bytes | Callable[[], Iterable[bytes]]
    length: int | None = None
    sha256: str | None = None
    compress: bool = True
    """Deflate this member; False stores it as is (captures are mostly compressed already, and
    stored members are read back at disk speed)."""

    def __post_init__(self) -> None:
        if not isinstance(self.content, bytes) and (self.length is None or self.sha256 is None):
            raise ValueError(f"bag file {self.path}: streamed content needs its length and sha256")

    @property
    def size(self) -> int:
        return len(self.content) if isinstance(self.content, bytes) else int(self.length or 0)

    @property
    def digest(self) -> str:
        return sha256_hex(self.content) if isinstance(self.content, bytes) else str(self.sha256)

    def chunks(self) -> Iterable[bytes]:
        return (self.content,) if isinstance(self.content, bytes) else self.content()


def write_zip(
    out: BinaryIO, top: str, files: Iterable[BagFile], progress: Callable[[int], None] | None = None
) -> None:
    """Write ``files`` under the folder ``top`` as a deterministic zip (sorted, fixed times);
    ``progress`` is called with the number of bytes of each chunk written."""
    check_bag_path(top, "top folder")
    ordered = sorted(files, key=lambda item: item.path)
    seen: set[str] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive:
        for item in ordered:
            path = check_bag_path(item.path)
            if path in seen:
                raise FormatError(f"bag file {path} is written twice")
            seen.add(path)
            info = zipfile.ZipInfo(f"{top}/{path}", date_time=ZIP_EPOCH)
            info.file_size = item.size  # lets zipfile choose zip64 only where a member needs it
            info.compress_type = zipfile.ZIP_DEFLATED if item.compress else zipfile.ZIP_STORED
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            info.create_system = 3  # Unix, so the mode above is read as such
            with archive.open(info, "w") as member:
                for chunk in item.chunks():
                    member.write(chunk)
                    if progress is not None:
                        progress(len(chunk))
