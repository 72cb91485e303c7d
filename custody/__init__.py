"""custody: signed provenance, tamper-evident custody logs and disclosure bundles for
AI-generated and machine-captured evidence.

The public API is re-exported here; everything else may change between versions.
"""

__version__ = "0.1.0"

from custody.errors import (
    CustodyError,
    FormatError,
    InputFileError,
    IntegrityError,
    NotFoundError,
    PassphraseError,
    PolicyError,
    SignatureError,
    StoreError,
)
from custody.keys import PublicKey, Signature, Signer
from custody.models import HIL, ArtifactRole, HILFunction, HumanInvolvement, Origin, Provenance, Source
from custody.workspace import Workspace

__all__ = [
    "HIL",
    "ArtifactRole",
    "CustodyError",
    "FormatError",
    "HILFunction",
    "HumanInvolvement",
    "InputFileError",
    "IntegrityError",
    "NotFoundError",
    "Origin",
    "PassphraseError",
    "PolicyError",
    "Provenance",
    "PublicKey",
    "Signature",
    "SignatureError",
    "Signer",
    "Source",
    "StoreError",
    "Workspace",
    "__version__",
]
