"""Queries over a job's review settings: its pipeline's stages and its screening questions
(both JSON in `job_review_settings`), and the applications in each stage."""

from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Application, ApplicationAnswers, ApplicationStatus, JobReviewSetting
from backend.db.repository import base


async def stored(
    session: AsyncSession, *, job_id: int
) -> tuple[list[Any] | None, list[Any] | None]:
    """A job's stored stages and questions (None for either: the default)."""
    statement = select(JobReviewSetting.stages, JobReviewSetting.questions).where(
        JobReviewSetting.job_id == job_id
    )
    row = await base.first(session, statement)
    return (None, None) if row is None else (row[0], row[1])


async def stored_stages(session: AsyncSession, *, job_ids: list[int]) -> dict[int, list[Any]]:
    """The stored stages of those of the jobs that have their own."""
    if not job_ids:
        return {}
    statement = select(JobReviewSetting.job_id, JobReviewSetting.stages).where(
        JobReviewSetting.job_id.in_(job_ids), JobReviewSetting.stages.is_not(None)
    )
    return {row[0]: row[1] for row in await base.all_rows(session, statement)}


async def _upsert(session: AsyncSession, *, job_id: int, **values: object) -> None:
    statement = insert(JobReviewSetting).values(job_id=job_id, **values)
    statement = statement.on_conflict_do_update(
        index_elements=[JobReviewSetting.job_id],
        set_={**values, "updated_at": func.clock_timestamp()},
    )
    await session.execute(statement)


async def set_stages(session: AsyncSession, *, job_id: int, stages: list[Any]) -> None:
    """Store a job's stages."""
    await _upsert(session, job_id=job_id, stages=stages)


async def set_questions(session: AsyncSession, *, job_id: int, questions: list[Any]) -> None:
    """Store a job's screening questions."""
    await _upsert(session, job_id=job_id, questions=questions)


async def stage_counts(
    session: AsyncSession, *, job_id: int
) -> list[tuple[ApplicationStatus, str | None, int]]:
    """How many of a job's applications are in each status and stored stage key."""
    statement = (
        select(Application.status, Application.stage, func.count())
        .where(Application.job_id == job_id)
        .group_by(Application.status, Application.stage)
    )
    return [(row[0], row[1], row[2]) for row in await base.all_rows(session, statement)]


async def save_answers(session: AsyncSession, *, application_id: int, answers: list[Any]) -> None:
    session.add(ApplicationAnswers(application_id=application_id, answers=answers))
    await session.flush()


async def answers(session: AsyncSession, *, application_id: int) -> list[Any] | None:
    statement = select(ApplicationAnswers.answers).where(
        ApplicationAnswers.application_id == application_id
    )
    row = await base.first(session, statement)
    return None if row is None else row[0]


async def pin(
    session: AsyncSession,
    *,
    job_id: int,
    status: ApplicationStatus,
    key: str,
    known: list[str],
) -> None:
    """Store `key` on the job's applications of `status` that store none of the `known`
    keys (and so are in the first stage of their status, which `key` names until the
    transaction commits a new pipeline). Not a change of theirs: their ETags stay."""
    statement = (
        update(Application)
        .where(
            Application.job_id == job_id,
            Application.status == status,
            or_(Application.stage.is_(None), Application.stage.not_in(known)),
        )
        .values(stage=key, updated_at=Application.updated_at)
    )
    await session.execute(statement)
