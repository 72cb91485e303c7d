"""custody questions / custody answer: the admissibility questionnaire of a case."""

from __future__ import annotations

import textwrap

import click

from custody.answers import case_questionnaires, record_answer
from custody.questionnaire import SET_FILES, Questionnaire
from custody_cli.context import CliState, echo_json, pass_state

_JURISDICTION = click.option(
    "--jurisdiction",
    "jurisdictions",
    multiple=True,
    type=click.Choice(sorted(SET_FILES), case_sensitive=False),
    help="Question set(s) to use (repeatable; default: each of the case's jurisdictions).",
)
_SUMMARY = 70


def _summary(text: str | None) -> str:
    flat = " ".join((text or "-").split())
    return flat if len(flat) <= _SUMMARY else flat[: _SUMMARY - 3] + "..."


def _echo_questionnaire(questionnaire: Questionnaire, full: bool) -> None:
    click.echo(f"{questionnaire.question_set.title} ({questionnaire.jurisdiction} question set)")
    for result in questionnaire.results:
        status = result.status.value
        who = (
            f" [{result.human.name or result.human.key_id[:12]}, entry {result.human.entry}]"
            if result.human
            else ""
        )
        if full:
            click.echo(f"  {result.question.id:<7} {status:<9} {result.question.text}")
            body = textwrap.fill(
                f"{result.answer or '-'}{who}", 100, initial_indent=" " * 20, subsequent_indent=" " * 20
            )
            click.echo(body)
            continue
        click.echo(f"  {result.question.id:<7} {status:<9} {_summary(result.answer)}{who}")
    unanswered = [r.question.id for r in questionnaire.unanswered]
    line = f"{questionnaire.answered} of {questionnaire.total} questions answered"
    click.echo(line + (f"; not yet: {', '.join(unanswered)}" if unanswered else "; court-ready"))


@click.command("questions")
@click.argument("case_id", metavar="ID")
@_JURISDICTION
@click.option("--full", is_flag=True, help="Show each question's wording and its whole answer.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (what bundles carry).")
@pass_state
def questions_command(
    state: CliState, case_id: str, jurisdictions: tuple[str, ...], full: bool, as_json: bool
) -> None:
    """Show the admissibility questionnaire of case ID: each question's status and answer.

    \b
    Each jurisdiction set (US, UK, EU) selects questions from the catalogue
    (templates/questions/), words them in its terms and cites its rules. Status:
      answered  computed from the signed records, or answered by a named human
      proposed  an assisted answer (ENT-1) awaiting a human's confirmation
      open      a human must answer (or the records lack what it needs; the answer says what)
    A bundle is court-ready when every question is answered; 'custody bundle --strict'
    refuses until then.

    \b
    Examples:
      custody questions OP-LANTERN
      custody questions OP-LANTERN --jurisdiction UK --full
      custody questions OP-LANTERN --json > questionnaire.json
    """
    with state.open_workspace() as ws:
        questionnaires = case_questionnaires(ws, case_id, jurisdictions or None)
    if as_json:
        echo_json([q.to_dict() for q in questionnaires])
        return
    for index, questionnaire in enumerate(questionnaires):
        if index:
            click.echo()
        _echo_questionnaire(questionnaire, full)


@click.command("answer")
@click.argument("case_id", metavar="ID")
@click.argument("question_id", metavar="QUESTION-ID")
@click.argument("text", required=False)
@_JURISDICTION
@click.option("--confirm", is_flag=True, help="Confirm the proposed (assisted) answer as it stands.")
@pass_state
def answer_command(
    state: CliState,
    case_id: str,
    question_id: str,
    text: str | None,
    jurisdictions: tuple[str, ...],
    confirm: bool,
) -> None:
    """Answer admissibility question QUESTION-ID of case ID, signed into the ledger.

    \b
    The answer is an answer.recorded entry signed by the acting key (a person, never a
    tool's service key). It applies to each of the case's question sets that asks the
    question (or to those given with --jurisdiction). A later answer supersedes an
    earlier one; the earlier ones stay in the ledger and in the questionnaire's history.
    --confirm takes an assisted proposal (ENT-1) as it stands; the entry cites the
    proposal's SHA-256, so a proposal that changes later (new transcripts) needs a new
    confirmation.

    \b
    Examples:
      custody answer OP-LANTERN REL-3 "Keyword matching; method published in docs/..."
      custody --as cole answer OP-LANTERN PRIV-1 "DPIA-2026-07; retention: 7 years" --jurisdiction UK
      custody answer OP-LANTERN ENT-1 --confirm
    """
    if confirm and text is not None:
        raise click.UsageError("--confirm takes the proposal as it stands; give no TEXT with it")
    if not confirm and text is None:
        raise click.UsageError("give the answer TEXT, or --confirm an assisted proposal")
    with state.open_workspace() as ws:
        recorded = record_answer(
            ws,
            case_id,
            question_id,
            text,
            jurisdictions=jurisdictions or None,
            confirm=confirm,
            actor_name=state.actor,
        )
    what = "Confirmed the proposed answer to" if recorded.confirmed else "Answered"
    click.echo(
        f"{what} {recorded.question} for {', '.join(recorded.jurisdictions)}: "
        f"entry {recorded.sequence} (answer.recorded)"
    )


COMMANDS = [questions_command, answer_command]
