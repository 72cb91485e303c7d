"""custody case open / list / show."""

from __future__ import annotations

import click

from custody.cases import KNOWN_JURISDICTIONS, CaseSummary, get_case, list_cases, open_case
from custody.models import OperatorType
from custody.transfers import seal_case
from custody_cli.context import CliState, echo_json, pass_state


@click.group("case")
def case() -> None:
    """Cases: each has its own append-only, signed custody ledger."""


@case.command("open")
@click.argument("case_id", metavar="ID")
@click.option("--title", required=True, help="What the case is, in a line.")
@click.option(
    "--jurisdiction",
    "jurisdictions",
    multiple=True,
    required=True,
    metavar="CODE",
    help="Repeatable. Selects the admissibility question sets: "
    + ", ".join(f"{k} ({v})" for k, v in KNOWN_JURISDICTIONS.items())
    + ".",
)
@click.option("--authority", required=True, help="Authorisation reference the operation runs under.")
@click.option("--legal-basis", help="Legal basis (statute, warrant, order).")
@click.option(
    "--operator-type",
    type=click.Choice([o.value for o in OperatorType]),
    default=OperatorType.STATE.value,
    show_default=True,
    help="Who runs the operation: the state, someone tasked by the state, or a private party.",
)
@pass_state
def case_open(
    state: CliState,
    case_id: str,
    title: str,
    jurisdictions: tuple[str, ...],
    authority: str,
    legal_basis: str | None,
    operator_type: str,
) -> None:
    """Open case ID (a short slug such as OP-LANTERN).

    The case's ledger starts with a case.opened entry signed by the acting key.
    """
    with state.open_workspace() as ws:
        row = open_case(
            ws,
            case_id,
            title=title,
            jurisdictions=jurisdictions,
            authority=authority,
            legal_basis=legal_basis,
            operator_type=operator_type,
            actor_name=state.actor,
        )
    click.echo(f"Opened case {row.id}: {row.title} (ledger entry 0, case.opened)")


def _as_dict(summary: CaseSummary) -> dict[str, object]:
    c = summary.case
    return {
        "id": c.id,
        "title": c.title,
        "jurisdictions": summary.jurisdictions,
        "authority": c.authority,
        "legal_basis": c.legal_basis,
        "operator_type": c.operator_type,
        "opened_at": c.opened_at,
        "sealed_at": c.sealed_at,
        "custodian": summary.custodian,
        "pending_release": c.pending_release,
        "ledger_entries": c.log_size,
        "artifacts": summary.artifacts,
        "tools": summary.tools,
        "runs": summary.runs,
    }


@case.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def case_list(state: CliState, as_json: bool) -> None:
    """List the cases in the workspace."""
    with state.open_workspace() as ws:
        rows = [_as_dict(s) for s in list_cases(ws)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(
            "No cases yet. Open one with: custody case open ID --title ... --jurisdiction ... --authority ..."
        )
    for row in rows:
        sealed = "  [sealed]" if row["sealed_at"] else ""
        click.echo(f"{row['id']:<16} {row['artifacts']!s:>5} artifacts  {row['title']}{sealed}")


@case.command("show")
@click.argument("case_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def case_show(state: CliState, case_id: str, as_json: bool) -> None:
    """Show a case's details and counts."""
    with state.open_workspace() as ws:
        row = _as_dict(get_case(ws, case_id))
    if as_json:
        echo_json(row)
        return
    for key, value in row.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        click.echo(f"{key.replace('_', ' ') + ':':<16} {shown if shown is not None else '-'}")


@case.command("seal")
@click.argument("case_id", metavar="ID")
@pass_state
def case_seal(state: CliState, case_id: str) -> None:
    """Seal a case (custodian only): a final case.sealed entry and a signed checkpoint over it.

    A sealed case takes no new entries.
    """
    with state.open_workspace() as ws:
        row, checkpoint = seal_case(ws, case_id, actor_name=state.actor)
    click.echo(
        f"Sealed {case_id} at entry {row.sequence}; "
        f"checkpoint size {checkpoint.size}, root {checkpoint.root_hash}"
    )


COMMANDS = [case]
