"""Candidates' profiles: what a candidate says about themselves, which the employers of
the jobs they applied to read beside each application."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.exceptions import NotFound
from backend.db.repository import profiles as profiles_repo
from backend.db.repository.base import AnyRow
from backend.db.repository.sessions import Caller
from backend.services import applications

PROFILE_NOT_FOUND = "Profile not found."


async def read(db: AsyncSession, *, user_id: int) -> AnyRow:
    row = await profiles_repo.get(db, user_id=user_id)
    if row is None:
        raise NotFound(PROFILE_NOT_FOUND)
    return row


async def save(db: AsyncSession, *, candidate: Caller, values: dict[str, Any]) -> AnyRow:
    await profiles_repo.save(db, user_id=candidate.id, values=values)
    return await read(db, user_id=candidate.id)


async def of_applicant(
    db: AsyncSession, *, user: Caller, application_id: int
) -> tuple[AnyRow, bool]:
    """The profile of an application's candidate: for them, the job's owner and admins
    (404 for anyone else); the employer's side reading it has opened the application. And
    whether the job's blind first pass hides who it is from the caller."""
    application = await applications.get(db, user=user, application_id=application_id)
    profile = await read(db, user_id=application.candidate_id)
    return profile, await applications.masked_for(db, user=user, application=application)
