"""custody init."""

from __future__ import annotations

from pathlib import Path

import click

from custody.db import redact_url
from custody.workspace import Workspace
from custody_cli.context import CliState, pass_state, prompt_new_passphrase


@click.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--database-url",
    metavar="URL",
    help="Keep the ledger in this database instead of .custody/custody.db "
    "(e.g. postgresql+psycopg://user@host/db for a team). CUSTODY_DATABASE_URL also works.",
)
@click.option(
    "--blob-store",
    type=click.Choice(["files", "database"]),
    default="files",
    show_default=True,
    help="Where evidence bytes live: .custody/blobs, or inside the ledger database (a team on "
    "PostgreSQL then needs no shared file system). Fixed when the database is created.",
)
@pass_state
def init(state: CliState, directory: Path | None, database_url: str | None, blob_store: str) -> None:
    """Create a workspace in DIRECTORY (default: the current folder).

    A workspace is a .custody/ folder with its config, encrypted key files, a write-once
    content-addressed blob store and (by default) a SQLite database.
    """
    with Workspace.init(
        directory or Path.cwd(),
        database_url=database_url,
        passphrase_callback=prompt_new_passphrase,
        blob_store=blob_store,
    ) as ws:
        click.echo(f"Initialised custody workspace in {ws.custody_dir}")
        click.echo(f"  database: {redact_url(ws.database_url)}")
        click.echo(f"  blobs:    {ws.store.root}")
        click.echo("Next: custody key new NAME --role investigator")


COMMANDS = [init]
