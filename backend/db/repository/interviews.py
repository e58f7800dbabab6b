"""Queries over interviews."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Application, Company, Interview, InterviewState, Job, User
from backend.db.repository import base, users
from backend.db.repository.base import Lock


async def create(session: AsyncSession, **values: object) -> Interview:
    interview = Interview(**values)
    session.add(interview)
    await session.flush()
    return interview


async def get(session: AsyncSession, *, interview_id: int, lock: Lock = None) -> Interview | None:
    statement = base.locked(select(Interview).where(Interview.id == interview_id), lock)
    return (await session.execute(statement)).scalar_one_or_none()


async def update(session: AsyncSession, *, interview: Interview, **values: object) -> None:
    await base.update(session, interview, **values)


async def still_on(session: AsyncSession, *, application_id: int) -> list[Interview]:
    """An application's interviews still to come (proposed or accepted, in the future),
    locked in id order until the transaction ends."""
    statement = (
        select(Interview)
        .where(
            Interview.application_id == application_id,
            Interview.state.in_((InterviewState.proposed.value, InterviewState.accepted.value)),
            Interview.starts_at > func.now(),
        )
        .order_by(Interview.id)
        .with_for_update()
    )
    return list((await session.execute(statement)).scalars())


async def for_application(session: AsyncSession, *, application_id: int) -> list[Interview]:
    """An application's interviews, oldest first (a handful: no paging)."""
    statement = (
        select(Interview).where(Interview.application_id == application_id).order_by(Interview.id)
    )
    return list((await session.execute(statement)).scalars())


@dataclass(frozen=True, slots=True)
class InvitationFacts:
    """What an interview's mail says, and whom it goes to."""

    interview_id: int
    sequence: int
    state: str
    starts_at: datetime
    minutes: int
    location: str
    note: str
    email: str
    name: str
    mailable: bool
    job_title: str
    company: str


async def invitation_facts(session: AsyncSession, *, interview_id: int) -> InvitationFacts | None:
    statement = (
        select(
            Interview.id,
            Interview.sequence,
            Interview.state,
            Interview.starts_at,
            Interview.minutes,
            Interview.location,
            Interview.note,
            User.email,
            User.full_name,
            users.MAILABLE,
            Job.title,
            Company.name,
        )
        .join(Application, Application.id == Interview.application_id)
        .join(User, User.id == Application.candidate_id)
        .join(Job, Job.id == Application.job_id)
        .join(Company, Company.id == Job.company_id)
        .where(Interview.id == interview_id)
    )
    row = await base.first(session, statement)
    return None if row is None else InvitationFacts(*row)
