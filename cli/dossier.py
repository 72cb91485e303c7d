"""custody dossier: offline, needing no workspace (so this module imports nothing of the database),
except to sign the PDF (--sign), which takes the acting actor's certificate from the workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from custody.dossier import dossier_of_bundle
from custody.outputs import write_atomically
from custody_cli.context import CliState, pass_state
from custody_cli.verify import _LazyBar, trust_option


@click.command("dossier")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@trust_option
@click.option(
    "--jurisdiction",
    metavar="CODE",
    help="Show the questionnaire of this jurisdiction only (US, UK, EU; default: every one of the case).",
)
@click.option(
    "--sign",
    is_flag=True,
    help="Sign the PDF (PAdES) with the acting actor's document-signing certificate (custody key cert); "
    "needs the workspace.",
)
@pass_state
def dossier_command(
    state: CliState, bundle: Path, output: Path, trust: tuple[str, ...], jurisdiction: str | None, sign: bool
) -> None:
    """Render the PDF dossier of a disclosure bundle, after verifying it.

    \b
    The bundle is verified first, exactly as `custody verify` does; a bundle that fails any
    check is refused (exit 1) and no file is written. The dossier is rendered from the bag
    alone (no workspace): cover with readiness, checkpoint root and bundle fingerprint (text and
    QR), how to verify, exhibit index, a provenance sheet per exhibit, the conversations,
    custody timeline, human involvement, questionnaire, conduct indicators (assisted
    analysis), schedule of withheld material, certificate of authenticity and the keys.
    Unlike the copy inside the bundle, it also prints the signed tag manifest's digest.

    \b
    --sign adds a PAdES signature by the acting actor (custody --as NAME), whose document-
    signing certificate a PDF reader shows; check it with custody pdf verify. The copy inside
    a bundle is signed already when its exporter holds a certificate.
    Exit 0 written, 1 verification failed (or signing refused), 3 unreadable.

    \b
    Example:
      custody dossier OP-LANTERN-disclosure.zip -o OP-LANTERN-dossier.pdf
      custody --as cole dossier OP-LANTERN-disclosure.zip -o signed.pdf --sign
      custody pdf verify signed.pdf --ca workspace-ca.pem
    """
    signer = _pdf_signer(state) if sign else None  # unlocked first: a wrong passphrase writes nothing
    bar = _LazyBar("Verifying")
    try:  # a bundle that fails verification raises IntegrityError: "Error: ..." and exit 1
        rendered = dossier_of_bundle(
            bundle,
            trust=trust,
            jurisdiction=jurisdiction,
            progress=bar,
            say=lambda text: click.echo(f"  {text}", err=True),
        )
    finally:
        bar.close()
    pdf = signer(rendered.pdf) if signer is not None else rendered.pdf
    write_atomically(output, lambda out: out.write(pdf), what="the dossier")
    signed = " signed," if signer is not None else ""
    click.echo(
        f"Wrote {output}: {len(pdf):,} bytes,{signed} ({rendered.pages_hint}); "
        f"bundle {rendered.verdict.summary}"
    )


def _pdf_signer(state: CliState) -> Callable[[bytes], bytes]:
    """The acting actor's PAdES signature, their signing key unlocked now."""
    from custody.pdfsign import load_signing_credential, sign_pdf  # noqa: PLC0415 - only with --sign

    with state.open_workspace() as ws:
        name = ws.acting_actor_name(state.actor)
        credential = load_signing_credential(ws, name)
        clock = ws.clock
    reason = f"{name} certifies this dossier"
    return lambda pdf: sign_pdf(pdf, credential, reason=reason, signing_time=clock())


COMMANDS = [dossier_command]
