"""Where things are in a disclosure bundle (DESIGN.md, "Disclosure bundle"): shared by the
exporter (``custody.bundle``) and the offline verifier (``custody.bundle_verify``), which must not
pull in the database layer. Pure."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from custody.bag import TAG_MANIFEST

FORMAT = "custody-bundle/v1"
SIGNATURE_FILE = f"{TAG_MANIFEST}.sig"
VERIFY_DOC = "VERIFY.md"
STANDALONE_VERIFIER = "verify_bundle.py"
ENTRIES = "data/ledger/entries.jsonl"
CHECKPOINT = "data/ledger/checkpoint"
EXHIBITS = "data/exhibits.json"
WITHHELD = "data/withheld.json"
CASE_JSONLD = "data/case.jsonld"
QUESTIONNAIRE = "data/questionnaire.json"
KEYS_INDEX = "data/keys/keys.json"
LOG_KEY_PEM = "data/keys/log.pem"
_EXTENSION = re.compile(r"\.[a-z0-9]{1,10}")


def artifact_path(digest: str, name: str | None) -> str:
    """``data/artifacts/<sha256>`` plus the extension of the recorded name, if a plain one."""
    suffix = PurePosixPath(name or "").suffix.lower()
    return f"data/artifacts/{digest}{suffix if _EXTENSION.fullmatch(suffix) else ''}"


def key_pem_path(name: str) -> str:
    return f"data/keys/{name}.pem"
