"""The exception tree: exit codes (DESIGN.md) and diagnostics."""

from __future__ import annotations

import pytest

from custody.errors import (
    CustodyError,
    FormatError,
    InputFileError,
    IntegrityError,
    NotFoundError,
    PassphraseError,
    PolicyError,
    SignatureError,
    WorkspaceNotFoundError,
)


@pytest.mark.parametrize(
    ("error", "exit_code"),
    [
        (IntegrityError, 1),
        (SignatureError, 1),
        (PolicyError, 1),
        (PassphraseError, 1),
        (NotFoundError, 1),
        (FormatError, 3),
        (InputFileError, 3),
    ],
)
def test_exit_codes(error: type[CustodyError], exit_code: int) -> None:
    assert issubclass(error, CustodyError)
    assert error("x").exit_code == exit_code


def test_passphrase_error_is_a_refusal() -> None:
    assert issubclass(PassphraseError, PolicyError)
    assert issubclass(InputFileError, FormatError)


def test_diagnostics_with_and_without_hint() -> None:
    assert CustodyError("entry 3: bad").diagnostics() == "entry 3: bad"
    assert CustodyError("bad", hint="do this").diagnostics() == "bad\n  hint: do this"
    assert "custody init" in WorkspaceNotFoundError("no workspace").diagnostics()
    assert CustodyError("entry 3: bad").message == "entry 3: bad"


def test_instance_hint_does_not_leak_into_class() -> None:
    CustodyError("x", hint="only here")
    assert CustodyError("y").diagnostics() == "y"
