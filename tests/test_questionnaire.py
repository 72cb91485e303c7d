"""The admissibility questionnaire: question sets, evaluate() on the sample decoy case, signed human
answers (custody answer), bundle --strict and data/questionnaire.json, and the same answers from a
workspace and from a bundle (also with an artifact withheld)."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from custody.answers import case_events, case_questionnaires, record_answer, store_reader
from custody.bundle import Withholding, export_bundle
from custody.bundle_questionnaire import unverified_bundle_questionnaires
from custody.bundle_verify import verify_bundle
from custody.caselog import verify_case_log
from custody.demo import CASE_ID, DEMO_PASSPHRASE, run_demo
from custody.errors import FormatError, NotFoundError, PolicyError
from custody.events import ANSWER_RECORDED, CustodyEvent
from custody.exhibits import WithheldExhibit, exhibit_index
from custody.questionnaire import (
    SET_FILES,
    Status,
    evaluate,
    load_catalogue,
    load_question_set,
    parse_catalogue,
    parse_question_set,
    proposal_digest,
)
from custody.statement import Subject
from custody.workspace import Workspace
from tests.conftest import REPO, Cli, assert_error, make_cli

FIXTURES = REPO / "tests" / "fixtures" / "questions"
DOMAIN_IDS = (
    *(f"AUTH-{n}" for n in range(1, 7)),
    *(f"PROV-{n}" for n in range(1, 6)),
    *(f"REL-{n}" for n in range(1, 7)),
    *(f"HUM-{n}" for n in range(1, 6)),
    "COMP-1",
    "COMP-2",
    *(f"ENT-{n}" for n in range(1, 5)),
    "DISC-1",
    "PRIV-1",
    "PRIV-2",
)
# What the sample case leaves unanswered (UK and EU sets alike): the analysis and redaction
# tools' cards have no validation, nobody recorded an escalation decision or a targeting
# rationale, and the manual questions and the assisted ENT-1 wait for a human.
SAMPLE_UNANSWERED = ["REL-1", "REL-2", "REL-3", "HUM-4", "ENT-1", "ENT-4", "PRIV-1"]


# --- question sets ------------------------------------------------------------------------------


def test_catalogue_holds_every_domain_question_with_its_mode() -> None:
    catalogue = load_catalogue()
    assert tuple(catalogue) == DOMAIN_IDS
    modes = {q.id: q.mode.value for q in catalogue.values()}
    assert modes["ENT-1"] == "assisted"
    assert [q for q, m in modes.items() if m == "manual"] == ["REL-3", "PRIV-1"]
    assert {q for q, m in modes.items() if m == "auto_or_manual"} == {
        "REL-1",
        "REL-2",
        "REL-4",
        "HUM-2",
        "HUM-4",
        "ENT-4",
    }


@pytest.mark.parametrize(
    ("code", "cited"),
    [
        ("US", {"AUTH-2": "FRE 902(13)", "PROV-1": "FRE 901(b)(9)", "REL-1": "FRE 702", "ENT-1": "Jacobson"}),
        (
            "UK",
            {"AUTH-1": "PACE 1984 s.78", "ENT-1": "R v Looseley", "COMP-2": "CPIA 1996", "PRIV-2": "s.62"},
        ),
        ("EU", {"HUM-2": "Art. 14", "AUTH-2": "Art. 12", "ENT-3": "Art. 50(1)", "PRIV-2": "2016/680"}),
    ],
)
def test_jurisdiction_sets_select_word_and_cite(code: str, cited: dict[str, str]) -> None:
    question_set = load_question_set(code.lower())
    assert question_set.jurisdiction == code
    assert set(question_set.ids) <= set(DOMAIN_IDS)
    for question in question_set.questions:
        assert question.rules, f"{code} {question.id} cites no rule"
    for question_id, rule in cited.items():
        assert any(rule in r for r in question_set.question(question_id).rules), (question_id, rule)
    # Standards of the catalogue follow the jurisdiction's own rules.
    assert question_set.question("AUTH-1").rules[-1] == "Berkeley Protocol (2022)"


def test_sets_differ_in_selection_and_wording_and_word_unconfirmed_rules_cautiously() -> None:
    us, uk = load_question_set("US"), load_question_set("UK")
    assert "PRIV-1" not in us.ids
    assert "PRIV-1" in uk.ids
    assert "predisposition" in us.question("ENT-1").text
    assert "state-created crime" in uk.question("ENT-1").text
    assert load_catalogue()["ENT-1"].text == "Who first raised payment, sex acts, or age?"
    for question_set in (us, uk, load_question_set("EU")):
        for question in question_set.questions:
            for rule in question.rules:
                if "707" in rule or "call for evidence" in rule:
                    assert "unconfirmed" in rule, rule
                    assert "proposed" in rule.lower(), rule


def test_unknown_jurisdiction_is_named() -> None:
    with pytest.raises(
        NotFoundError, match=r"no admissibility question set for jurisdiction 'DE'.*US, UK, EU"
    ):
        load_question_set("DE")
    assert set(SET_FILES) == {"US", "UK", "EU"}


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        (
            "set_unknown_question.yaml",
            r"set_unknown_question.yaml: questions\[1\].id 'AUTH-99' is not a question",
        ),
        (
            "set_duplicate_question.yaml",
            r"set_duplicate_question.yaml: questions\[1\].id 'AUTH-1' appears twice",
        ),
        ("set_unknown_field.yaml", r"set_unknown_field.yaml: questions\[0\]: unknown field\(s\) rule"),
        ("set_rules_not_list.yaml", r"set_rules_not_list.yaml: question AUTH-2.rules must be a list"),
        ("set_duplicate_key.yaml", r"set_duplicate_key.yaml is not valid YAML: .*duplicate key 'text'"),
        ("set_wrong_schema.yaml", r"set_wrong_schema.yaml: schema must be 'custody/questions/v1'"),
    ],
)
def test_malformed_sets_are_refused_naming_file_and_field(fixture: str, message: str) -> None:
    catalogue_bytes = (REPO / "templates" / "questions" / "catalogue.yaml").read_bytes()
    with pytest.raises(FormatError, match=message) as raised:
        parse_question_set(
            (FIXTURES / fixture).read_bytes(),
            parse_catalogue(catalogue_bytes),
            name=fixture,
            catalogue_sha256="0" * 64,
        )
    assert raised.value.exit_code == 3


def test_malformed_catalogue_names_the_question_and_field() -> None:
    name = "catalogue_bad_mode.yaml"
    with pytest.raises(
        FormatError, match=r"catalogue_bad_mode.yaml: question AUTH-1.mode must be one of auto"
    ):
        parse_catalogue((FIXTURES / name).read_bytes(), name=name)


# --- the sample decoy case ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's OP-LANTERN workspace (UK and EU; five decoy conversations, a transfer, a bundle)."""
    out = tmp_path_factory.mktemp("sample")
    run_demo(out, lambda _line: None)
    return out / "workspace"


