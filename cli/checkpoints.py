"""custody checkpoint / cosign / prove."""

from __future__ import annotations

import base64

import click

from custody.case_checkpoints import (
    cosign_checkpoint,
    describe_checkpoint,
    list_checkpoints,
    prove_inclusion,
    sign_case_checkpoint,
)
from custody_cli.context import CliState, echo_json, pass_state


@click.command("checkpoint")
@click.argument("case_id", metavar="ID")
@click.option("--list", "list_all", is_flag=True, help="List the case's checkpoints instead of signing one.")
@pass_state
def checkpoint(state: CliState, case_id: str, list_all: bool) -> None:
    """Sign a checkpoint of a case's Merkle log with the workspace log key, and print it.

    The checkpoint is a C2SP tlog-checkpoint (origin, tree size, root hash) in a C2SP signed
    note. Anyone holding it can later check that the log still has these entries, unchanged,
    and only grew. Bundles and sealing sign one automatically.
    """
    with state.open_workspace() as ws:
        if list_all:
            for row in list_checkpoints(ws, case_id):
                parsed, signers = describe_checkpoint(row)
                click.echo(
                    f"size {parsed.size:>6}  root {row.root_hash[:16]}...  {row.reason:<7} {row.created_at}  "
                    f"signed by {', '.join(signers)}"
                )
            return
        row = sign_case_checkpoint(ws, case_id)
    click.echo(row.note.decode("utf-8"), nl=False)


@click.command("cosign")
@click.argument("case_id", metavar="ID")
@click.option(
    "--size", type=click.IntRange(min=0), help="The checkpoint at this tree size (default: the latest)."
)
@pass_state
def cosign(state: CliState, case_id: str, size: int | None) -> None:
    """Countersign a case's checkpoint with your key (e.g. a prosecutor's office).

    Adds one signature line (named after your key) to the signed note; the checkpoint text and
    the earlier signatures stay byte-identical.
    """
    with state.open_workspace() as ws:
        row, name = cosign_checkpoint(ws, case_id, size=size, actor_name=state.actor)
    click.echo(f"# cosigned by {name}", err=True)
    click.echo(row.note.decode("utf-8"), nl=False)


@click.command("prove")
@click.argument("case_id", metavar="ID")
@click.argument("entry", type=click.IntRange(min=0))
@click.option(
    "--size", type=click.IntRange(min=1), help="Tree size (default: latest checkpoint, else the log)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def prove(state: CliState, case_id: str, entry: int, size: int | None, as_json: bool) -> None:
    """Print an RFC 9162 inclusion proof that ENTRY is in the case's Merkle tree."""
    with state.open_workspace() as ws:
        proof = prove_inclusion(ws, case_id, entry, size)
    document = {
        "case": proof.case_id,
        "entry": proof.sequence,
        "tree_size": proof.size,
        "leaf_hash": proof.leaf_hash.hex(),
        "root_hash": proof.root.hex(),
        "root_hash_base64": base64.b64encode(proof.root).decode(),
        "inclusion_path": [node.hex() for node in proof.path],
    }
    if as_json:
        echo_json(document)
        return
    for key, value in document.items():
        if isinstance(value, list):
            click.echo(f"{key}:")
            for item in value:
                click.echo(f"  {item}")
        else:
            click.echo(f"{key}: {value}")


COMMANDS = [checkpoint, cosign, prove]
