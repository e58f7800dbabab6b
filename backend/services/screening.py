"""Screening questions: what a job asks candidates when they apply, and the answers.

A job's questions are stored as JSON, each with an id that its content gives (so it changes
whenever the question does, and a form built from an older version of a question is refused
rather than its answer filed under the new one). An application keeps the questions as
they were when its candidate applied, each with its answer: what an employer later changes
never rewrites what was answered.
"""

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.exceptions import InvalidField, NotFound
from backend.db.repository import pipelines as pipelines_repo
from backend.db.repository.sessions import Caller
from backend.schemas.pipeline import (
    TEXT_ANSWER_MAX_LENGTH,
    QuestionKind,
    QuestionRead,
    QuestionWrite,
)
from backend.services import members
from backend.services.jobs import JOB_NOT_FOUND
from backend.services.members import Need

KNOCKOUT_FIELDS = ("knockout_answer", "knockout_choices", "knockout_below", "knockout_above")


def _id(question: QuestionWrite) -> str:
    content = json.dumps(question.model_dump(mode="json"), sort_keys=True)
    return "q" + hashlib.sha256(content.encode()).hexdigest()[:12]


def parse(stored: list[Any] | None) -> list[QuestionRead]:
    """The questions a job's stored JSON holds (none when it holds nothing this version
    can read: never a failed read)."""
    try:
        return [QuestionRead.model_validate(item) for item in stored or ()]
    except ValidationError:
        return []


async def read(db: AsyncSession, *, user: Caller | None, job_id: int) -> list[QuestionRead]:
    """A job's screening questions, for anyone who may see the job (404 otherwise); the
    knock-out answers only for its owner and admins."""
    found, role = await members.job_access(db, user, job_id)
    owner = role is not None
    if found is None or not (found.public or owner):
        raise NotFound(JOB_NOT_FOUND)
    _, stored = await pipelines_repo.stored(db, job_id=job_id)
    questions = parse(stored)
    if owner:
        return questions
    return [q.model_copy(update=dict.fromkeys(KNOCKOUT_FIELDS)) for q in questions]


async def replace(
    db: AsyncSession, *, user: Caller, job_id: int, questions: list[QuestionWrite]
) -> list[QuestionRead]:
    """Replace a job's questions (its owner and admins; 404 for anyone else). Applications
    already made keep what they answered; one made from a form of the old questions is
    refused (see `answer`)."""
    _, role = await members.job_access(db, user, job_id, lock="update")
    members.required(role, Need.work, not_found=JOB_NOT_FOUND)
    prompts = [q.prompt.casefold() for q in questions]
    for index, prompt in enumerate(prompts):
        if prompts.index(prompt) != index:
            raise InvalidField(("body", "questions", index, "prompt"), "asked twice")
    stored = [{"id": _id(q), **q.model_dump(mode="json")} for q in questions]
    await pipelines_repo.set_questions(db, job_id=job_id, questions=stored)
    return parse(stored)


@dataclass(frozen=True, slots=True)
class Answered:
    """A candidate's answers, as the application keeps them, and whether any knocked it
    out."""

    answers: list[dict[str, Any]]
    knocked_out: bool


def _checked(question: QuestionRead, value: Any, at: tuple[str | int, ...]) -> Any:
    """The answer `value` to `question` as stored, or a 422 at `at`."""
    match question.kind:
        case QuestionKind.yes_no:
            if not isinstance(value, bool):
                raise InvalidField(at, "answer yes or no (true or false)")
        case QuestionKind.number:
            if isinstance(value, bool) or not isinstance(value, float | int):
                raise InvalidField(at, "answer with a number")
            if not math.isfinite(value):
                raise InvalidField(at, "answer with a finite number")
        case QuestionKind.choice:
            if value not in (question.choices or ()):
                raise InvalidField(at, "answer with one of the question's choices")
        case QuestionKind.text:
            if not isinstance(value, str) or not value.strip():
                raise InvalidField(at, "answer with some text")
            if len(value) > TEXT_ANSWER_MAX_LENGTH:
                raise InvalidField(at, f"at most {TEXT_ANSWER_MAX_LENGTH} characters")
    return value


def _knocks_out(question: QuestionRead, value: Any) -> bool:
    match question.kind:
        case QuestionKind.yes_no:
            return question.knockout_answer is not None and value == question.knockout_answer
        case QuestionKind.choice:
            return value in (question.knockout_choices or ())
        case QuestionKind.number:
            below, above = question.knockout_below, question.knockout_above
            return (below is not None and value < below) or (above is not None and value > above)
    return False


def answer(questions: list[QuestionRead], answers: dict[str, Any]) -> Answered:
    """Check a candidate's `answers` (by question id) against the job's questions as they
    are now: 422 for an answer to a question the job does not ask (now: a form built before
    the questions changed), a required question left unanswered, or an answer that does not
    fit its question."""
    at = ("body", "answers")
    asked = {question.id: question for question in questions}
    for key in answers:
        if key not in asked:
            raise InvalidField(
                (*at, key), "the job does not ask this (its questions changed: read them again)"
            )
    kept: list[dict[str, Any]] = []
    knocked_out = False
    for question in questions:
        value = answers.get(question.id)
        if value is None:
            if question.required:
                raise InvalidField((*at, question.id), "this question must be answered")
            out = False
        else:
            value = _checked(question, value, (*at, question.id))
            out = _knocks_out(question, value)
        knocked_out |= out
        kept.append(
            {
                "id": question.id,
                "kind": question.kind.value,
                "prompt": question.prompt,
                "answer": value,
                "knocked_out": out,
            }
        )
    return Answered(kept, knocked_out)


async def questions_now(db: AsyncSession, *, job_id: int) -> list[QuestionRead]:
    _, stored = await pipelines_repo.stored(db, job_id=job_id)
    return parse(stored)
