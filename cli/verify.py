"""custody verify: offline, needing no workspace (so this module imports nothing of the database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from custody.bundle_verify import verify_bundle
from custody_cli.context import echo_json, echo_report, progress_bar


class _LazyBar:
    """A click progress bar made when the total is first known (hidden for small totals)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __call__(self, count: int, total: int) -> None:
        if self.bar is None:
            self.bar = progress_bar(self.label, total)
            self.bar.__enter__()
        self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


trust_option = click.option(
    "--trust",
    multiple=True,
    metavar="FINGERPRINT",
    help="A key id or fingerprint you trust (the exporter's or the log key); repeatable.",
)
"""--trust, shared by custody verify and custody dossier (both verify a bundle)."""


@click.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@trust_option
@click.option(
    "--previous",
    type=click.Path(path_type=Path),
    metavar="OLD.zip",
    help="An earlier disclosure of the case: prove its log is a prefix of this one.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify_command(bundle: Path, trust: tuple[str, ...], previous: Path | None, as_json: bool) -> None:
    """Verify a disclosure bundle offline (no workspace, no database, nothing written).

    \b
    Checks, numbered: every file listed and intact with nothing extra (BagIt manifests), the
    ledger (every entry's signature by a key the ledger introduced, sequence, times, roles,
    revocations, seal), the tag-manifest signature by the exporting key, the keys, the
    checkpoint's signature by the log key and its Merkle root, custody continuity, every
    artifact against its signed record and exhibit number (withheld ones against the schedule
    of withheld material), and every redacted transcript against its original's signed
    commitment root. verify_bundle.py inside the bag runs the same checks without custody.
    Without --trust the verdict says "valid, not anchored to a trusted key". --previous adds a
    check that an earlier disclosure's log is a prefix of this one, naming any entry rewritten
    since. Exit 0 valid, 1 a check failed, 3 unreadable.
    """
    bar = _LazyBar("Hashing")
    try:
        verdict = verify_bundle(bundle, trust=trust, previous=previous, progress=bar)
    finally:
        bar.close()
    if as_json:
        echo_json(verdict.to_dict())
    else:
        if verdict.anchored_by:
            click.echo("Trusted key(s) matched: " + ", ".join(k[:16] + "..." for k in verdict.anchored_by))
        echo_report(verdict.report, verdict=verdict.summary)
    if not verdict.ok:
        raise SystemExit(1)


COMMANDS = [verify_command]
