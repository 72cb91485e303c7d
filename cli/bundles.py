"""custody bundle."""

from __future__ import annotations

from pathlib import Path

import click

from custody.bundle import Withholding, export_bundle
from custody.exhibits import WITHHELD_BYTES
from custody_cli.context import CliState, pass_state


@click.command("bundle")
@click.argument("case_id", metavar="ID")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--recipient", metavar="TEXT", help="Who receives it (signed into the bundle.exported event).")
@click.option(
    "--withhold",
    "withhold",
    multiple=True,
    metavar="DIGEST",
    help="Leave this artifact out (repeatable; each with its --reason, in order).",
)
@click.option(
    "--reason", "reasons", multiple=True, metavar="TEXT", help="Why the matching --withhold is withheld."
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse (exit 1) while any admissibility question of the case is unanswered.",
)
@pass_state
def bundle_command(
    state: CliState,
    case_id: str,
    output: Path,
    recipient: str | None,
    withhold: tuple[str, ...],
    reasons: tuple[str, ...],
    strict: bool,
) -> None:
    """Export a case as a disclosure bundle (a zipped BagIt bag) for offline verification.

    \b
    The bag holds every recorded artifact (named by digest, with exhibit numbers in
    data/exhibits.json), every ledger entry exactly as signed, the checkpoint over them signed
    by the log key, and the public keys with their roles. The tag manifest is signed by the
    acting key. VERIFY.md inside explains how to check it all with sha256sum and openssl;
    `custody verify` does every check at once. The export is then recorded in the ledger
    (bundle.exported: tag-manifest digest, recipient, what was withheld).

    \b
    Selective disclosure: --withhold DIGEST --reason TEXT (repeatable) leaves an artifact's
    bytes out and replaces the entries recording it by their leaf hash and the reason, so the
    signed Merkle root still verifies; data/withheld.json schedules what was withheld and why.
    A transcript whose redacted copy (custody redact) is disclosed is withheld bytes only: the
    copy stands in for it, and its records stay disclosed so the copy can be checked against
    the original's signed commitment root.

    \b
    Admissibility: data/questionnaire.json holds the case's questionnaires (see
    'custody questions ID'), evaluated over what the bundle discloses. Export proceeds
    with open questions; --strict refuses (exit 1, naming them) until every question
    of the case's sets is answered.

    \b
    Example:
      custody bundle OP-LANTERN -o disclosure.zip --recipient "Defence (R v Doe)" \\
          --withhold 3f2a9c01 --reason "victim's image"
    """
    if output.exists():
        raise click.UsageError(f"{output} exists; a bundle is never overwritten")
    if len(withhold) != len(reasons):
        raise click.UsageError("give one --reason for each --withhold, in the same order")
    withholdings = [Withholding(digest, reason) for digest, reason in zip(withhold, reasons, strict=True)]
    with state.open_workspace() as ws:
        result = export_bundle(
            ws,
            case_id,
            output,
            recipient=recipient,
            withhold=withholdings,
            actor_name=state.actor,
            strict=strict,
        )
    withheld = f" ({len(withholdings)} withheld)" if withholdings else ""
    click.echo(
        f"Wrote {output}: {result.artifacts} artifact(s){withheld}, {result.entries} ledger entries "
        f"(root {result.root[:16]}...), tag manifest sha256:{result.tagmanifest_sha256[:16]}..."
    )
    for item in result.withheld:
        if item.scope == WITHHELD_BYTES:
            click.echo(
                f"Exhibit {item.sha256[:16]}... withheld bytes only: its disclosed redacted copy stands "
                "in for it, so its records stay disclosed (withhold the copy too to hide them)."
            )
    click.echo(f"Recorded as entry {result.sequence} (bundle.exported). Check it: custody verify {output}")


COMMANDS = [bundle_command]
