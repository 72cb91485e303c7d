"""The PDF dossier of a disclosure bundle, rendered only from a bag that verifies.

Two ways in, one model (``custody.dossier_model``) and one renderer (``custody.dossier_render``):

- ``dossier_for_payload``: while ``custody.bundle`` exports, the staged payload (before the
  manifests and the tag-manifest signature are made) is checked with the verifier's own payload
  checks and rendered to ``data/dossier.pdf``, which the manifests then cover.
- ``dossier_of_bundle``: ``custody dossier BUNDLE.zip`` verifies the finished bundle exactly as
  ``custody verify`` does and renders from the bag it verified; a bundle that fails any check
  gives no dossier.

Invariants: no database and no clock (the same bag renders the same bytes, until it is signed: a
PAdES signature carries its signing time and a randomised ECDSA value); a failed check stops
rendering with ``IntegrityError`` naming the failed checks.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from custody.bag import PAYLOAD_MANIFEST, TAG_MANIFEST, BagFile, manifest_text, parse_bag_info
from custody.bundle_verify import (
    BagSource,
    BundleVerdict,
    Progress,
    open_bag,
    verify_bag,
    verify_staged_payload,
)
from custody.digests import sha256_hex
from custody.dossier_model import DOSSIER, build_dossier_model
from custody.dossier_render import render_dossier
from custody.errors import IntegrityError
from custody.ledger_verify import Report


class _ChunkStream:
    """A read-only stream over an iterable of chunks (a staged file streamed from the store)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def staged_bag(top: str, files: Sequence[BagFile]) -> BagSource:
    """The staged payload of an export, read like a bag (nothing is written anywhere)."""
    by_path = {item.path: item for item in files}

    @contextmanager
    def opener(inner: str) -> Iterator[BinaryIO]:
        item = by_path[inner]
        if isinstance(item.content, bytes):
            yield io.BytesIO(item.content)
        else:
            yield _ChunkStream(iter(item.chunks()))  # type: ignore[misc]

    return BagSource(f"bundle {top} (staged)", top, {p: f.size for p, f in by_path.items()}, opener)


def _refuse(report: Report, what: str) -> None:
    failed = [
        f"{check.number}. {check.title}: " + "; ".join(check.failures[:3])
        for check in report.checks
        if not check.ok
    ]
    if failed:
        raise IntegrityError(
            f"{what} does not verify; no dossier is rendered from it: " + " | ".join(failed),
            hint="run custody verify on it for the full report",
        )


def dossier_for_payload(
    top: str,
    payload: Sequence[BagFile],
    *,
    case_id: str,
    exporter: str,
    recipient: str | None = None,
    sign: Callable[[bytes], bytes] | None = None,
) -> BagFile:
    """``data/dossier.pdf`` for a bundle being exported, from its staged payload; ``sign`` (the
    exporter's PAdES signature, ``custody.pdfsign.sign_pdf``) is applied to the rendered PDF.

    Raises:
        IntegrityError: the payload fails one of the verifier's payload checks.
    """
    digests = {item.path: item.digest for item in payload}
    bag = staged_bag(top, payload)
    _refuse(
        verify_staged_payload(bag, case_id=case_id, exporter=exporter, payload_manifest=digests), bag.name
    )
    model = build_dossier_model(bag, payload_manifest=manifest_text(digests), recipient=recipient)
    pdf = render_dossier(model)
    return BagFile(DOSSIER, sign(pdf) if sign is not None else pdf)


@dataclass(frozen=True)
class RenderedDossier:
    pdf: bytes
    verdict: BundleVerdict
    pages_hint: str  # what was laid out, for the CLI's progress line


def dossier_of_bundle(
    path: Path,
    *,
    trust: Sequence[str] = (),
    jurisdiction: str | None = None,
    progress: Progress | None = None,
    say: Callable[[str], None] | None = None,
) -> RenderedDossier:
    """Verify the bundle at ``path`` as ``custody verify`` does, then render its dossier.

    Raises:
        IntegrityError: the bundle fails verification (naming the failed checks).
        FormatError / InputFileError: the bundle cannot be read.
    """
    with open_bag(path) as bag:
        verdict = verify_bag(bag, trust=trust, progress=progress)
        _refuse(verdict.report, f"bundle {path.name}")
        if say is not None:
            say(f"verified: {verdict.summary}; laying out the dossier")
        tag_manifest = bag.read(TAG_MANIFEST)
        info = parse_bag_info(bag.read("bag-info.txt"))
        recipients = info.get("Custody-Recipient") or []
        recipient = recipients[0] if recipients else None
        model = build_dossier_model(
            bag,
            payload_manifest=bag.read(PAYLOAD_MANIFEST),
            tag_manifest_sha256=sha256_hex(tag_manifest),
            recipient=recipient,
            jurisdiction=jurisdiction,
            progress=say,
        )
    pdf = render_dossier(model)
    return RenderedDossier(
        pdf, verdict, f"{len(model.exhibits)} exhibits, {len(model.transcripts)} conversations"
    )
