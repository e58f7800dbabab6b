"""Queries over applications."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, bindparam, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import Positioned
from backend.db.models import Application, ApplicationStatus, Company, Job, User
from backend.db.repository import base
from backend.db.repository.base import IdPosition, Lock

# The lists read an application's columns as a row (see base.all_rows).
APPLICATION_COLUMNS = tuple(Application.__table__.c)


async def create(
    session: AsyncSession, *, job_id: int, candidate_id: int, cover_letter: str | None
) -> Application:
    """Insert an application; a second one for the same job and candidate raises
    IntegrityError on uq_applications_job_id_candidate_id."""
    application = Application(
        job_id=job_id,
        candidate_id=candidate_id,
        cover_letter=cover_letter,
        owner_notify_pending=True,
    )
    session.add(application)
    await session.flush()
    return application


@dataclass(frozen=True, slots=True)
class ApplicationAccess:
    """An application and the owner of the job it is for."""

    application: Application
    job_owner_id: int


async def get_access(
    session: AsyncSession, *, application_id: int, lock: Lock = None
) -> ApplicationAccess | None:
    """An application and the owner of its job's company, in one query; locked if asked."""
    statement = (
        select(Application, Company.owner_id)
        .join(Job, Job.id == Application.job_id)
        .join(Company, Company.id == Job.company_id)
        .where(Application.id == application_id)
    )
    row = (await session.execute(base.locked(statement, lock, Application))).one_or_none()
    return None if row is None else ApplicationAccess(application=row[0], job_owner_id=row[1])


async def update(session: AsyncSession, *, application: Application, **values: object) -> None:
    """Set the given columns on an application."""
    await base.update(session, application, **values)


async def list_for_job(
    session: AsyncSession, *, job_id: int, limit: int, after: IdPosition | None = None
) -> Positioned[base.AnyRow, IdPosition]:
    """A job's applications, newest first, each with its candidate's name and address (as
    `candidate_name` and `candidate_email`), which the job's owner needs to reach them."""
    statement = (
        select(
            *APPLICATION_COLUMNS,
            User.full_name.label("candidate_name"),
            User.email.label("candidate_email"),
        )
        .join(User, User.id == Application.candidate_id)
        .where(Application.job_id == job_id)
        .order_by(Application.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(Application.id < after.id)
    return base.by_id(await base.all_rows(session, statement))


def _candidates_page(*, after: bool) -> base.Prepared:
    """A candidate's applications, newest first, compiled once (see base.Prepared): every
    candidate reads this list, and it has one shape."""
    statement = select(*APPLICATION_COLUMNS).where(
        Application.candidate_id == bindparam("candidate_id", type_=Application.candidate_id.type)
    )
    if after:
        statement = statement.where(
            Application.id < bindparam("after_id", type_=Application.id.type)
        )
    limit = bindparam("limit", type_=Integer)
    return base.Prepared(statement.order_by(Application.id.desc()).limit(limit))


_CANDIDATES_PAGE = _candidates_page(after=False)
_CANDIDATES_PAGE_AFTER = _candidates_page(after=True)


async def list_for_candidate(
    session: base.Reader, *, candidate_id: int, limit: int, after: IdPosition | None = None
) -> Positioned[base.AnyRow, IdPosition]:
    """A candidate's applications, newest first."""
    values = {"candidate_id": candidate_id, "limit": limit + 1}
    if after is None:
        return base.by_id(await base.all_rows(session, _CANDIDATES_PAGE, values))
    values["after_id"] = after.id
    return base.by_id(await base.all_rows(session, _CANDIDATES_PAGE_AFTER, values))


@dataclass(frozen=True, slots=True)
class NewApplicant:
    application_id: int
    name: str
    applied_at: datetime


async def pending_for_owner(session: AsyncSession, *, job_id: int) -> list[NewApplicant]:
    """A job's applications its owner has not been told of, oldest first (withdrawn ones
    left out)."""
    statement = (
        select(Application.id, User.full_name, Application.created_at)
        .join(User, User.id == Application.candidate_id)
        .where(
            Application.job_id == job_id,
            Application.owner_notify_pending,
            Application.status != ApplicationStatus.withdrawn,
        )
        .order_by(Application.id)
    )
    return [NewApplicant(*row) for row in await session.execute(statement)]


async def mark_owner_notified(session: AsyncSession, *, job_id: int, through_id: int) -> None:
    """The owner has been told of the job's applications up to `through_id`."""
    await session.execute(
        sql_update(Application)
        .where(
            Application.job_id == job_id,
            Application.owner_notify_pending,
            Application.id <= through_id,
        )
        .values(owner_notify_pending=False)
    )


@dataclass(frozen=True, slots=True)
class StatusNotice:
    """What the mail about an application's status says, and to whom."""

    candidate_id: int
    email: str
    name: str
    wants_it: bool
    job_title: str
    company: str


async def status_notice(session: AsyncSession, *, application_id: int) -> StatusNotice | None:
    statement = (
        select(
            User.id,
            User.email,
            User.full_name,
            User.notify_application_status & User.is_active,
            Job.title,
            Company.name,
        )
        .select_from(Application)
        .join(User, User.id == Application.candidate_id)
        .join(Job, Job.id == Application.job_id)
        .join(Company, Company.id == Job.company_id)
        .where(Application.id == application_id)
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else StatusNotice(*row)
