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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from custody.workspace import Workspace


def __getattr__(name: str) -> object:
    # The workspace pulls in the database layer (SQLAlchemy, ~0.4 s); the offline verifier and the
    # pure core never need it, so it is imported on first use only.
    if name == "Workspace":
        from custody.workspace import Workspace  # noqa: PLC0415

        return Workspace
    raise AttributeError(f"module 'custody' has no attribute {name!r}")


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
