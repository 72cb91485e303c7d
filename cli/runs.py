"""custody run start / end / list."""

from __future__ import annotations

import click

from custody.models import HIL
from custody.runs import end_run, list_runs, start_run
from custody_cli.context import CliState, echo_json, pass_state

HIL_CHOICE = click.Choice([level.value for level in HIL])


@click.group("run")
def run() -> None:
    """Runs: one execution of a tool, with operator, supervisor and configured HIL level."""


@run.command("start")
@click.option("--case", "case_id", required=True, metavar="ID")
@click.option("--tool", "tool_spec", required=True, metavar="NAME[@VERSION]")
@click.option("--hil", "hil", required=True, type=HIL_CHOICE, help="The HIL level the run is configured for.")
@click.option("--operator", metavar="NAME", help="Who operates the tool (default: the acting key's name).")
@click.option("--supervisor", metavar="NAME", help="Who supervises and can stop it.")
@click.option("--authorisation", metavar="REF", help="Authorisation reference for this run.")
@pass_state
def run_start(
    state: CliState,
    case_id: str,
    tool_spec: str,
    hil: str,
    operator: str | None,
    supervisor: str | None,
    authorisation: str | None,
) -> None:
    """Start a run; prints its id for 'custody record --run'."""
    with state.open_workspace() as ws:
        row = start_run(
            ws,
            case_id,
            tool_spec,
            hil_configured=hil,
            operator=operator,
            supervisor=supervisor,
            authorisation=authorisation,
            actor_name=state.actor,
        )
    click.echo(row.id)


@run.command("end")
@click.argument("run_id", metavar="RUN")
@click.option("--case", "case_id", required=True, metavar="ID")
@pass_state
def run_end(state: CliState, run_id: str, case_id: str) -> None:
    """End a run (it takes no new records afterwards)."""
    with state.open_workspace() as ws:
        row = end_run(ws, case_id, run_id, actor_name=state.actor)
    click.echo(f"Ended {row.id} at {row.ended_at}")


@run.command("list")
@click.argument("case_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def run_list(state: CliState, case_id: str, as_json: bool) -> None:
    """List a case's runs."""
    with state.open_workspace() as ws:
        views = list_runs(ws, case_id)
    rows = [
        {
            "id": v.run.id,
            "tool": f"{v.tool.name} {v.tool.version}",
            "operator": v.run.operator,
            "supervisor": v.run.supervisor,
            "hil_configured": v.run.hil_configured,
            "started_at": v.run.started_at,
            "ended_at": v.run.ended_at,
        }
        for v in views
    ]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        status = f"ended {row['ended_at']}" if row["ended_at"] else "open"
        click.echo(f"{row['id']}  {row['tool']:<24} {row['hil_configured']:<17} {row['operator']}  {status}")


COMMANDS = [run]
