"""custody demo."""

from __future__ import annotations

from pathlib import Path

import click

from custody.demo import run_demo


@click.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the demo workspace (default: a new temporary folder).",
)
def demo(out: Path | None) -> None:
    """Run a small sample case end to end and print what it did.

    Creates a workspace with two keys, opens case OP-LANTERN, registers a scraper and a decoy
    chatbot from their tool cards, records a captured ad, a decoy conversation (in a run with
    an approving operator) and a translation derived from the ad, then shows the log and
    then signs a checkpoint, transfers custody from ana to cole (release and accept), has cole
    countersign the checkpoint, shows and verifies the log, exports a disclosure bundle and
    verifies it offline. The demo keys use a published passphrase: never use them for real
    evidence.
    """
    result = run_demo(out, click.echo)
    if not result.log_valid:
        raise click.ClickException("the demo case's log or bundle did not verify")


COMMANDS = [demo]
