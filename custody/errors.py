"""The custody exception tree.

Invariant: every error raised on purpose by custody is a ``CustodyError``. Each one carries an
``exit_code`` (DESIGN.md: 1 = verification failed or operation refused, 3 = input could not be
read or parsed) and can explain itself with ``diagnostics()``: what happened and what to do next.
Messages name the thing (file, entry, key id) and say expected vs observed; they never contain key
material or passphrases.
"""

from __future__ import annotations

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 3


class CustodyError(Exception):
    """Base of every error custody raises on purpose."""

    exit_code: int = EXIT_REFUSED
    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def diagnostics(self) -> str:
        """The message, followed by a hint on what to do next when there is one."""
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class IntegrityError(CustodyError):
    """Bytes do not match the digest they were recorded with."""


class SignatureError(CustodyError):
    """A signature is missing, malformed or does not verify."""


class PolicyError(CustodyError):
    """An operation was refused by a rule (revoked key, duplicate name, sealed case...)."""


class PassphraseError(PolicyError):
    """A private key could not be unlocked with the passphrase given."""

    hint = "check the passphrase (prompted, or CUSTODY_PASSPHRASE for automation)"


class NotFoundError(CustodyError):
    """A named thing (case, key, tool, artifact, workspace) does not exist."""


class WorkspaceNotFoundError(NotFoundError):
    hint = "run 'custody init' first, or pass --workspace / set CUSTODY_WORKSPACE"


class StoreError(CustodyError):
    """The blob store could not store or return content."""


class FormatError(CustodyError):
    """Input could not be read or parsed (malformed JSON/YAML, wrong types, bad encoding)."""

    exit_code = EXIT_BAD_INPUT


class InputFileError(FormatError):
    """An input file is missing or unreadable."""
