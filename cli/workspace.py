"""custody init."""

from __future__ import annotations

from pathlib import Path

import click
from custody_cli.context import CliState, pass_state, prompt_new_passphrase

from custody.db import redact_url
from custody.workspace import Workspace


@click.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--database-url",
    metavar="URL",
    help="Keep the ledger in this database instead of .custody/custody.db "
    "(e.g. postgresql+psycopg://user@host/db for a team). CUSTODY_DATABASE_URL also works.",
)
@pass_state
def init(state: CliState, directory: Path | None, database_url: str | None) -> None:
    """Create a workspace in DIRECTORY (default: the current folder).

    A workspace is a .custody/ folder with its config, encrypted key files, a write-once
    content-addressed blob store and (by default) a SQLite database.
    """
    with Workspace.init(
        directory or Path.cwd(), database_url=database_url, passphrase_callback=prompt_new_passphrase
    ) as ws:
        click.echo(f"Initialised custody workspace in {ws.custody_dir}")
        click.echo(f"  database: {redact_url(ws.database_url)}")
        click.echo("Next: custody key new NAME --role investigator")


COMMANDS = [init]
