"""custody transfer / accept / export-artifact."""

from __future__ import annotations

from pathlib import Path

import click

from custody.transfers import accept_custody, export_artifact, release_custody
from custody_cli.context import CliState, pass_state


@click.command("transfer")
@click.option("--case", "case_id", required=True, metavar="ID")
@click.option("--to", "to", required=True, metavar="NAME", help="The key (person) who is to receive custody.")
@click.option("--reason", help="Why custody changes hands (signed into the release).")
@pass_state
def transfer(state: CliState, case_id: str, to: str, reason: str | None) -> None:
    """Release custody of a case to NAME (step 1 of 2).

    Only the current custodian can release. Custody passes when NAME runs
    'custody --as NAME accept --case ID'; until then the releaser stays the custodian and
    verification flags the release as not yet accepted.
    """
    with state.open_workspace() as ws:
        row = release_custody(ws, case_id, to, reason=reason, actor_name=state.actor)
    click.echo(f"Released custody of {case_id} to {to} (entry {row.sequence}); waiting for {to} to accept")


@click.command("accept")
@click.option("--case", "case_id", required=True, metavar="ID")
@pass_state
def accept(state: CliState, case_id: str) -> None:
    """Accept a custody release addressed to you (step 2 of 2); you become the custodian."""
    with state.open_workspace() as ws:
        row = accept_custody(ws, case_id, actor_name=state.actor)
    click.echo(f"Accepted custody of {case_id} (entry {row.sequence})")


@click.command("export-artifact")
@click.argument("digest")
@click.option("--case", "case_id", required=True, metavar="ID")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write."
)
@click.option("--purpose", help="Why the bytes are taken out (signed into the access event).")
@pass_state
def export_artifact_command(
    state: CliState, digest: str, case_id: str, output: Path, purpose: str | None
) -> None:
    """Write a verified copy of an artifact's bytes to a file.

    The stored bytes are re-hashed first; the access is signed into the ledger
    (artifact.accessed) before the copy is written. Existing files are never overwritten.
    """
    with state.open_workspace() as ws:
        access = export_artifact(ws, case_id, digest, output, purpose=purpose, actor_name=state.actor)
    click.echo(f"Wrote sha256:{access.digest} to {output} (access recorded as entry {access.sequence})")
    if not access.by_custodian:
        click.echo(
            "Warning: you are not this case's custodian; the access is recorded and will be flagged", err=True
        )


COMMANDS = [transfer, accept, export_artifact_command]
