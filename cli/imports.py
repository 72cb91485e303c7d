"""custody import chat|warc|dir, custody redact / verify-redaction, custody lineage."""

from __future__ import annotations

from pathlib import Path

import click

from custody.importers.chat import import_chat
from custody.importers.folder import SIDECAR_NAME, import_folder
from custody.importers.web import import_warc
from custody.models import HIL
from custody.recording import RecordOptions
from custody.redaction import check_redaction, lineage, redact_transcript
from custody_cli.context import CliState, pass_state, progress_bar


@click.group("import")
def import_group() -> None:
    """Bulk importers: decoy-chatbot transcripts, web captures (WARC/WACZ), folders with a sidecar."""


@import_group.command("chat")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--case", "case_id", required=True, metavar="ID")
@click.option(
    "--tool", "tool_spec", metavar="NAME[@VERSION]", help="Default: the tool each transcript names."
)
@click.option("--run", "run_id", metavar="RUN", help="The run the conversations belong to.")
@pass_state
def import_chat_command(
    state: CliState, path: Path, case_id: str, tool_spec: str | None, run_id: str | None
) -> None:
    """Import decoy-chatbot transcripts: PATH is a .jsonl file or a folder of them.

    \b
    Format: docs/transcript-format.md (custody/transcript/v1). Each transcript is recorded
    unchanged, with a signed Merkle root over salted per-line commitments (for verifiable
    redaction) and the parser's findings (gaps, time running backwards, edits, deletions);
    an assisted conduct analysis (who first raised payment, sex or age; bot persistence;
    operator takeovers; HIL counts) is recorded as a signed derivative for a human to
    confirm. All or nothing; importing the same file again adds nothing.
    """
    with state.open_workspace() as ws:
        results = import_chat(ws, case_id, path, tool_spec=tool_spec, run_id=run_id, actor_name=state.actor)
    for result in results:
        if result.duplicate:
            click.echo(f"unchanged  {result.path}: already imported (entry {result.sequence})")
            continue
        analysis = result.analysis
        first = ", ".join(
            f"{topic} by {who}"
            for topic in ("payment", "sex", "age")
            if (who := analysis.first_raised_by(topic))
        )
        click.echo(
            f"imported   {result.path}: {result.messages} messages, {result.findings} finding(s), "
            f"entry {result.sequence}, sha256:{result.digest[:16]}..."
        )
        click.echo(f"           first raised (assisted, to confirm): {first or 'nothing'}")
    new = sum(not r.duplicate for r in results)
    click.echo(f"{new} transcript(s) imported, {len(results) - new} already present")


@import_group.command("warc")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--case", "case_id", required=True, metavar="ID")
@click.option(
    "--tool", "tool_spec", required=True, metavar="NAME[@VERSION]", help="The capture tool (e.g. adscraper)."
)
@click.option("--run", "run_id", metavar="RUN", help="The run the capture belongs to.")
@click.option(
    "--hil",
    type=click.Choice([level.value for level in HIL]),
    help="Default: the run's, else the tool card's.",
)
@click.option("--approved-by", metavar="NAME", help="Human who approved each action (HIL2).")
@click.option("--supervised-by", metavar="NAME", help="Human who watched and could stop it (HIL3).")
@click.option("--reviewed-by", metavar="NAME", help="Human who reviewed the output afterwards (HIL4).")
@pass_state
def import_warc_command(
    state: CliState,
    path: Path,
    case_id: str,
    tool_spec: str,
    run_id: str | None,
    hil: str | None,
    approved_by: str | None,
    supervised_by: str | None,
    reviewed_by: str | None,
) -> None:
    """Import a web capture: a WARC (.warc, .warc.gz) or WACZ file.

    The capture file is recorded unchanged as the original. Each HTTP response payload and each
    resource record (screenshots...) becomes a byte-identical derivative naming its WARC record,
    with target URI, WARC-Date, HTTP status and headers and the linked request; payload digests
    are checked against WARC-Payload-Digest. TLS certificate records and findings are signed
    into the capture's record. All or nothing; importing the same file again adds nothing.
    """
    size = path.stat().st_size if path.is_file() else 0  # a missing file: import_warc says so
    with state.open_workspace() as ws, progress_bar("Parsing", size) as bar:
        result = import_warc(
            ws,
            case_id,
            path,
            tool_spec=tool_spec,
            run_id=run_id,
            options=RecordOptions(
                hil=hil, approved_by=approved_by, supervised_by=supervised_by, reviewed_by=reviewed_by
            ),
            actor_name=state.actor,
            progress=lambda position: bar.update(position - bar.pos),
        )
    if result.duplicate:
        click.echo(f"unchanged  {path}: already imported (entry {result.sequence})")
        return
    click.echo(
        f"imported   {path}: entry {result.sequence}, sha256:{result.digest[:16]}..., "
        f"{result.payloads} payload(s), {result.findings} finding(s)"
    )


