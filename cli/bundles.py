"""custody bundle, custody verify."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from custody.bundle import Withholding, export_bundle
from custody.bundle_verify import verify_bundle
from custody_cli.context import CliState, echo_json, echo_report, pass_state

PROGRESS_THRESHOLD = 64 * 1024 * 1024  # show a progress bar (on a terminal) above this many bytes


class _LazyBar:
    """A click progress bar made when the total is first known (hidden for small totals)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __call__(self, count: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(
                length=total, label=self.label, file=sys.stderr, hidden=total < PROGRESS_THRESHOLD
            )
            self.bar.__enter__()
        self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@click.command("bundle")
@click.argument("case_id", metavar="ID")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--recipient", metavar="TEXT", help="Who receives it (signed into the bundle.exported event).")
@click.option(
    "--withhold",
    "withhold",
    multiple=True,
    metavar="DIGEST",
    help="Leave this artifact out (repeatable; each with its --reason, in order).",
)
@click.option(
    "--reason", "reasons", multiple=True, metavar="TEXT", help="Why the matching --withhold is withheld."
)
@pass_state
def bundle_command(
    state: CliState,
    case_id: str,
    output: Path,
    recipient: str | None,
    withhold: tuple[str, ...],
    reasons: tuple[str, ...],
) -> None:
    """Export a case as a disclosure bundle (a zipped BagIt bag) for offline verification.

    \b
    The bag holds every recorded artifact (named by digest, with exhibit numbers in
    data/exhibits.json), every ledger entry exactly as signed, the checkpoint over them signed
    by the log key, and the public keys with their roles. The tag manifest is signed by the
    acting key. VERIFY.md inside explains how to check it all with sha256sum and openssl;
    `custody verify` does every check at once. The export is then recorded in the ledger
    (bundle.exported: tag-manifest digest, recipient, what was withheld).

    \b
    Selective disclosure: --withhold DIGEST --reason TEXT (repeatable) leaves an artifact's
    bytes out and replaces the entries recording it by their leaf hash and the reason, so the
    signed Merkle root still verifies; data/withheld.json schedules what was withheld and why.
    """
    if output.exists():
        raise click.UsageError(f"{output} exists; a bundle is never overwritten")
    if len(withhold) != len(reasons):
        raise click.UsageError("give one --reason for each --withhold, in the same order")
    withholdings = [Withholding(digest, reason) for digest, reason in zip(withhold, reasons, strict=True)]
    with state.open_workspace() as ws:
        result = export_bundle(
            ws, case_id, output, recipient=recipient, withhold=withholdings, actor_name=state.actor
        )
    withheld = f" ({len(withholdings)} withheld)" if withholdings else ""
    click.echo(
        f"Wrote {output}: {result.artifacts} artifact(s){withheld}, {result.entries} ledger entries "
        f"(root {result.root[:16]}...), tag manifest sha256:{result.tagmanifest_sha256[:16]}..."
    )
    click.echo(f"Recorded as entry {result.sequence} (bundle.exported). Check it: custody verify {output}")


@click.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option(
    "--trust",
    multiple=True,
    metavar="FINGERPRINT",
    help="A key id or fingerprint you trust (the exporter's or the log key); repeatable.",
)
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
    checkpoint's signature by the log key and its Merkle root, custody continuity, and every
    artifact against its signed record and exhibit number. Without --trust the verdict says
    "valid, not anchored to a trusted key". --previous adds a check that an earlier disclosure's
    log is a prefix of this one, naming any entry rewritten since. Exit 0 valid, 1 a check
    failed, 3 unreadable.
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


COMMANDS = [bundle_command, verify_command]
