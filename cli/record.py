"""custody record / show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from custody.models import ArtifactRole, HILFunction, Origin, Source
from custody.recording import ArtifactView, RecordOptions, record_files, show_artifact
from custody.transfers import read_artifact
from custody_cli.context import CliState, echo_json, pass_state, progress_bar
from custody_cli.runs import HIL_CHOICE


@click.command("record")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--case", "case_id", required=True, metavar="ID", help="The case to record into.")
@click.option(
    "--tool", "tool_spec", metavar="NAME[@VERSION]", help="The tool that captured or produced the files."
)
@click.option(
    "--run", "run_id", metavar="RUN", help="The run (see 'custody run start'); sets tool and HIL defaults."
)
@click.option(
    "--hil", type=HIL_CHOICE, help="Human-involvement level (default: the run's, else the tool card's)."
)
@click.option(
    "--hil-function",
    type=click.Choice([f.value for f in HILFunction]),
    help="What the HIL level applies to (default: acquire for captured, act for generated, "
    "analyse for derivatives).",
)
@click.option("--approved-by", metavar="NAME", help="Human who approved each action (HIL2).")
@click.option("--supervised-by", metavar="NAME", help="Human who watched and could stop it (HIL3).")
@click.option("--reviewed-by", metavar="NAME", help="Human who reviewed the output afterwards (HIL4).")
@click.option(
    "--origin",
    type=click.Choice([o.value for o in Origin]),
    help="captured = came from outside (a suspect's message, a web page); generated = produced by "
    "the system (a bot reply, a translation). Default: captured for originals, generated for derivatives.",
)
@click.option(
    "--role",
    type=click.Choice([r.value for r in ArtifactRole]),
    help="Default: derivative if --derived-from.",
)
@click.option(
    "--derived-from",
    multiple=True,
    metavar="DIGEST",
    help="Parent artifact (digest or 8+ hex prefix); repeatable.",
)
@click.option(
    "--transformation", metavar="TEXT", help="How a derivative was made (ocr, translation en->de, ...)."
)
@click.option("--source", "source_url", metavar="URL", help="Where the content was captured from.")
@click.option("--platform", metavar="NAME", help="Platform the content came from.")
@click.option("--account", metavar="ID", help="Account on the platform.")
@click.option("--message-id", metavar="ID", help="The platform's id of the message or post.")
@click.option(
    "--captured-at", metavar="TIME", help="When the tool captured it (RFC 3339, e.g. 2026-03-01T14:05:00Z)."
)
@click.option(
    "--operator", metavar="NAME", help="Human operating the tool (default: the run's operator, else you)."
)
@click.option("--media-type", metavar="TYPE/SUBTYPE", help="Override the media type guessed from the name.")
@click.option("--note", metavar="TEXT", help="Free-text note signed into the record.")
@pass_state
def record(
    state: CliState,
    files: tuple[Path, ...],
    case_id: str,
    tool_spec: str | None,
    run_id: str | None,
    source_url: str | None,
    platform: str | None,
    account: str | None,
    message_id: str | None,
    derived_from: tuple[str, ...],
    **claims: Any,
) -> None:
    """Record FILES as evidence in a case, with signed provenance.

    Each file is hashed while it is copied into the write-once blob store (one read), then an
    artifact.recorded entry, signed by the acting key, is appended to the case ledger. All files
    of one call are recorded together or not at all. Recording the same bytes with the same
    provenance again changes nothing.
    """
    options = RecordOptions(
        source=Source(url=source_url, platform=platform, account=account, message_id=message_id),
        derived_from=derived_from,
        run=run_id,
        **claims,
    )
    total = sum(f.stat().st_size for f in files if f.is_file())
    with (
        state.open_workspace() as ws,
        progress_bar("Hashing and storing", total) as bar,
    ):
        outcomes = record_files(
            ws,
            case_id,
            list(files),
            tool_spec=tool_spec,
            options=options,
            actor_name=state.actor,
            progress=bar.update,
        )
    for outcome in outcomes:
        if outcome.duplicate:
            click.echo(
                f"unchanged  {outcome.path}: already recorded with this provenance "
                f"(entry {outcome.sequence}, sha256:{outcome.digest})"
            )
        else:
            click.echo(
                f"recorded   {outcome.path}: sha256:{outcome.digest} ({outcome.size} bytes), "
                f"entry {outcome.sequence}"
            )


def _view_dict(view: ArtifactView) -> dict[str, Any]:
    return {
        "case": view.case_id,
        "ledger_entry": view.sequence,
        "recorded_at": view.recorded_at,
        "signed_by": {"name": view.signer_name, "role": view.signer_role, "key_id": view.signer_key_id},
        "signature": "valid" if view.signature_ok else f"INVALID: {view.signature_error}",
        "content": "intact" if view.blob_error is None else f"CORRUPT: {view.blob_error}",
        "entry_sha256": view.entry_sha256,
        "provenance": view.provenance.to_dict(),
    }


def _echo_view(view: ArtifactView) -> None:
    p = view.provenance
    lines = [
        ("artifact", f"{p.name or '(unnamed)'}  sha256:{p.digest}"),
        ("size / type", f"{p.size} bytes, {p.media_type}"),
        ("case / entry", f"{view.case_id} / ledger entry {view.sequence}"),
        ("recorded at", view.recorded_at),
        ("captured at", p.captured_at or "- (not claimed by the tool)"),
        ("origin / role", f"{p.origin.value} / {p.role.value}"),
        ("HIL", f"{p.hil.level.value} ({p.hil.function.value})"),
    ]
    for label, value in (
        ("approved by", p.hil.approved_by),
        ("supervised by", p.hil.supervised_by),
        ("reviewed by", p.hil.reviewed_by),
    ):
        if value:
            lines.append((label, value))
    lines += [
        ("tool", f"{p.tool.name} {p.tool.version} (card sha256:{p.tool.card_digest[:16]}...)"),
        ("operator", p.operator),
    ]
    if p.run:
        lines.append(("run", p.run))
    if p.derived_from:
        parents = ", ".join(f"sha256:{d[:16]}..." for d in p.derived_from)
        lines.append(("derived from", f"{parents} ({p.transformation or 'transformation not stated'})"))
    for key, value in p.source.to_dict().items():
        lines.append((f"source {key.replace('_', ' ')}", value))
    if p.note:
        lines.append(("note", p.note))
    signer = f"{view.signer_name} ({view.signer_role})" if view.signer_name else "unknown key"
    lines += [
        ("signed by", f"{signer} key {view.signer_key_id[:16]}..."),
        ("signature", "valid" if view.signature_ok else f"INVALID: {view.signature_error}"),
        ("content", "intact (re-hashed)" if view.blob_error is None else f"CORRUPT: {view.blob_error}"),
    ]
    for label, value in lines:
        click.echo(f"{label + ':':<16} {value}")


@click.command("show")
@click.argument("digest")
@click.option("--case", "case_id", metavar="ID", help="Only this case (default: every case).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--content",
    is_flag=True,
    help="Write the artifact's bytes to stdout instead (needs --case; the access is signed into the ledger).",
)
@click.option("--purpose", help="With --content: why the bytes are read (signed into the access event).")
@pass_state
def show(
    state: CliState, digest: str, case_id: str | None, as_json: bool, content: bool, purpose: str | None
) -> None:
    """Show an artifact's signed provenance (DIGEST: full SHA-256 or an 8+ digit prefix).

    The provenance is read from the signed ledger entry, its signature is checked and the
    stored bytes are re-hashed. Exits 1 if either check fails.
    """
    if content:
        if case_id is None:
            raise click.UsageError("--content needs --case: the access is recorded in that case's ledger")
        with state.open_workspace() as ws:
            access, data = read_artifact(ws, case_id, digest, purpose=purpose, actor_name=state.actor)
        click.get_binary_stream("stdout").write(data)
        if not access.by_custodian:
            click.echo(
                "Warning: you are not this case's custodian; the access is recorded and will be flagged",
                err=True,
            )
        return
    with state.open_workspace() as ws:
        views = show_artifact(ws, digest, case_id=case_id)
    if as_json:
        echo_json([_view_dict(v) for v in views])
    else:
        for index, view in enumerate(views):
            if index:
                click.echo("")
            _echo_view(view)
    if any(not v.signature_ok or v.blob_error for v in views):
        raise SystemExit(1)


COMMANDS = [record, show]
