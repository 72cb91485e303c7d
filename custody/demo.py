"""The built-in demo scenario: a small decoy-chatbot case recorded end to end, checkpointed,
handed from one custodian to another, exported as a disclosure bundle and verified offline.

It drives the same library functions as the CLI, on the embedded default (SQLite + files), in a
given or temporary folder. Demo keys use a fixed, published passphrase: they are for the demo only.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from custody.actors import create_key
from custody.bundle import export_bundle
from custody.bundle_verify import verify_bundle
from custody.case_checkpoints import cosign_checkpoint, sign_case_checkpoint
from custody.caselog import log_lines, verify_case_log
from custody.cases import get_case, open_case
from custody.certificates import ca_certificate, issue_actor_certificate, load_signing_credential
from custody.dossier import dossier_of_bundle
from custody.importers.chat import import_chat
from custody.models import Source
from custody.pdfsign import sign_pdf, validate_pdf
from custody.recording import RecordOptions, record_files, show_artifact
from custody.redaction import check_redaction, redact_transcript
from custody.resources import sample_case_dir, templates_dir
from custody.runs import end_run, start_run
from custody.tools import register_tool
from custody.transfers import accept_custody, release_custody
from custody.workspace import Workspace

DEMO_PASSPHRASE = "demo-only-passphrase"  # noqa: S105 - published on purpose; demo keys only
CASE_ID = "OP-LANTERN"


@dataclass(frozen=True)
class DemoResult:
    workspace: Path
    case_id: str
    log_entries: int
    log_valid: bool  # and the bundle verified, and the dossier's signature
    bundle: Path
    dossier: Path | None = None


def run_demo(out_dir: Path | None, emit: Callable[[str], None]) -> DemoResult:
    """Run the scenario in ``out_dir`` (a new temporary folder if None); ``emit`` prints a line."""
    out_root = out_dir or Path(tempfile.mkdtemp(prefix="custody-demo-"))
    out_root.mkdir(parents=True, exist_ok=True)
    root = out_root / "workspace"
    sample = sample_case_dir("op-lantern")
    cards = templates_dir() / "toolcards"

    def step(text: str) -> None:
        emit(f"==> {text}")

    step(f"custody init {root}")
    with Workspace.init(root, passphrase_callback=lambda _what: DEMO_PASSPHRASE) as ws:
        step("custody key new ana --role investigator   (demo passphrase; never use for real)")
        ana = create_key(ws, "ana", "investigator")
        emit(f"    ana's key id {ana.key_id}")
        step("custody key new cole --role custodian")
        create_key(ws, "cole", "custodian")

        step(f"custody case open {CASE_ID} --jurisdiction UK --jurisdiction EU ...")
        open_case(
            ws,
            CASE_ID,
            title="Decoy operation on a classifieds site (synthetic)",
            jurisdictions=["UK", "EU"],
            authority="AUTH/2026/0415 (synthetic)",
            legal_basis="Regulation of Investigatory Powers Act 2000, Part II (synthetic example)",
            operator_type="state",
        )

        for card in ("scraper.yaml", "decoy-chatbot.yaml", "translator.yaml"):
            step(f"custody tool add templates/toolcards/{card} --case {CASE_ID}")
            registration = register_tool(ws, cards / card, case_id=CASE_ID)
            tool = registration.tool
            emit(f"    {tool.name} {tool.version}: card sha256:{tool.card_digest[:16]}...")

        step("custody record ad-capture.html --tool adscraper --source ... --captured-at ...")
        ad_claims = RecordOptions(
            source=Source(
                url="https://classifieds.example/ads/48213",
                platform="classifieds.example",
                account="ava_new_in_town",
            ),
            captured_at="2026-06-03T21:20:05Z",
        )
        capture = record_files(
            ws,
            CASE_ID,
            [sample / "ad-capture.html"],
            tool_spec="adscraper",
            options=ad_claims,
        )[0]
        emit(f"    recorded sha256:{capture.digest} as entry {capture.sequence}")

        step("custody run start --tool lantern-decoy --hil HIL2_APPROVED --supervisor cole")
        run = start_run(ws, CASE_ID, "lantern-decoy", hil_configured="HIL2_APPROVED", supervisor="cole")
        emit(f"    {run.id}")

        step(f"custody import chat sample_cases/op-lantern/conversations --case {CASE_ID} --run {run.id}")
        imported = import_chat(ws, CASE_ID, sample / "conversations", run_id=run.id)
        for result in imported:
            raised = ", ".join(
                f"{topic} by {who}"
                for topic in ("payment", "sex", "age")
                if (who := result.analysis.first_raised_by(topic))
            )
            emit(
                f"    {result.path.name}: {result.messages} messages, {result.findings} finding(s); "
                f"first raised (assisted): {raised or 'nothing'}"
            )
        step(f"custody run end {run.id}")
        end_run(ws, CASE_ID, run.id)

        step(
            f"custody record ad-translation-en.txt --derived-from {capture.digest[:12]} --transformation ..."
        )
        translation = record_files(
            ws,
            CASE_ID,
            [sample / "ad-translation-en.txt"],
            tool_spec="translator",
            options=RecordOptions(
                derived_from=(capture.digest[:12],),
                transformation="machine translation ro->en, reviewed by an analyst",
                reviewed_by="ana",
            ),
        )[0]
        emit(f"    recorded sha256:{translation.digest} as entry {translation.sequence}")

        step("custody record ad-capture.html ... (again, same provenance)")
        again = record_files(
            ws,
            CASE_ID,
            [sample / "ad-capture.html"],
            tool_spec="adscraper",
            options=ad_claims,
        )[0]
        assert again.duplicate, "recording the same provenance twice must be a no-op"
        emit(f"    unchanged: already recorded as entry {again.sequence}")

        bot_first = next(r for r in imported if r.analysis.first_raised_by("payment") == "decoy")
        redacted = out_root / f"{bot_first.path.stem}.redacted.json"
        step(
            f"custody redact {bot_first.digest[:12]} --case {CASE_ID} --keep-speaker decoy "
            f"--reason ... -o {redacted.name}"
        )
        redaction = redact_transcript(
            ws,
            CASE_ID,
            bot_first.digest,
            redacted,
            reason="the counterpart's messages hold third-party personal data",
            speakers=["decoy"],
        )
        verified = check_redaction(ws, CASE_ID, redacted)
        emit(
            f"    {redaction.shown} line(s) shown, {redaction.withheld} withheld; verifies against the "
            f"signed commitment root {verified.root.hex()[:16]}..."
        )

        step(f"custody show {translation.digest[:12]}")
        view = show_artifact(ws, translation.digest, case_id=CASE_ID)[0]
        p = view.provenance
        emit(
            f"    {p.name}: {p.origin.value} {p.role.value} {p.hil.level.value}, derived from "
            f"sha256:{p.derived_from[0][:16]}..., signed by {view.signer_name}, signature "
            f"{'valid' if view.signature_ok else 'INVALID'}"
        )

        step(f"custody checkpoint {CASE_ID}   (signed by the workspace log key)")
        checkpoint = sign_case_checkpoint(ws, CASE_ID)
        for text in checkpoint.note.decode("utf-8").splitlines():
            emit(f"    {text}")

        step(f"custody transfer --case {CASE_ID} --to cole --reason ...   (ana releases custody)")
        release = release_custody(ws, CASE_ID, "cole", reason="hand-over to the exhibits officer")
        emit(f"    custody.released at entry {release.sequence}")
        step(f"custody --as cole accept --case {CASE_ID}   (cole accepts: custody passes)")
        accepted = accept_custody(ws, CASE_ID, actor_name="cole")
        holder = get_case(ws, CASE_ID).custodian
        emit(f"    custody.accepted at entry {accepted.sequence}; custodian now {holder}")
        step(f"custody --as cole cosign {CASE_ID}   (a second party countersigns the checkpoint)")
        cosigned, _ = cosign_checkpoint(ws, CASE_ID, actor_name="cole")
        emit(f"    {cosigned.note.decode('utf-8').splitlines()[-1]}")

        step(f"custody log {CASE_ID}")
        lines = log_lines(ws, CASE_ID)
        for line in lines:
            emit(f"    {line.sequence:>3} {line.event_type:<18} {line.actor_name or '?':<6} {line.summary}")
        step(f"custody log {CASE_ID} --verify")
        report = verify_case_log(ws, CASE_ID)
        for check in report.checks:
            emit(f"    {check.number}. [{'OK' if check.ok else 'FAIL'}] {check.title}")
        step("custody --as cole key cert cole   (a document-signing certificate from the workspace CA)")
        binding = issue_actor_certificate(ws, "cole", organisation="Demo Cyber Unit (synthetic)")
        ca_pem = out_root / "workspace-ca.pem"
        ca_pem.write_bytes(ca_certificate(ws).public_bytes(serialization.Encoding.PEM))
        emit(f"    {binding.certificate.subject.rfc4514_string()}; CA certificate: {ca_pem.name}")
        credential = load_signing_credential(ws, "cole")
        bundle = out_root / f"{CASE_ID}-disclosure.zip"
        bundle.unlink(missing_ok=True)
        step(f"custody --as cole bundle {CASE_ID} -o {bundle.name} --recipient 'defence solicitors'")
        exported = export_bundle(ws, CASE_ID, bundle, recipient="defence solicitors", actor_name="cole")
        emit(f"    {exported.artifacts} artifacts, {exported.entries} entries, root {exported.root[:16]}...")
    step(f"custody verify {bundle.name}   (offline: no workspace, no database)")
    verdict = verify_bundle(bundle)
    for check in verdict.report.checks:
        emit(f"    {check.number}. [{'OK' if check.ok else 'FAIL'}] {check.title}")
    emit(f"    Result: {verdict.summary}")
    dossier = out_root / f"{CASE_ID}-dossier.pdf"
    step(f"custody --as cole dossier {bundle.name} -o {dossier.name} --sign   (verified, then rendered)")
    rendered = dossier_of_bundle(bundle)
    dossier.write_bytes(sign_pdf(rendered.pdf, credential, reason="cole certifies this dossier"))
    emit(f"    {len(dossier.read_bytes()):,} bytes: {rendered.pages_hint}")
    step(f"custody pdf verify {dossier.name} --ca {ca_pem.name}   (the custodian's PAdES signature)")
    signature = validate_pdf(dossier.read_bytes(), [x509.load_pem_x509_certificate(ca_pem.read_bytes())])
    emit(f"    {signature.verdict}")
    emit(f"Redacted transcript: {redacted.resolve()}")
    emit(f"Disclosure bundle: {bundle.resolve()}   (unzip it and read VERIFY.md)")
    emit(f"PDF dossier: {dossier.resolve()}   (signed by cole; data/dossier.pdf in the bundle too)")
    emit(f"Workspace: {root.resolve()}")
    emit(f"Try: custody --workspace {root.resolve()} log {CASE_ID} --verify")
    return DemoResult(root, CASE_ID, len(lines), report.ok and verdict.ok and signature.ok, bundle, dossier)
