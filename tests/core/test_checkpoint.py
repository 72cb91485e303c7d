"""Checkpoints and signed notes: Go reference vectors, a golden note, tampering, cosigning, parsing."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.checkpoint import (
    MAX_SIGNATURES,
    Checkpoint,
    NoteSignature,
    NoteVerifier,
    SignedNote,
    _unverified_checkpoint,
    add_signature,
    note_key_hash,
    open_checkpoint,
    sign_checkpoint,
    sign_note,
    verifier_key_string,
    verify_note,
)
from custody.errors import CustodyError, FormatError, IntegrityError, PolicyError, SignatureError
from custody.keys import Signer

GO_FILE = Path(__file__).parents[1] / "vectors" / "sumdb_note.json"
GO: dict[str, Any] = json.loads(GO_FILE.read_text(encoding="utf-8"))
GO_TEXT: bytes = GO["text"].encode()
PETER_LINE: bytes = GO["signature_lines"]["PeterNeumann"].encode()
ENOCH_LINE: bytes = GO["signature_lines"]["EnochRoot"].encode()
PETER = NoteVerifier.from_string(GO["verifier_keys"]["PeterNeumann"])
ENOCH = NoteVerifier.from_string(GO["verifier_keys"]["EnochRoot"])


def _go_signer() -> Signer:
    # PRIVATE+KEY+<name>+<hash>+base64(0x01 || 32-byte seed); the base64 itself contains '+'.
    material = base64.b64decode(GO["signer_key"].split("+", 4)[4])
    assert material[0] == 0x01
    return Signer.from_seed(material[1:])


# Golden: seed 32 x 0x01, the CT size-8 root, key name = origin (as tlog-checkpoint recommends).
LOG_SEED = bytes([0x01]) * 32
COSIGNER_SEED = bytes([0x02]) * 32
ORIGIN = "custody/ws-example/case-2024-001"
COSIGNER = "prosecutor.example/office"
ROOT_8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
GOLDEN_VERIFIER_KEY = "custody/ws-example/case-2024-001+019fd5c4+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c"
GOLDEN_TEXT = b"custody/ws-example/case-2024-001\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
GOLDEN_LOG_LINE = (
    "\u2014 custody/ws-example/case-2024-001 "
    "AZ/VxEFlBCUCaCWm175IPclUpthIqTyX5bgL2u1HSEcxQBuE+g8gLvJde7vKIn1YMwPbKZq+h1fEJ4Pz6Hzu/fjCOgU=\n"
).encode()
GOLDEN_COSIGNER_LINE = (
    "\u2014 prosecutor.example/office "
    "zNepHyq9BDu5vfqxEzPT2rg1dbJQgLRe7l3NnoDE+i18KKIMM3wAGTPmGUay4Yl1/9JzK3+NoUYtzGM6SEm77JrTYgY=\n"
).encode()
GOLDEN_NOTE = GOLDEN_TEXT + b"\n" + GOLDEN_LOG_LINE
GOLDEN_COSIGNED = GOLDEN_NOTE + GOLDEN_COSIGNER_LINE


@pytest.fixture
def log_signer() -> Signer:
    return Signer.from_seed(LOG_SEED)


@pytest.fixture
def cosigner() -> Signer:
    return Signer.from_seed(COSIGNER_SEED)


@pytest.fixture
def checkpoint() -> Checkpoint:
    return Checkpoint(ORIGIN, 8, ROOT_8)


# --- interoperability with golang.org/x/mod/sumdb/note -------------------------------------------


def test_go_key_hash_and_verifier_string() -> None:
    signer = _go_signer()
    assert note_key_hash("PeterNeumann", signer.public_key) == bytes.fromhex("c74f20a3")
    assert verifier_key_string("PeterNeumann", signer.public_key) == GO["verifier_keys"]["PeterNeumann"]
    assert PETER.public_key == signer.public_key
    assert ENOCH.key_hash == bytes.fromhex("af0cfe78")
    assert ENOCH.to_string() == GO["verifier_keys"]["EnochRoot"]


def test_signing_reproduces_the_go_note_byte_for_byte() -> None:
    note = sign_note(GO_TEXT, "PeterNeumann", _go_signer())
    assert note.to_bytes() == GO_TEXT + b"\n" + PETER_LINE


def test_go_notes_verify_and_unknown_signatures_are_ignored() -> None:
    both = SignedNote.from_bytes(GO_TEXT + b"\n" + PETER_LINE + ENOCH_LINE)
    assert both.text == GO_TEXT
    assert verify_note(both, [PETER, ENOCH]) == ["PeterNeumann", "EnochRoot"]
    assert verify_note(both, [PETER]) == ["PeterNeumann"]
    assert verify_note(both, {"EnochRoot": ENOCH.public_key}) == ["EnochRoot"]
    with pytest.raises(
        SignatureError,
        match=r"no signature on the note is by a trusted key: signed by "
        r"PeterNeumann\+c74f20a3, EnochRoot\+af0cfe78; trusted: none",
    ):
        verify_note(both, [])


def test_go_note_with_a_corrupted_known_signature_is_rejected() -> None:
    line = PETER_LINE.decode()
    corrupted = (line[:60] + "ABCD" + line[60:]).encode()
    with pytest.raises(SignatureError, match=r"signature line 1 by PeterNeumann\+c74f20a3 is 67 bytes"):
        verify_note(SignedNote.from_bytes(GO_TEXT + b"\n" + corrupted), [PETER])


def test_go_verifier_key_manglings_are_refused() -> None:
    # TestNewVerifier: every proper substring and every single-character increment must fail.
    key = GO["verifier_keys"]["PeterNeumann"]
    assert NoteVerifier.from_string(key) == PETER
    for i in range(len(key) + 1):
        for j in range(i + 1, len(key) + 1):
            if (i, j) != (0, len(key)):
                with pytest.raises(FormatError):
                    NoteVerifier.from_string(key[i:j])
    for i in range(len(key)):
        with pytest.raises(FormatError):
            NoteVerifier.from_string(key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :])


@pytest.mark.parametrize(
    ("key", "match"),
    [
        (
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "key is not canonical",
        ),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10Q=", "is 31 bytes, expected 32"),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "type 0x65 is not Ed25519"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "computed c74f20a3"),
        ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "is not 8 hex digits"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "names have no spaces"),
        ("PeterNeumann", "not of the form name\\+keyhash\\+base64key"),
    ],
)
def test_bad_verifier_keys_say_what_is_wrong(key: str, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        NoteVerifier.from_string(key)


# --- golden note ---------------------------------------------------------------------------------


def test_golden_key_hash_recomputed_independently(log_signer: Signer) -> None:
    raw = log_signer.public_key.raw
    expected = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw).digest()[:4]
    assert note_key_hash(ORIGIN, log_signer.public_key) == expected == bytes.fromhex("019fd5c4")
    assert verifier_key_string(ORIGIN, log_signer.public_key) == GOLDEN_VERIFIER_KEY


def test_golden_note_regenerates(log_signer: Signer, cosigner: Signer, checkpoint: Checkpoint) -> None:
    assert checkpoint.to_text() == GOLDEN_TEXT
    note = sign_checkpoint(checkpoint, ORIGIN, log_signer)
    assert note.to_bytes() == GOLDEN_NOTE
    assert add_signature(note, COSIGNER, cosigner).to_bytes() == GOLDEN_COSIGNED


def test_golden_signature_recomputed_with_cryptography_directly() -> None:
    # Independent of custody: key hash || Ed25519(seed, text), base64, after an em dash.
    private = Ed25519PrivateKey.from_private_bytes(LOG_SEED)
    raw = Signer.from_seed(LOG_SEED).public_key.raw
    key_hash = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw).digest()[:4]
    blob = base64.b64encode(key_hash + private.sign(GOLDEN_TEXT)).decode()
    assert f"\u2014 {ORIGIN} {blob}\n".encode() == GOLDEN_LOG_LINE


def test_golden_note_opens(checkpoint: Checkpoint) -> None:
    verifier = NoteVerifier.from_string(GOLDEN_VERIFIER_KEY)
    assert open_checkpoint(GOLDEN_NOTE, [verifier]) == checkpoint
    assert open_checkpoint(GOLDEN_NOTE, {ORIGIN: verifier.public_key}, origin=ORIGIN) == checkpoint


def test_every_bit_flip_of_the_golden_note_is_refused() -> None:
    verifier = NoteVerifier.from_string(GOLDEN_VERIFIER_KEY)
    accepted = []
    for position in range(len(GOLDEN_NOTE)):
        for bit in range(8):
            mutated = bytearray(GOLDEN_NOTE)
            mutated[position] ^= 1 << bit
            try:
                open_checkpoint(bytes(mutated), [verifier])
            except (FormatError, SignatureError):
                continue
            accepted.append((position, bit))
    assert not accepted, f"bit flips accepted: {accepted[:10]}"


# --- cosigning -----------------------------------------------------------------------------------


def test_cosignature_leaves_the_original_line_untouched(
    log_signer: Signer, cosigner: Signer, checkpoint: Checkpoint
) -> None:
    note = SignedNote.from_bytes(GOLDEN_NOTE)
    cosigned = add_signature(note, COSIGNER, cosigner)
    assert cosigned.to_bytes().startswith(GOLDEN_NOTE)
    assert cosigned.signatures[0] == note.signatures[0]
    trusted = [(ORIGIN, log_signer.public_key), (COSIGNER, cosigner.public_key)]
    assert verify_note(SignedNote.from_bytes(cosigned.to_bytes()), trusted) == [ORIGIN, COSIGNER]
    assert verify_note(cosigned, [(COSIGNER, cosigner.public_key)]) == [COSIGNER]
    assert open_checkpoint(cosigned.to_bytes(), trusted, origin=ORIGIN) == checkpoint


def test_cosigning_twice_with_the_same_key_changes_nothing(cosigner: Signer) -> None:
    cosigned = SignedNote.from_bytes(GOLDEN_COSIGNED)
    assert add_signature(cosigned, COSIGNER, cosigner) is cosigned


def test_cosigning_a_different_line_for_the_same_key_is_refused(cosigner: Signer) -> None:
    forged = NoteSignature(COSIGNER, note_key_hash(COSIGNER, cosigner.public_key), b"\x00" * 64)
    note = SignedNote(GOLDEN_TEXT, (forged,))
    with pytest.raises(PolicyError, match=r"already carries a different signature line for key prosecutor"):
        add_signature(note, COSIGNER, cosigner)


def test_go_cosignature_appended_to_our_note_verifies() -> None:
    ours = sign_note(GO_TEXT, "PeterNeumann", _go_signer())
    combined = SignedNote.from_bytes(ours.to_bytes() + ENOCH_LINE)
    assert verify_note(combined, [PETER, ENOCH]) == ["PeterNeumann", "EnochRoot"]


def test_a_failing_known_cosignature_rejects_the_whole_note(log_signer: Signer, cosigner: Signer) -> None:
    bad = NoteSignature(COSIGNER, note_key_hash(COSIGNER, cosigner.public_key), b"\x01" * 64)
    note = SignedNote(GOLDEN_TEXT, (*SignedNote.from_bytes(GOLDEN_NOTE).signatures, bad))
    trusted = [(ORIGIN, log_signer.public_key), (COSIGNER, cosigner.public_key)]
    with pytest.raises(
        SignatureError, match=r"signature line 2 by prosecutor.example/office\+[0-9a-f]{8} does not verify"
    ):
        verify_note(note, trusted)
    # Unknown to this verifier, the same line is ignored.
    assert verify_note(note, [(ORIGIN, log_signer.public_key)]) == [ORIGIN]


def test_same_name_other_key_is_an_unknown_signature(log_signer: Signer, cosigner: Signer) -> None:
    # The spec: ignore signatures from unknown keys even if they share a name with a known key.
    impostor = sign_note(GOLDEN_TEXT, ORIGIN, cosigner)
    with pytest.raises(SignatureError, match="no signature on the note is by a trusted key"):
        verify_note(impostor, [(ORIGIN, log_signer.public_key)])


def test_several_keys_under_one_name_are_all_trusted(log_signer: Signer, cosigner: Signer) -> None:
    # Key rotation: the old and the new key of one log, listed (even twice) under its name.
    note = SignedNote.from_bytes(GOLDEN_NOTE)
    trusted = [
        (ORIGIN, cosigner.public_key),
        (ORIGIN, log_signer.public_key),
        (ORIGIN, log_signer.public_key),
    ]
    assert verify_note(note, trusted) == [ORIGIN]


def test_ambiguous_trusted_keys_are_refused(
    log_signer: Signer, cosigner: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two keys sharing name and key hash cannot happen by accident; force the clash.
    monkeypatch.setattr("custody.checkpoint.note_key_hash", lambda name, key: b"\x00\x00\x00\x00")
    with pytest.raises(
        SignatureError,
        match=r"two different trusted keys share the name and key hash "
        r"custody/ws-example/case-2024-001\+00000000",
    ):
        verify_note(
            SignedNote.from_bytes(GOLDEN_NOTE),
            [(ORIGIN, log_signer.public_key), (ORIGIN, cosigner.public_key)],
        )


def test_too_many_signatures_cannot_be_added(cosigner: Signer) -> None:
    filler = tuple(NoteSignature(f"w{i}", b"\x00\x00\x00\x00", b"\x00" * 64) for i in range(MAX_SIGNATURES))
    with pytest.raises(PolicyError, match="already has 100 signatures"):
        add_signature(SignedNote(GOLDEN_TEXT, filler), COSIGNER, cosigner)


# --- origin binding ------------------------------------------------------------------------------


def test_checkpoint_of_another_log_is_refused() -> None:
    verifier = NoteVerifier.from_string(GOLDEN_VERIFIER_KEY)
    with pytest.raises(
        IntegrityError,
        match="checkpoint is for log 'custody/ws-example/case-2024-001', "
        "expected 'custody/ws-example/case-2024-002'",
    ):
        open_checkpoint(GOLDEN_NOTE, [verifier], origin="custody/ws-example/case-2024-002")


def test_signed_non_checkpoint_text_is_a_format_error(log_signer: Signer) -> None:
    note = sign_note(b"hello\n", ORIGIN, log_signer)
    with pytest.raises(FormatError, match=r"checkpoint text has 1 line\(s\), expected at least 3"):
        open_checkpoint(note.to_bytes(), [(ORIGIN, log_signer.public_key)])


def test_unverified_parsing_needs_no_keys(checkpoint: Checkpoint) -> None:
    note, parsed = _unverified_checkpoint(GOLDEN_NOTE)
    assert parsed == checkpoint
    assert note.to_bytes() == GOLDEN_NOTE


def test_c2sp_example_checkpoint_parses() -> None:
    example = (
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
        "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
        "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    ).encode()
    note, parsed = _unverified_checkpoint(example)
    assert (parsed.origin, parsed.size, parsed.extensions) == ("example.com/behind-the-sofa", 20852163, ())
    assert note.signatures[0].name == "example.com/behind-the-sofa"
    with pytest.raises(SignatureError):
        open_checkpoint(example, [PETER])


# --- round trips ---------------------------------------------------------------------------------


def test_checkpoint_with_extensions_round_trips() -> None:
    cp = Checkpoint(ORIGIN, 0, b"\x00" * 32, ("Timestamp: 1700000000", "x"))
    text = cp.to_text()
    assert text == f"{ORIGIN}\n0\n{'A' * 43}=\nTimestamp: 1700000000\nx\n".encode()
    assert Checkpoint.from_text(text) == cp


def test_note_text_may_hold_blank_lines(log_signer: Signer) -> None:
    note = sign_note(b"first\n\nsecond\n\n", "k", log_signer)
    parsed = SignedNote.from_bytes(note.to_bytes())
    assert parsed.text == b"first\n\nsecond\n\n"
    assert verify_note(parsed, [("k", log_signer.public_key)]) == ["k"]


_line_text = st.text(st.characters(codec="utf-8", min_codepoint=0x20), min_size=1, max_size=40)


@settings(max_examples=100, deadline=None)
@given(
    origin=_line_text,
    size=st.integers(0, 2**64 - 1),
    root_hash=st.binary(min_size=32, max_size=32),
    extensions=st.lists(_line_text, max_size=3),
)
def test_checkpoint_and_note_round_trip(
    origin: str, size: int, root_hash: bytes, extensions: list[str]
) -> None:
    cp = Checkpoint(origin, size, root_hash, tuple(extensions))
    assert Checkpoint.from_text(cp.to_text()) == cp
    signer = Signer.from_seed(LOG_SEED)
    note = sign_checkpoint(cp, "log", signer)
    data = note.to_bytes()
    assert SignedNote.from_bytes(data) == note
    assert open_checkpoint(data, {"log": signer.public_key}) == cp


# --- malformed notes -----------------------------------------------------------------------------

_SIG = GOLDEN_LOG_LINE


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (GOLDEN_TEXT + _SIG, "no blank line between the text and the signatures"),
        (GOLDEN_TEXT, "no blank line between the text and the signatures"),
        (GOLDEN_TEXT + b"\n", "no signature lines after the blank line"),
        (GOLDEN_TEXT + b"\n" + _SIG[:-1], "last signature line does not end with a newline"),
        (
            GOLDEN_TEXT + b"\n" + "\u2014 name !!!!\n".encode(),
            "signature line 1 \\(name\\): signature is not valid standard base64",
        ),
        (
            GOLDEN_TEXT + b"\n" + "\u2014 name AAAAAB==\n".encode(),
            "signature is not canonical standard base64",
        ),
        (GOLDEN_TEXT + b"\n" + "\u2014 name AAAAAAA\n".encode(), "signature is not valid standard base64"),
        (
            GOLDEN_TEXT + b"\n" + "\u2014 name AAAAAA==\n".encode(),
            "decodes to 4 bytes, expected a 4-byte key hash followed",
        ),
        (
            GOLDEN_TEXT + b"\n" + "\u2014 name \n".encode(),
            "signature line 1 \\(name\\) has an empty signature",
        ),
        (
            GOLDEN_TEXT + b"\n" + "\u2014 nameonly\n".encode(),
            "no space between the key name and the signature",
        ),
        (GOLDEN_TEXT + b"\n" + "\u2014 a+b AAAAAAAA\n".encode(), "key name 'a\\+b' contains '\\+'"),
        (
            GOLDEN_TEXT + b"\n" + PETER_LINE.replace(b"PeterNeumann", b"Bad Name"),
            "not valid standard base64",
        ),
        (GOLDEN_TEXT + b"\n" + b"- name AAAAAAAA\n", "signature line 1 does not start with an em dash"),
        (
            GOLDEN_TEXT + b"\n" + _SIG + b"Unexpected line.\n",
            "signature line 2 does not start with an em dash",
        ),
        (
            GOLDEN_TEXT.replace(b"\n", b"\r\n", 1) + b"\n" + _SIG,
            "line 1 contains control character U\\+000D \\(carriage return\\)",
        ),
        (b"\x01" + GOLDEN_TEXT + b"\n" + _SIG, "line 1 contains control character U\\+0001"),
        (
            GOLDEN_TEXT + b"\n" + _SIG.replace(b" ", b"\t", 1),
            "line 5 contains control character U\\+0009 \\(tab\\)",
        ),
        (b"\xff" + GOLDEN_TEXT + b"\n" + _SIG, "signed note is not valid UTF-8 \\(byte 0"),
        (GOLDEN_TEXT + b"\n" + _SIG * 101, "101 signature lines, at most 100 are allowed"),
        (b"x" * (2**20 + 1), "more than the 1048576 allowed"),
    ],
    ids=[
        "missing-blank-line",
        "no-signatures-at-all",
        "blank-line-but-no-signatures",
        "unterminated-line",
        "bad-base64",
        "non-canonical-base64",
        "unpadded-base64",
        "signature-too-short",
        "empty-signature",
        "no-space",
        "plus-in-name",
        "space-in-name",
        "hyphen-not-em-dash",
        "trailing-garbage",
        "carriage-return",
        "control-character",
        "tab",
        "not-utf8",
        "too-many-signatures",
        "too-large",
    ],
)
def test_malformed_notes_name_the_problem(data: bytes, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        SignedNote.from_bytes(data)
    with pytest.raises(FormatError, match=match):
        open_checkpoint(data, [PETER])


def test_one_hundred_signatures_are_accepted(log_signer: Signer) -> None:
    note = SignedNote.from_bytes(GOLDEN_NOTE + GOLDEN_LOG_LINE * 99)
    assert len(note.signatures) == 100
    assert verify_note(note, [(ORIGIN, log_signer.public_key)]) == [ORIGIN]


# --- malformed checkpoint texts ------------------------------------------------------------------

_ROOT_B64 = base64.b64encode(ROOT_8).decode()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            f"{ORIGIN}\n007\n{_ROOT_B64}\n",
            "line 2 \\(tree size\\) '007' is not a decimal number without leading zeros",
        ),
        (f"{ORIGIN}\n+7\n{_ROOT_B64}\n", "line 2 \\(tree size\\) '\\+7' is not a decimal number"),
        (f"{ORIGIN}\n 7\n{_ROOT_B64}\n", "line 2 \\(tree size\\) ' 7' is not a decimal number"),
        (f"{ORIGIN}\n\uff17\n{_ROOT_B64}\n", "line 2 \\(tree size\\) '\uff17' is not a decimal number"),
        (f"{ORIGIN}\n1_000\n{_ROOT_B64}\n", "is not a decimal number"),
        (f"{ORIGIN}\n-1\n{_ROOT_B64}\n", "is not a decimal number"),
        (
            f"{ORIGIN}\n18446744073709551616\n{_ROOT_B64}\n",
            "line 2 \\(tree size\\) 18446744073709551616 is larger than 2\\*\\*64-1",
        ),
        (f"{ORIGIN}\n{'9' * 5000}\n{_ROOT_B64}\n", "line 2 \\(tree size\\) has 5000 digits"),
        (f"{ORIGIN}\n\n{_ROOT_B64}\n", "line 2 \\(tree size\\) is empty"),
        (f"\n8\n{_ROOT_B64}\n", "line 1 \\(origin\\) is empty"),
        (f"{ORIGIN}\n8\n{_ROOT_B64[:-1]}\n", "line 3 \\(root hash\\) is not valid standard base64"),
        (
            f"{ORIGIN}\n8\n{base64.b64encode(ROOT_8[:31]).decode()}\n",
            "line 3 \\(root hash\\) decodes to 31 bytes, expected 32",
        ),
        (f"{ORIGIN}\n8\n{_ROOT_B64}", "does not end with a newline"),
        (f"{ORIGIN}\n8\n", "has 2 line\\(s\\), expected at least 3"),
        (f"{ORIGIN}\n8\n{_ROOT_B64}\n\nextension\n", "line 4 \\(extension\\) is empty"),
        (f"{ORIGIN}\tx\n8\n{_ROOT_B64}\n", "line 1 \\(origin\\) contains U\\+0009 \\(tab\\)"),
    ],
    ids=[
        "leading-zero",
        "plus-sign",
        "leading-space",
        "fullwidth-digit",
        "underscore",
        "negative",
        "too-large",
        "thousands-of-digits",
        "empty-size",
        "empty-origin",
        "bad-root-base64",
        "short-root",
        "no-final-newline",
        "two-lines",
        "empty-extension",
        "tab-in-origin",
    ],
)
def test_malformed_checkpoint_texts_name_the_line(text: str, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        Checkpoint.from_text(text.encode())


def test_checkpoint_text_must_be_utf8() -> None:
    with pytest.raises(FormatError, match="checkpoint text is not valid UTF-8"):
        Checkpoint.from_text(b"\xc3\x28\n8\n" + _ROOT_B64.encode() + b"\n")


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        (("", 1, ROOT_8), "checkpoint origin is empty"),
        (("a\nb", 1, ROOT_8), "checkpoint origin contains U\\+000A \\(newline\\)"),
        ((ORIGIN, -1, ROOT_8), "tree size -1 is outside 0..2\\*\\*64-1"),
        ((ORIGIN, 2**64, ROOT_8), "outside 0..2\\*\\*64-1"),
        ((ORIGIN, True, ROOT_8), "tree size must be an integer"),
        ((ORIGIN, 1, ROOT_8[:31]), "root hash is 31 bytes, expected 32"),
        ((ORIGIN, 1, ROOT_8, ("",)), "line 4 \\(extension\\) is empty"),
        (("\ud800", 1, ROOT_8), "cannot be encoded as UTF-8"),
    ],
)
def test_invalid_checkpoints_cannot_be_built(arguments: tuple[Any, ...], match: str) -> None:
    with pytest.raises(FormatError, match=match):
        Checkpoint(*arguments)


@pytest.mark.parametrize(
    ("text", "name", "match"),
    [
        (b"no newline", "k", "note text does not end with a newline"),
        (b"", "k", "note text is empty"),
        (b"a\r\n", "k", "note text line 1 contains control character U\\+000D"),
        (b"a\n", "", "key name must be a non-empty string"),
        (b"a\n", "a b", "names have no spaces"),
        (b"a\n", "a\u00a0b", "names have no spaces"),
        (b"a\n", "a+b", "contains '\\+'"),
    ],
)
def test_sign_note_refuses_bad_text_or_name(text: bytes, name: str, match: str, log_signer: Signer) -> None:
    with pytest.raises(FormatError, match=match):
        sign_note(text, name, log_signer)


def test_errors_are_custody_errors_with_exit_codes(log_signer: Signer) -> None:
    with pytest.raises(CustodyError) as caught:
        SignedNote.from_bytes(b"garbage")
    assert caught.value.exit_code == 3
    with pytest.raises(CustodyError) as refused:
        verify_note(SignedNote.from_bytes(GOLDEN_NOTE), [])
    assert refused.value.exit_code == 1
    assert "hint:" in refused.value.diagnostics()