@pytest.fixture
def lantern(sample: Path, tmp_path: Path) -> Iterator[Workspace]:
    copy = tmp_path / "workspace"
    shutil.copytree(sample, copy)
    with Workspace.open(copy, passphrase_callback=lambda _what: DEMO_PASSPHRASE) as ws:
        yield ws


def _cli(ws: Workspace, tmp_path: Path) -> Cli:
    cli = make_cli(tmp_path, None)
    cli.env.update(CUSTODY_PASSPHRASE=DEMO_PASSPHRASE, CUSTODY_WORKSPACE=str(ws.root))
    return cli


def _exhibit(ws: Workspace, name: str) -> int:
    index = exhibit_index(case_events(ws, CASE_ID))
    return next(int(e["exhibit"]) for e in index if e["name"] == name)


def test_auto_answers_are_computed_from_the_records(lantern: Workspace) -> None:
    (uk,) = case_questionnaires(lantern, CASE_ID, ["UK"])
    answer = {r.question.id: r for r in uk.results}
    assert [r.question.id for r in uk.unanswered] == SAMPLE_UNANSWERED
    assert uk.answered == 24
    assert uk.total == 31

    # ENT-1 is proposed, per conversation, and names the bot's own first mention of payment.
    ent_1 = answer["ENT-1"]
    assert ent_1.status is Status.PROPOSED
    assert 'conv-0001: payment: the counterpart (counterpart) at seq 3, "how much"' in ent_1.answer
    assert 'conv-0002: payment: the decoy (model) at seq 4, "rate"' in ent_1.answer
    assert (
        'conv-0005: payment: the counterpart (counterpart) at seq 10, "rate", later deleted' in ent_1.answer
    )
    assert ent_1.computed.warnings == ("conv-0002: the decoy raised payment first (seq 4)",)
    assert _exhibit(lantern, "conv-0002.analysis.json") in ent_1.exhibits

    # HUM-1: the most automated level relied on, and among the decoy's messages.
    facts = answer["HUM-1"].computed.facts
    assert facts["most_automated_hil"] == "HIL5_AUTONOMOUS"  # the assisted analyses
    assert facts["most_automated_message_hil"] == "HIL2_APPROVED"
    assert facts["by_function"]["act"] == "HIL2_APPROVED"
    assert answer["HUM-1"].exhibits == tuple(
        sorted(_exhibit(lantern, f"conv-000{n}.analysis.json") for n in range(1, 6))
    )
    # HUM-2: the run's supervisor and the operator takeover in conv-0003.
    assert "supervised by cole" in answer["HUM-2"].answer
    assert "Interventions (operator takeovers): conv-0003 seq 6-8." in answer["HUM-2"].answer
    # HUM-5: configured HIL2 vs observed; the operator's HIL0 messages are below it, no mismatch.
    assert "configured HIL2_APPROVED" in answer["HUM-5"].answer
    assert "decoy messages HIL0_MANUAL 2, HIL2_APPROVED 19" in answer["HUM-5"].answer
    assert "Configured and observed levels match." in answer["HUM-5"].answer
    # COMP-1: the gap and the deletion in conv-0005; COMP-2: the conversation that led nowhere.
    assert "conv-0005 (exhibit" in answer["COMP-1"].answer
    assert "seq_gap" in answer["COMP-1"].answer
    assert answer["COMP-1"].computed.warnings == ("conv-0005: 2 finding(s)",)
    assert "Conversations that led nowhere are kept: conv-0004." in answer["COMP-2"].answer
    # ENT-2: persistence metrics from the analyses.
    assert answer["ENT-2"].computed.facts["totals"] == {
        "after_refusal": 1,
        "after_silence": 1,
        "bot_initiated": 1,
    }
    assert (
        "conv-0004: bot-initiated turns 1 (seq 5), re-engagements after silence 1 (seq 5)"
        in answer["ENT-2"].answer
    )
    # ENT-3 from case.opened; DISC-1 from the demo's bundle.exported entry.
    assert answer["ENT-3"].answer.startswith(
        "Authorisation: AUTH/2026/0415 (synthetic). Legal basis: Regulation"
    )
    assert answer["ENT-3"].entries == (0,)
    assert "bundle OP-LANTERN-000024 to defence solicitors" in answer["DISC-1"].answer
    # AUTH-6: the transfer ana -> cole, both signatures present.
    assert "ana (investigator) -> cole (custodian) (released at entry 21, accepted at entry 23)" in (
        answer["AUTH-6"].answer
    )
    # PROV-*: tool cards and the model record.
    assert "chat-large snapshot chat-large-2026-04-15" in answer["PROV-2"].answer
    assert "temperature=0.7" in answer["PROV-3"].answer
    # Open with what is missing: no validation for the analysis tool.
    assert "Missing: validation references for custody-analysis 1" in answer["REL-1"].answer
    assert "KI-7" in answer["REL-6"].answer


