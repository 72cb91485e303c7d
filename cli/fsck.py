"""custody fsck."""

from __future__ import annotations

import click

from custody.fsck import fsck
from custody_cli.context import CliState, echo_json, echo_report, pass_state


@click.command("fsck")
@click.option(
    "--clean", is_flag=True, help="Remove temporary files of interrupted writes (older than an hour)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def fsck_command(state: CliState, clean: bool, as_json: bool) -> None:
    """Check the whole workspace: every case's log, checkpoints and custody chain, and every
    stored blob against the database. Exits 1 if anything is inconsistent.

    Safe after a crash: a killed 'record' leaves at most unreferenced blobs or temporary
    files, which are reported as notes, not failures.
    """
    with state.open_workspace() as ws:
        result = fsck(ws, clean_temp=clean)
    if as_json:
        echo_json(
            {
                "valid": result.ok,
                "cases": [r.to_dict() for r in result.cases],
                "store": result.store.to_dict(),
                "notes": result.notes,
            }
        )
    else:
        for report in (*result.cases, result.store):
            echo_report(report)
        for note in result.notes:
            click.echo(f"Note: {note}")
        click.echo("Workspace: " + ("CONSISTENT" if result.ok else "INCONSISTENT"))
    if not result.ok:
        raise SystemExit(1)


COMMANDS = [fsck_command]
