"""Root of the ``custody`` command: global options and the translation of errors into
``Error: ...`` plus the exit codes of DESIGN.md (no traceback unless --debug)."""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from custody import __version__
from custody.errors import CustodyError
from custody_cli.context import CliState

# Command name -> the custody_cli module defining it. Modules are imported only when their command
# runs (or for --help): start-up time is part of every command's cost, and recording a large
# file has a budget measured against the raw copy.
COMMAND_MODULES = {
    "init": "workspace",
    "key": "keys",
    "case": "cases",
    "tool": "tools",
    "run": "runs",
    "record": "record",
    "show": "record",
    "import": "imports",
    "redact": "imports",
    "verify-redaction": "imports",
    "lineage": "imports",
    "log": "log",
    "transfer": "transfers",
    "accept": "transfers",
    "export-artifact": "transfers",
    "checkpoint": "checkpoints",
    "cosign": "checkpoints",
    "prove": "checkpoints",
    "fsck": "fsck",
    "demo": "demo",
    "bundle": "bundles",
    "questions": "questions",
    "answer": "questions",
    "verify": "verify",
    "ca": "pki",
    "pdf": "pdf",
    "dossier": "dossier",
}


class CustodyGroup(click.Group):
    """A click group that loads its commands lazily and turns custody errors into ``Error: ...``
    and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"custody_cli.{module_name}")
        commands: dict[str, click.Command] = {command.name or "": command for command in module.COMMANDS}
        return commands[cmd_name]

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CustodyError as exc:
            _report(ctx, exc, exc.diagnostics())
            ctx.exit(exc.exit_code)
        except OSError as exc:
            _report(ctx, exc, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
            ctx.exit(3)
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            _report(ctx, exc, f"database error: {getattr(exc, 'orig', None) or exc}")
            ctx.exit(1)


def _is_database_error(exc: BaseException) -> bool:
    """A SQLAlchemy error, without importing SQLAlchemy: commands that never touch the database
    (custody verify) must not pay for its import, and cannot have raised one."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.SQLAlchemyError)


def _report(ctx: click.Context, exc: BaseException, message: str) -> None:
    state = ctx.find_object(CliState)
    if state is not None and state.debug:
        traceback.print_exception(exc, file=sys.stderr)
    click.echo(f"Error: {message}", err=True)


@click.group(cls=CustodyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="custody")
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    help="Workspace folder (default: CUSTODY_WORKSPACE, else the nearest .custody/ above here).",
)
@click.option(
    "--as",
    "actor",
    metavar="NAME",
    help="Act (sign) as this key (default: CUSTODY_ACTOR, else the workspace default).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, actor: str | None, debug: bool) -> None:
    """custody: keep AI-generated and machine-captured evidence admissible.

    Record every artifact an investigative tool produces with signed provenance (tool, model,
    operator, human-involvement level, captured vs generated) in a tamper-evident case ledger.

    \b
    Quick start:
      custody init                       create a workspace here
      custody key new alice --role investigator
      custody case open OP-X --title "..." --jurisdiction UK --authority "AUTH/1"
      custody tool add templates/toolcards/scraper.yaml
      custody record page.html --case OP-X --tool adscraper --hil HIL0_MANUAL
      custody log OP-X --verify

    Passphrases are prompted for, or read from CUSTODY_PASSPHRASE for automation.
    Exit codes: 0 ok, 1 refused or verification failed, 2 usage, 3 unreadable input.
    """
    ctx.obj = CliState(workspace=workspace, actor=actor, debug=debug)


def main() -> None:
    cli(prog_name="custody")