def _answer_event(events: list[CustodyEvent], question: str, text: str, **extra: object) -> CustodyEvent:
    last = events[-1]
    body = {"question": question, "jurisdictions": ["UK"], "answer": text, **extra}
    return CustodyEvent(
        ANSWER_RECORDED,
        last.case_id,
        last.sequence + 1,
        last.time,
        events[0].actor,
        (Subject(f"question:{question}", "0" * 64),),
        body,
    )


def test_confirmation_binds_the_proposal_it_saw(lantern: Workspace) -> None:
    events: list[CustodyEvent] = case_events(lantern, CASE_ID)
    uk = load_question_set("UK")
    read = store_reader(lantern)
    proposal = evaluate(events, uk, read_artifact=read).result("ENT-1").answer
    assert proposal is not None

    stale = [*events, _answer_event(events, "ENT-1", "older text", confirms={"sha256": proposal_digest("x")})]
    result = evaluate(stale, uk, read_artifact=read).result("ENT-1")
    assert result.status is Status.PROPOSED
    assert "is for an earlier proposal" in result.to_dict()["warnings"][-1]

    confirmed = [
        *events,
        _answer_event(events, "ENT-1", proposal, confirms={"sha256": proposal_digest(proposal)}),
    ]
    result = evaluate(confirmed, uk, read_artifact=read).result("ENT-1")
    assert result.status is Status.ANSWERED
    assert result.answer == proposal
    # The EU set is not answered by an answer given for the UK set only.
    assert (
        evaluate(confirmed, load_question_set("EU"), read_artifact=read).result("ENT-1").status
        is Status.PROPOSED
    )
    # Without the analyses (bytes unavailable), nothing can be proposed.
    assert evaluate(events, uk, read_artifact=lambda _d: None).result("ENT-1").status is Status.OPEN


