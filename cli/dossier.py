"""custody dossier: offline, needing no workspace (so this module imports nothing of the database)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from custody.dossier import dossier_of_bundle
from custody.errors import StoreError
from custody_cli.verify import _LazyBar


@click.command("dossier")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--trust",
    multiple=True,
    metavar="FINGERPRINT",
    help="A key id or fingerprint you trust (the exporter's or the log key); repeatable.",
)
@click.option(
    "--jurisdiction",
    metavar="CODE",
    help="Show the questionnaire of this jurisdiction only (US, UK, EU; default: every one of the case).",
)
def dossier_command(bundle: Path, output: Path, trust: tuple[str, ...], jurisdiction: str | None) -> None:
    """Render the PDF dossier of a disclosure bundle, after verifying it.

    \b
    The bundle is verified first, exactly as `custody verify` does; a bundle that fails any
    check is refused (exit 1) and no file is written. The dossier is rendered from the bag
    alone (no workspace): cover with readiness, checkpoint root and bundle fingerprint (text and
    QR), how to verify, exhibit index, a provenance sheet per exhibit, the conversations,
    custody timeline, human involvement, questionnaire, conduct indicators (assisted
    analysis), schedule of withheld material, certificate of authenticity and the keys.
    Unlike the copy inside the bundle, it also prints the signed tag manifest's digest.
    Exit 0 written, 1 verification failed, 3 unreadable.
    """
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
    tmp = output.with_name(f".{output.name}.partial-{os.getpid()}")
    try:
        with tmp.open("xb") as out:
            out.write(rendered.pdf)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, output)
    except OSError as exc:
        raise StoreError(f"cannot write the dossier {output}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(
        f"Wrote {output}: {len(rendered.pdf):,} bytes ({rendered.pages_hint}); "
        f"bundle {rendered.verdict.summary}"
    )


COMMANDS = [dossier_command]
