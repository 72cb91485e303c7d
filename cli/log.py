"""custody log."""

from __future__ import annotations

import click

from custody.caselog import log_lines, verify_case_log
from custody.cases import get_case
from custody_cli.context import CliState, echo_json, echo_report, pass_state


@click.command("log")
@click.argument("case_id", metavar="ID")
@click.option("--verify", is_flag=True, help="Recompute every check from the raw entries and blobs.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def log(state: CliState, case_id: str, verify: bool, as_json: bool) -> None:
    """List a case's custody events, oldest first; with --verify, check them.

    --verify prints a numbered checklist (OK/FAIL, naming the entry and expected vs observed)
    and exits 1 if any check fails.
    """
    with state.open_workspace() as ws:
        if verify:
            report = verify_case_log(ws, case_id)
        else:
            lines = log_lines(ws, case_id)
            summary = get_case(ws, case_id)
    if verify:
        if as_json:
            echo_json(report.to_dict())
        else:
            echo_report(report)
        if not report.ok:
            raise SystemExit(1)
        return
    if as_json:
        echo_json([line.__dict__ for line in lines])
        return
    for line in lines:
        who = line.actor_name or f"{line.actor_key_id[:12]}..."
        click.echo(f"{line.sequence:>5}  {line.time}  {line.event_type:<18} {who:<12} {line.summary}")
    status = f"Custodian: {summary.custodian}"
    if summary.case.pending_release is not None:
        status += f" (released at entry {summary.case.pending_release}, not yet accepted)"
    if summary.case.sealed_at:
        status += f"; sealed {summary.case.sealed_at}"
    click.echo(status)


COMMANDS = [log]