def test_custody_answer_closes_questions_signed_into_the_ledger(lantern: Workspace, tmp_path: Path) -> None:
    cli = _cli(lantern, tmp_path)
    before = cli.ok("questions", CASE_ID)
    assert (
        "24 of 31 questions answered; not yet: REL-1, REL-2, REL-3, HUM-4, ENT-1, ENT-4, PRIV-1" in before.out
    )
    assert "  ENT-1   proposed  First mentions found by keyword analysis" in before.out

    first = cli.ok(
        "answer", CASE_ID, "REL-3", "Not peer reviewed; the method is documented in SOP-DECOY-004."
    )
    assert "Answered REL-3 for EU, UK: entry 25 (answer.recorded)" in first.out
    cli.ok("--as", "cole", "answer", CASE_ID, "rel-3", "Keyword method, published in the custody docs.")
    confirmed = cli.ok("answer", CASE_ID, "ENT-1", "--confirm")
    assert "Confirmed the proposed answer to ENT-1 for EU, UK: entry 27" in confirmed.out

    document = json.loads(cli.ok("questions", CASE_ID, "--jurisdiction", "UK", "--json").out)
    (uk,) = document
    assert (uk["jurisdiction"], uk["title"], uk["answered"], uk["total"]) == ("UK", "England & Wales", 26, 31)
    rel_3 = next(q for q in uk["questions"] if q["id"] == "REL-3")
    cole = next(k for k in json.loads(cli.ok("key", "list", "--json").out) if k["name"] == "cole")
    assert rel_3["status"] == "answered"
    assert rel_3["answer"] == "Keyword method, published in the custody docs."  # latest wins
    assert (rel_3["answered_by"], rel_3["answered_by_name"], rel_3["entry"]) == (cole["key_id"], "cole", 26)
    assert rel_3["evidence"]["entries"] == [26]
    assert [h["entry"] for h in rel_3["history"]] == [25]
    ent_1 = next(q for q in uk["questions"] if q["id"] == "ENT-1")
    assert ent_1["status"] == "answered"
    assert ent_1["answer"].startswith("First mentions found by keyword")
    assert ent_1["confirms"] == proposal_digest(ent_1["answer"])

    log = cli.ok("log", CASE_ID)
    assert "answer.recorded" in log.out
    assert "ENT-1 [EU, UK] confirms the proposal" in log.out
    cli.ok("log", CASE_ID, "--verify")
    assert verify_case_log(lantern, CASE_ID).ok