@import_group.command("dir")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--case", "case_id", required=True, metavar="ID")
@click.option(
    "--sidecar",
    "sidecar_name",
    default=SIDECAR_NAME,
    show_default=True,
    metavar="NAME",
    help="The sidecar file inside PATH.",
)
@click.option("--run", "run_id", metavar="RUN", help="The run the files belong to (all from its tool).")
@pass_state
def import_dir_command(
    state: CliState, path: Path, case_id: str, sidecar_name: str, run_id: str | None
) -> None:
    """Import a folder of tool outputs described by a sidecar (custody/sidecar/v1).

    \b
    The sidecar (docs/sidecar-format.md) says, per file: digest and size, media type, origin
    (captured/generated/mixed), role, the parents it was derived from and how, the tool and
    exact version, and the human-involvement level. Files must match their digests; parents
    must already be artifacts of the case (import the WARC first) or files of the same import.
    Files the sidecar does not list are reported and left out. All or nothing; importing the
    same folder again adds nothing.
    """
    with state.open_workspace() as ws:
        result = import_folder(
            ws, case_id, path, sidecar_name=sidecar_name, run_id=run_id, actor_name=state.actor
        )
    for item in result.files:
        if item.duplicate:
            click.echo(f"unchanged  {item.path}: already recorded (entry {item.sequence})")
        else:
            click.echo(f"recorded   {item.path}: entry {item.sequence}, sha256:{item.digest[:16]}...")
    for name in result.unlisted:
        click.echo(f"skipped    {name}: not listed in {sidecar_name}")
    new = sum(not item.duplicate for item in result.files)
    click.echo(
        f"{new} file(s) recorded, {len(result.files) - new} already present, "
        f"{len(result.unlisted)} not listed (sidecar sha256:{result.sidecar_digest[:16]}...)"
    )


@click.command("redact")
@click.argument("digest")
@click.option("--case", "case_id", required=True, metavar="ID")
@click.option(
    "--keep-seq", "seqs", multiple=True, type=click.IntRange(min=0), help="Show this message (repeatable)."
)
@click.option(
    "--keep-speaker",
    "speakers",
    multiple=True,
    type=click.Choice(["decoy", "counterpart"]),
    help="Show every message of this speaker.",
)
@click.option("--reason", required=True, help="Why the rest is withheld (goes into the withheld schedule).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_state
def redact_command(
    state: CliState,
    digest: str,
    case_id: str,
    seqs: tuple[int, ...],
    speakers: tuple[str, ...],
    reason: str,
    output: Path,
) -> None:
    """Write a redacted copy of an imported transcript that anyone can verify.

    Shown messages keep their exact bytes and salts; withheld ones are replaced by their salted
    commitments, so the signed commitment root still recomputes: what is shown is proven
    unchanged, what is hidden is proven to exist. The copy is recorded as a signed derivative.
    """
    with state.open_workspace() as ws:
        result = redact_transcript(
            ws, case_id, digest, output, reason=reason, seqs=seqs, speakers=speakers, actor_name=state.actor
        )
    click.echo(
        f"Wrote {output}: {result.shown} line(s) shown, {result.withheld} withheld "
        f"(recorded as entry {result.sequence}, sha256:{result.digest[:16]}...)"
    )


@click.command("verify-redaction")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--case", "case_id", required=True, metavar="ID")
@pass_state
def verify_redaction_command(state: CliState, file: Path, case_id: str) -> None:
    """Prove a redacted transcript against the commitment root in the original's signed record."""
    with state.open_workspace() as ws:
        verified = check_redaction(ws, case_id, file)
    click.echo(
        f"VALID: {len(verified.shown)} shown line(s) proven unchanged, {len(verified.withheld)} withheld "
        f"line(s) proven to exist (root {verified.root.hex()[:16]}...)"
    )


@click.command("lineage")
@click.argument("digest")
@click.option("--case", "case_id", required=True, metavar="ID")
@pass_state
def lineage_command(state: CliState, digest: str, case_id: str) -> None:
    """Show an artifact's derivation chain back to its captured original(s)."""
    with state.open_workspace() as ws:
        steps = lineage(ws, case_id, digest)
    for step in steps:
        p = step.view.provenance
        how = f" <- {p.transformation}" if p.transformation else ""
        click.echo(
            f"{'  ' * step.depth}{p.name or '(unnamed)'}  sha256:{p.digest[:16]}...  {p.origin.value} "
            f"{p.role.value}, {p.tool.name} {p.tool.version}, {p.hil.level.value}{how}"
        )


COMMANDS = [import_group, redact_command, verify_redaction_command, lineage_command]
