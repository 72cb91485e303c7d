"""Shared fixtures: workspaces on SQLite and on the real PostgreSQL server, and a CLI runner
that runs the installed ``custody`` command as a subprocess.

PostgreSQL tests read CUSTODY_TEST_POSTGRES_URL. When it is unset they are skipped with the
reason; when CUSTODY_REQUIRE_POSTGRES=1 (set by .ci/run) an unreachable server fails them.
Each PostgreSQL test gets its own schema (via the search_path), dropped afterwards.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from custody.actors import create_key
from custody.cases import open_case
from custody.tools import register_tool
from custody.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
TOOLCARDS = REPO / "templates" / "toolcards"
PASSPHRASE = "correct horse battery staple"
POSTGRES_ENV = "CUSTODY_TEST_POSTGRES_URL"
REQUIRE_POSTGRES = os.environ.get("CUSTODY_REQUIRE_POSTGRES") == "1"


def _postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{POSTGRES_ENV} is not set but CUSTODY_REQUIRE_POSTGRES=1")
        pytest.skip(
            f"{POSTGRES_ENV} is not set; set it (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) "
            "to run the PostgreSQL tests"
        )
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema of this test's own."""
    base = _postgres_base_url()
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {base} is unreachable: {exc}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None (the embedded SQLite default) or a PostgreSQL URL: tests using it run on both."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_url"))


def passphrase_callback(_what: str) -> str:
    return PASSPHRASE


@pytest.fixture
def workspace(tmp_path: Path, database_url: str | None) -> Iterator[Workspace]:
    """A new workspace with one investigator key ("ana", the default actor)."""
    ws = Workspace.init(tmp_path / "ws", database_url=database_url, passphrase_callback=passphrase_callback)
    create_key(ws, "ana", "investigator")
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def case_workspace(workspace: Workspace) -> Workspace:
    """The workspace with case OP-TEST open and the scraper and decoy tools registered."""
    open_case(workspace, "OP-TEST", title="Test case", jurisdictions=["UK"], authority="AUTH/TEST/1")
    register_tool(workspace, TOOLCARDS / "scraper.yaml")
    register_tool(workspace, TOOLCARDS / "decoy-chatbot.yaml")
    return workspace


def custody_command() -> list[str]:
    script = Path(sys.executable).parent / "custody"
    return [str(script)] if script.exists() else [sys.executable, "-m", "custody_cli"]


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@dataclass
class Cli:
    """Runs the real ``custody`` command in ``cwd`` with a clean custody environment."""

    cwd: Path
    env: dict[str, str]

    def __call__(
        self, *args: str | Path, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> CliResult:
        completed = subprocess.run(
            [*custody_command(), *map(str, args)],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    def ok(self, *args: str | Path, **kwargs: object) -> CliResult:
        result = self(*args, **kwargs)  # type: ignore[arg-type]
        assert result.code == 0, str(result)
        assert "Traceback" not in result.err, str(result)
        return result


def assert_error(result: CliResult, code: int, *fragments: str) -> None:
    """A refused command: exit ``code``, ``Error: ...`` on stderr naming ``fragments``, nothing on
    stdout, no traceback."""
    text = str(result)
    assert result.code == code, text
    assert result.err.startswith("Error: "), text
    assert "Traceback" not in result.err, text
    assert result.out == "", text
    for fragment in fragments:
        assert fragment in result.err, text


def make_cli(tmp_path: Path, database_url: str | None) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env["CUSTODY_PASSPHRASE"] = PASSPHRASE
    if database_url:
        env["CUSTODY_DATABASE_URL"] = database_url
    return Cli(work, env)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A CLI runner in an empty folder ``tmp_path/work`` (embedded SQLite default)."""
    return make_cli(tmp_path, None)


@pytest.fixture
def cli_any_db(tmp_path: Path, database_url: str | None) -> Cli:
    """Like ``cli``, run once on SQLite and once with CUSTODY_DATABASE_URL on PostgreSQL."""
    return make_cli(tmp_path, database_url)


# --- signed WACZ packages ----------------------------------------------------------------------------

WACZ_SIGNED_AT = "2026-06-03T21:20:00Z"
WACZ_SIGNER_SOFTWARE = "ArchiveWeb.page 0.12.8"


def spki_der(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """A public key as DER SubjectPublicKeyInfo (what a WACZ signature's publicKey encodes)."""
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def anonymous_signed_data(
    package_hash: str, key: ec.EllipticCurvePrivateKey, *, tamper: bool = False
) -> dict[str, str]:
    """``signedData`` of a WACZ signed anonymously over ``package_hash`` (``sha256:<hex>``), as
    ArchiveWeb.page signs in the browser: ECDSA P-256 over the hash text, the raw ``r || s``
    (WebCrypto's form) and the key in base64; with ``tamper``, the signature's last byte changed."""
    r, s = decode_dss_signature(key.sign(package_hash.encode(), ec.ECDSA(hashes.SHA256())))
    raw = bytearray(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    raw[-1] ^= 1 if tamper else 0
    return {
        "hash": package_hash,
        "created": WACZ_SIGNED_AT,
        "software": WACZ_SIGNER_SOFTWARE,
        "publicKey": base64.b64encode(spki_der(key.public_key())).decode(),
        "signature": base64.b64encode(bytes(raw)).decode(),
    }
