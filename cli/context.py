"""Shared CLI state: global options, opening the workspace, passphrase prompts, output helpers."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from custody.keys import PassphraseCallback
from custody.ledger_verify import Report

if TYPE_CHECKING:
    from custody.workspace import Workspace


def prompt_passphrase(what: str) -> str:
    return str(click.prompt(f"Passphrase for {what}", hide_input=True, err=True))


def prompt_new_passphrase(what: str) -> str:
    from custody.workspace import PASSPHRASE_ENV  # noqa: PLC0415 - see open_workspace

    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    return str(
        click.prompt(
            f"Passphrase for {what} (it encrypts the private key; there is no recovery)",
            hide_input=True,
            confirmation_prompt=True,
            err=True,
        )
    )


@dataclass
class CliState:
    workspace: Path | None
    actor: str | None
    debug: bool

    def open_workspace(self) -> Workspace:
        # Imported here: the workspace brings the database layer (~0.3 s of imports), which
        # commands that need no workspace (custody verify, offline) must not pay for.
        from custody.workspace import Workspace  # noqa: PLC0415

        return Workspace.open(self.workspace, passphrase_callback=self.passphrase_callback)

    @property
    def passphrase_callback(self) -> PassphraseCallback:
        from custody.workspace import env_passphrase_callback  # noqa: PLC0415

        return env_passphrase_callback(fallback=prompt_passphrase)


pass_state = click.make_pass_decorator(CliState)


def echo_report(report: Report, *, verdict: str | None = None) -> None:
    """A numbered checklist: each check OK or FAIL with what failed, then the result."""
    click.echo(f"Verification of {report.subject}:")
    for check in report.checks:
        status = "OK" if check.ok else "FAIL"
        click.echo(f"  {check.number}. [{status}] {check.title}")
        for failure in check.failures:
            click.echo(f"       - {failure}")
    click.echo("Result: " + (verdict or ("VALID" if report.ok else "INVALID")))


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


PROGRESS_THRESHOLD = 64 * 1024 * 1024
"""Commands show a progress bar (on standard error) for work on more bytes than this."""


def progress_bar(label: str, total: int) -> Any:
    """A click progress bar over ``total`` bytes on standard error, hidden for small totals."""
    return click.progressbar(length=total, label=label, file=sys.stderr, hidden=total < PROGRESS_THRESHOLD)


def short(digest: str, length: int = 16) -> str:
    return f"{digest[:length]}..."