def test_answers_are_refused_for_tool_keys_unknown_questions_and_other_jurisdictions(
    lantern: Workspace, tmp_path: Path
) -> None:
    cli = _cli(lantern, tmp_path)
    cli.ok("key", "new", "decoy-svc", "--role", "tool")
    assert_error(cli("--as", "decoy-svc", "answer", CASE_ID, "REL-3", "x"), 1, "tool's service key")
    assert_error(cli("answer", CASE_ID, "REL-9", "x"), 1, "no admissibility question 'REL-9'")
    assert_error(
        cli("answer", CASE_ID, "REL-3", "x", "--jurisdiction", "US"), 1, "the case is under UK, EU, not US"
    )
    assert_error(cli("answer", CASE_ID, "REL-3", "--confirm"), 1, "only assisted questions")
    assert cli("answer", CASE_ID, "REL-3").code == 2  # neither text nor --confirm: usage
    assert cli("answer", CASE_ID, "ENT-1", "text", "--confirm").code == 2
    with pytest.raises(PolicyError, match="tool's service key"):
        record_answer(lantern, CASE_ID, "PRIV-1", "x", actor_name="decoy-svc")
    assert verify_case_log(lantern, CASE_ID).ok  # nothing was written by the refused answers


def _answer_everything(ws: Workspace) -> None:
    for questionnaire in case_questionnaires(ws, CASE_ID):
        for result in questionnaire.unanswered:
            if result.question.id == "ENT-1":
                record_answer(
                    ws, CASE_ID, "ENT-1", None, jurisdictions=[questionnaire.jurisdiction], confirm=True
                )
            else:
                record_answer(
                    ws,
                    CASE_ID,
                    result.question.id,
                    f"answered by ana ({questionnaire.jurisdiction})",
                    jurisdictions=[questionnaire.jurisdiction],
                )


def test_bundle_strict_refuses_until_every_question_is_answered(lantern: Workspace, tmp_path: Path) -> None:
    cli = _cli(lantern, tmp_path)
    refused = cli("--as", "cole", "bundle", CASE_ID, "-o", tmp_path / "strict.zip", "--strict")
    assert_error(
        refused,
        1,
        "--strict: case OP-LANTERN is not court-ready",
        f"UK: {', '.join(SAMPLE_UNANSWERED)}",
        "EU: REL-1",
    )
    assert not (tmp_path / "strict.zip").exists()
    # Without --strict the export proceeds, and its questionnaire says what is open.
    cli.ok("--as", "cole", "bundle", CASE_ID, "-o", tmp_path / "open.zip")
    with zipfile.ZipFile(tmp_path / "open.zip") as archive:
        (name,) = [n for n in archive.namelist() if n.endswith("data/questionnaire.json")]
        document = json.loads(archive.read(name))
    assert [q["jurisdiction"] for q in document["questionnaires"]] == ["UK", "EU"]
    assert document["questionnaires"][0]["unanswered"] == SAMPLE_UNANSWERED
    assert document["questionnaires"][0]["complete"] is False

    _answer_everything(lantern)
    cli.ok("--as", "cole", "bundle", CASE_ID, "-o", tmp_path / "ready.zip", "--strict")
    assert verify_bundle(tmp_path / "ready.zip").ok
    for questionnaire in unverified_bundle_questionnaires(tmp_path / "ready.zip"):
        assert questionnaire.complete, questionnaire.jurisdiction
        assert questionnaire.result("PRIV-1").human is not None


def test_bundle_questionnaire_is_what_the_workspace_and_the_bundle_compute(
    lantern: Workspace, tmp_path: Path
) -> None:
    record_answer(lantern, CASE_ID, "PRIV-1", "DPIA-2026-07; retention seven years after the case ends")
    exported = export_bundle(lantern, CASE_ID, tmp_path / "full.zip", actor_name="cole")
    bundled = _bundle_document(tmp_path / "full.zip")
    recomputed = [q.to_dict() for q in unverified_bundle_questionnaires(tmp_path / "full.zip")]
    events = case_events(lantern, CASE_ID)[: exported.entries]
    workspace = [
        evaluate(events, load_question_set(c), read_artifact=store_reader(lantern)).to_dict()
        for c in ("UK", "EU")
    ]
    assert bundled == recomputed == workspace
    assert bundled[0]["answered"] == 25  # PRIV-1 answered, and no earlier state leaks in


