"""custody tool add / list / show."""

from __future__ import annotations

from pathlib import Path

import click

from custody.tools import card_of, get_tool, list_tools, register_tool
from custody_cli.context import CliState, echo_json, pass_state, short


@click.group("tool")
def tool() -> None:
    """Tools (scrapers, decoy chatbots, OCR, ...) and, for AI tools, their models."""


@tool.command("add")
@click.argument("card", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--case", "case_id", metavar="ID", help="Also register the tool in this case's ledger now.")
@pass_state
def tool_add(state: CliState, card: Path, case_id: str | None) -> None:
    """Register a tool from its tool card (YAML or JSON).

    \b
    A card names the tool (name, version, kind), its build hash, configuration, vendor,
    validation references, known issues and SOP; for AI tools a model section (provider,
    model_id, snapshot, weights_digest, parameters, system_prompt and persona_script files,
    replayable). Examples ship in templates/toolcards/. The card's bytes and the files it
    names are stored as evidence; a tool is signed into a case's ledger (tool.registered)
    before its first record there.
    """
    with state.open_workspace() as ws:
        result = register_tool(ws, card, case_id=case_id, actor_name=state.actor)
    row = result.tool
    verb = "Registered" if result.created else "Already registered (same card)"
    click.echo(f"{verb}: tool {row.name} {row.version} ({row.kind})")
    click.echo(f"  card:   sha256:{row.card_digest}")
    click.echo(f"  config: sha256:{row.config_digest}")
    if result.case_sequence is not None:
        click.echo(f"  in case {case_id}: tool.registered at ledger entry {result.case_sequence}")


@tool.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def tool_list(state: CliState, as_json: bool) -> None:
    """List registered tools."""
    with state.open_workspace() as ws:
        rows = list_tools(ws)
    if as_json:
        echo_json([card_of(r) | {"card_digest": r.card_digest} for r in rows])
        return
    if not rows:
        click.echo("No tools yet. Register one with: custody tool add CARD.yaml")
    for row in rows:
        click.echo(f"{row.name:<20} {row.version:<10} {row.kind:<15} card {short(row.card_digest)}")


@tool.command("show")
@click.argument("spec", metavar="NAME[@VERSION]")
@pass_state
def tool_show(state: CliState, spec: str) -> None:
    """Show a registered tool's normalised card (what gets signed) as JSON."""
    with state.open_workspace() as ws:
        row = get_tool(ws, spec)
    echo_json(card_of(row) | {"card": {"name": row.card_name, "digest": {"sha256": row.card_digest}}})


COMMANDS = [tool]
