"""Queries over candidates' profiles."""

from typing import Any

from sqlalchemy import false, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import CandidateProfile, User
from backend.db.repository import base

# Each field, or what it reads as before the candidate first saves their profile.
_FIELDS = tuple(
    func.coalesce(column, empty).label(column.key)
    for column, empty in (
        (CandidateProfile.headline, literal("")),
        (CandidateProfile.summary, literal("")),
        (CandidateProfile.skills, literal([], CandidateProfile.skills.type)),
        (CandidateProfile.links, literal([], CandidateProfile.links.type)),
        (CandidateProfile.location, literal("")),
        (CandidateProfile.work_authorization, literal("")),
        (CandidateProfile.open_to_remote, false()),
    )
)


async def get(session: AsyncSession, *, user_id: int) -> base.AnyRow | None:
    """A user's name and profile (`user_id`, `full_name`, the fields, `updated_at`): empty
    fields and `updated_at` NULL for a user who never saved one; None when there is no such
    user."""
    statement = (
        select(User.id.label("user_id"), User.full_name, *_FIELDS, CandidateProfile.updated_at)
        .outerjoin(CandidateProfile, CandidateProfile.user_id == User.id)
        .where(User.id == user_id)
    )
    return await base.first(session, statement)


async def save(session: AsyncSession, *, user_id: int, values: dict[str, Any]) -> None:
    """Write a user's whole profile, creating it on first save."""
    statement = insert(CandidateProfile).values(user_id=user_id, **values)
    statement = statement.on_conflict_do_update(
        index_elements=[CandidateProfile.user_id],
        set_={**values, "updated_at": func.clock_timestamp()},
    )
    await session.execute(statement)