def test_withheld_artifact_gives_the_same_answers_from_bundle_and_workspace(
    lantern: Workspace, tmp_path: Path
) -> None:
    index = exhibit_index(case_events(lantern, CASE_ID))
    analysis = next(e for e in index if e["name"] == "conv-0003.analysis.json")
    exported = export_bundle(
        lantern,
        CASE_ID,
        tmp_path / "withheld.zip",
        withhold=[Withholding(analysis["sha256"], "sensitive: operator tradecraft")],
        actor_name="cole",
    )
    assert verify_bundle(tmp_path / "withheld.zip").ok
    bundled = _bundle_document(tmp_path / "withheld.zip")
    recomputed = [q.to_dict() for q in unverified_bundle_questionnaires(tmp_path / "withheld.zip")]

    hidden = set(analysis["records"])
    events = [
        None if n in hidden else e for n, e in enumerate(case_events(lantern, CASE_ID)[: exported.entries])
    ]
    withheld = [
        WithheldExhibit(analysis["sha256"], tuple(analysis["records"]), "sensitive: operator tradecraft")
    ]
    workspace = [
        evaluate(
            events, load_question_set(c), read_artifact=store_reader(lantern), withheld=withheld
        ).to_dict()
        for c in ("UK", "EU")
    ]
    assert bundled == recomputed == workspace

    uk = {q["id"]: q for q in bundled[0]["questions"]}
    # Exhibit numbers stay those of the bundle; what was withheld is said, and what needed it is open.
    assert (
        f"exhibit {analysis['exhibit']} (entries {analysis['records'][0]}): sensitive"
        in uk["DISC-1"]["answer"]
    )
    assert uk["ENT-1"]["status"] == "open"
    assert "conv-0003 is not available" in uk["ENT-1"]["answer"]
    assert analysis["name"] not in json.dumps(bundled)


def _bundle_document(path: Path) -> list[dict[str, object]]:
    with zipfile.ZipFile(path) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith("data/questionnaire.json")]
        document = json.loads(archive.read(name))
    assert document["case"] == CASE_ID
    return list(document["questionnaires"])


def test_questions_help_and_a_case_without_a_question_set(tmp_path: Path) -> None:
    cli = make_cli(tmp_path, None)
    help_text = cli.ok("questions", "--help").out
    assert "custody questions OP-LANTERN --jurisdiction UK --full" in help_text
    assert "custody answer OP-LANTERN ENT-1 --confirm" in cli.ok("answer", "--help").out
    cli.ok("init")
    cli.ok("key", "new", "ana", "--role", "investigator")
    cli.ok("case", "open", "OP-DE", "--title", "t", "--jurisdiction", "DE", "--authority", "A/1")
    assert_error(cli("questions", "OP-DE"), 1, "none of the case's jurisdictions (DE) has a question set")
    # Export still proceeds (no questionnaire to carry); --strict cannot call it court-ready.
    assert_error(cli("bundle", "OP-DE", "-o", tmp_path / "de.zip", "--strict"), 1, "no question set applies")
    cli.ok("bundle", "OP-DE", "-o", tmp_path / "de.zip")


def test_case_fixture_without_transcripts_answers_conduct_questions_as_not_applicable(
    case_workspace: Workspace,
) -> None:
    (uk,) = case_questionnaires(case_workspace, "OP-TEST")
    ent_1 = uk.result("ENT-1")
    assert ent_1.status is Status.ANSWERED
    assert ent_1.answer.startswith("No conversation transcript")
    ent_3 = uk.result("ENT-3")
    assert ent_3.status is Status.OPEN
    assert ent_3.answer.endswith("Missing: legal basis.")
    with pytest.raises(NotFoundError, match="question 'PRIV-1' is not in the US question set"):
        load_question_set("US").question("PRIV-1")
