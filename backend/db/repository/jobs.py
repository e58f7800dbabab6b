"""Queries over jobs: who may see a job, changes, and the keyset-paginated public search."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    null,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from backend.core.pagination import Positioned
from backend.db import hot
from backend.db.models import (
    Company,
    CompanyMember,
    EmploymentType,
    Job,
    JobExpiryNotice,
    JobStatus,
    MemberRole,
    User,
    Workplace,
)
from backend.db.repository import base, members, users
from backend.db.repository.base import IdPosition, Lock

SEARCH_CONFIG = "english"

# The lists read a job's columns as a row (attributes named as Job's), through
# `base.all_rows`: no ORM object is built for a page nobody changes. Never the search
# vector nor the description's plain text (the index's), nor its digest (the triggers'),
# nor the signals it raised (moderators read them: repository.moderation), nor when its
# employer was asked to confirm it open (backend.services.open_checks), nor the id an
# applicant-tracking system gives it (its employer's: services.ats).
JobRow: TypeAlias = Any
_NEVER_READ = frozenset(
    {
        "search",
        "description_text",
        "rendered_from",
        "signals",
        "open_check_sent_at",
        "external_id",
    }
)
JOB_COLUMNS = tuple(column for column in Job.__table__.c if column.key not in _NEVER_READ)
# What lists show beside each job: its company's name, read per row of the page (a
# subquery on the companies' primary key, run for the rows the page returns).
COMPANY_NAME = (
    select(Company.name).where(Company.id == Job.company_id).scalar_subquery().label("company_name")
)
COMPANY_VERIFIED = (
    select(Company.verified_at.is_not(None))
    .where(Company.id == Job.company_id)
    .scalar_subquery()
    .label("company_verified")
)
LISTED_COLUMNS = (*JOB_COLUMNS, COMPANY_NAME, COMPANY_VERIFIED)


@dataclass(frozen=True, slots=True)
class JobListed:
    """A job's columns as the hot reads read them (`LISTED_COLUMNS`)."""

    id: int
    company_id: int
    title: str
    description: str
    description_html: str | None
    location: str
    workplace: Workplace
    employment_type: EmploymentType
    salary_min: int | None
    salary_max: int | None
    salary_currency: str | None
    tags: list[str]
    status: JobStatus
    expires_at: datetime | None
    published_at: datetime | None
    submitted_at: datetime | None
    confirmed_open_at: datetime | None
    created_at: datetime
    updated_at: datetime
    company_name: str
    company_verified: bool


@dataclass(frozen=True, slots=True)
class JobPage(JobListed):
    """A job as its page reads it (a hot read), with who owns it and whether the public
    may see it (`publicly_visible`)."""

    company_website: str | None
    owner_id: int
    public: bool


def publicly_visible() -> ColumnElement[bool]:
    """Published and not expired: what everyone but the owner and admins may see.

    The one definition of a job's visibility: the lists filter on it, and the loaders
    return it beside the job.
    """
    return and_(
        Job.status == JobStatus.published,
        or_(Job.expires_at.is_(None), Job.expires_at > func.now()),
    )


@dataclass(frozen=True, slots=True)
class JobAccess:
    """A job, who owns it, and whether the public may see it (`publicly_visible`); and the
    role in its company of the member asked about, if any."""

    job: Job
    owner_id: int
    public: bool
    member_role: MemberRole | None = None


def _with_access(*columns: Any) -> Select[Any]:
    """`columns` of a job with who owns it and whether the public may see it: the one
    definition of a job's access, for its page (a hot read) and for the loader that
    changes it."""
    return select(*columns, Company.owner_id, publicly_visible().label("public")).join(
        Company, Company.id == Job.company_id
    )


async def get_access(
    session: AsyncSession, *, job_id: int, lock: Lock = None, member_id: int | None = None
) -> JobAccess | None:
    """A job with its owner and public visibility, and `member_id`'s role in its company
    (if given), in one query; locked if asked."""
    role = (
        select(CompanyMember.role)
        .where(CompanyMember.company_id == Job.company_id, CompanyMember.user_id == member_id)
        .scalar_subquery()
    )
    statement = (
        _with_access(Job, role if member_id is not None else null())
        .where(Job.id == job_id)
        .options(contains_eager(Job.company))
    )
    row = (await session.execute(base.locked(statement, lock, Job))).one_or_none()
    if row is None:
        return None
    return JobAccess(job=row[0], owner_id=row[2], public=bool(row[3]), member_role=row[1])


# A job page, read by everyone: a hot read (see backend.db.hot).
JOB_PAGE = hot.HotRead(
    _with_access(
        *JOB_COLUMNS,
        Company.name.label("company_name"),
        Company.verified_at.is_not(None).label("company_verified"),
        Company.website.label("company_website"),
    ).where(Job.id == bindparam("job_id", type_=Job.id.type)),
    JobPage,
)


async def read_access(reader: hot.Reader, *, job_id: int) -> JobPage | None:
    """For reading only: a job's columns, with `owner_id` and `public` (as `get_access`
    tells them), in one query; None if there is no such job."""
    return await hot.one(reader, JOB_PAGE, {"job_id": job_id})


async def create(session: AsyncSession, *, company: Company, **values: object) -> Job:
    """Insert a job of `company`; its search vector is filled by trigger."""
    job = Job(company=company, **values)
    session.add(job)
    await session.flush()
    return job


async def create_many(session: AsyncSession, *, rows: list[dict[str, Any]]) -> list[Job]:
    """Insert jobs with external ids in one statement, each unless its company has a job
    with its id already (made meanwhile: the unique index decides); those inserted, their
    companies loaded, in id order."""
    statement = (
        insert(Job)
        .on_conflict_do_nothing(
            index_elements=[Job.company_id, Job.external_id],
            index_where=Job.external_id.is_not(None),
        )
        .returning(Job.id)
    )
    ids = list((await session.execute(statement, rows)).scalars())
    if not ids:
        return []
    loaded = (
        select(Job)
        .join(Company, Company.id == Job.company_id)
        .options(contains_eager(Job.company))
        .where(Job.id.in_(ids))
        .order_by(Job.id)
    )
    return list((await session.execute(loaded)).scalars())


async def update(session: AsyncSession, *, job: Job, **values: object) -> Job:
    """Set the given columns on a job."""
    return await base.update(session, job, **values)


async def delete_job(session: AsyncSession, *, job_id: int) -> None:
    """Delete a job; its applications go with it (ON DELETE CASCADE)."""
    await session.execute(delete(Job).where(Job.id == job_id))


async def list_owned(
    session: AsyncSession, *, member_id: int, limit: int, after: IdPosition | None = None
) -> Positioned[Job, IdPosition]:
    """Jobs of every company `member_id` is a member of, in every status, newest first."""
    statement = (
        select(Job)
        .join(Company, Company.id == Job.company_id)
        .options(contains_eager(Job.company))
        .where(Job.company_id.in_(members.companies_of(member_id)))
        .order_by(Job.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(Job.id < after.id)
    return base.by_id((await session.execute(statement)).scalars())


async def company_of(session: AsyncSession, *, job_id: int) -> int | None:
    """The id of the company a job is for (None: no such job)."""
    row = await base.first(session, select(Job.company_id).where(Job.id == job_id))
    return None if row is None else int(row[0])


async def last_id(session: AsyncSession) -> int:
    """The highest job id there is (0 for none): the end of the sitemap's id ranges, read
    from the primary key's index."""
    row = await base.first(session, select(func.coalesce(func.max(Job.id), 0)))
    return int(row[0]) if row is not None else 0


async def visible_in_id_range(
    session: AsyncSession, *, first: int, last: int
) -> Sequence[base.AnyRow]:
    """The id and last change of each visible job with `first <= id <= last`, by id: one
    range of the primary key, however many jobs there are."""
    statement = (
        select(Job.id, Job.updated_at)
        .where(Job.id >= first, Job.id <= last, publicly_visible())
        .order_by(Job.id)
    )
    return await base.all_rows(session, statement)


async def by_external_id(
    session: AsyncSession, *, company_id: int, external_id: str, lock: Lock = None
) -> Job | None:
    """A company's job with this external id (locked if asked), its company loaded."""
    statement = (
        select(Job)
        .join(Company, Company.id == Job.company_id)
        .where(Job.company_id == company_id, Job.external_id == external_id)
        .options(contains_eager(Job.company))
    )
    return (await session.execute(base.locked(statement, lock, Job))).scalar_one_or_none()


async def external_ids_taken(
    session: AsyncSession, *, company_id: int, external_ids: list[str]
) -> set[str]:
    """Which of the external ids a company's jobs have already."""
    statement = select(Job.external_id).where(
        Job.company_id == company_id, Job.external_id.in_(external_ids)
    )
    return {row[0] for row in await base.all_rows(session, statement)}


async def feed_batch(
    session: AsyncSession, *, after_id: int, limit: int, company_id: int | None = None
) -> Sequence[base.AnyRow]:
    """The next `limit` visible jobs after `after_id` by id (of one company, if given), with
    what a feed for job aggregators shows of each: one range of the primary key a batch."""
    statement = (
        select(
            Job.id,
            Job.title,
            Job.description,
            Job.description_html,
            Job.location,
            Job.workplace,
            Job.employment_type,
            Job.salary_min,
            Job.salary_max,
            Job.salary_currency,
            Job.tags,
            Job.published_at,
            Job.updated_at,
            Job.expires_at,
            Company.name.label("company_name"),
        )
        .join(Company, Company.id == Job.company_id)
        .where(Job.id > after_id, publicly_visible())
        .order_by(Job.id)
        .limit(limit)
    )
    if company_id is not None:
        statement = statement.where(Job.company_id == company_id)
    return await base.all_rows(session, statement)


@dataclass(frozen=True, slots=True)
class OwnerNotice:
    """Whom the mail about a job's new applicants goes to, and what it names."""

    owner_id: int
    email: str
    name: str
    # The owner gets these mails (they are on, and the account may be mailed).
    wants_it: bool
    generation: int
    job_title: str


async def owner_notice(session: AsyncSession, *, job_id: int) -> OwnerNotice | None:
    statement = (
        select(
            User.id,
            User.email,
            User.full_name,
            User.notify_new_applicants & users.MAILABLE,
            User.security_generation,
            Job.title,
        )
        .select_from(Job)
        .join(Company, Company.id == Job.company_id)
        .join(User, User.id == Company.owner_id)
        .where(Job.id == job_id)
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else OwnerNotice(*row)


@dataclass(frozen=True, slots=True)
class HeldNotice:
    """Whom the mail about a job held for review goes to, and since when it is held."""

    email: str
    name: str
    may_mail: bool
    job_title: str
    # When it was last held (None unless it is held now).
    submitted_at: datetime | None


async def held_notice(session: AsyncSession, *, job_id: int) -> HeldNotice | None:
    statement = (
        select(
            User.email,
            User.full_name,
            users.MAILABLE,
            Job.title,
            case((Job.status == JobStatus.pending, Job.submitted_at)),
        )
        .select_from(Job)
        .join(Company, Company.id == Job.company_id)
        .join(User, User.id == Company.owner_id)
        .where(Job.id == job_id)
    )
    row = (await session.execute(statement)).one_or_none()
    if row is None:
        return None
    return HeldNotice(
        email=row[0], name=row[1], may_mail=bool(row[2]), job_title=row[3], submitted_at=row[4]
    )


async def record_expiry_notices(
    session: AsyncSession,
    *,
    until: datetime,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> list[tuple[int, datetime]]:
    """Record, for at most `limit` visible jobs that expire by `until` (after the job at
    `after`, its expiry and id, in that order), that their owner is told of that expiry;
    the (job id, expiry) of each recorded, none twice for one date.

    The jobs come from the published expiry-date index, from now (or `after`) to `until`,
    in expiry order: a run of batches walks the range once, each batch from where the last
    one's last job was. A job whose date changed since its last notice is recorded again.
    Two runs at once record each job once: the second's insert waits for the first's row,
    then finds that date told.
    """
    notices = JobExpiryNotice.__table__.c
    told = (
        select(notices.job_id)
        .where(notices.job_id == Job.id, notices.expires_at == Job.expires_at)
        .exists()
    )
    due = (
        # publicly_visible() for a job with an expiry date, written as the index's range.
        select(Job.id, Job.expires_at)
        .where(
            Job.status == JobStatus.published,
            Job.expires_at > func.now(),
            Job.expires_at <= until,
            ~told,
        )
        .order_by(Job.expires_at, Job.id)
        .limit(limit)
    )
    if after is not None:
        due = due.where(Job.expires_at >= after[0], tuple_(Job.expires_at, Job.id) > after)
    upsert = insert(JobExpiryNotice).from_select(["job_id", "expires_at"], due)
    statement = upsert.on_conflict_do_update(
        index_elements=[notices.job_id],
        set_={"expires_at": upsert.excluded.expires_at, "noticed_at": func.now()},
        where=notices.expires_at != upsert.excluded.expires_at,
    ).returning(notices.job_id, notices.expires_at)
    return [(row.job_id, row.expires_at) for row in await session.execute(statement)]


async def purge_expiry_notices(session: AsyncSession, *, expired_before: datetime) -> int:
    """Forget the notices of expiry dates long past (a job past them is told nothing)."""
    result = await session.execute(
        delete(JobExpiryNotice).where(JobExpiryNotice.expires_at < expired_before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ExpiryNotice:
    """Whom the mail about a job's coming expiry goes to, and what it names."""

    owner_id: int
    email: str
    name: str
    wants_it: bool
    generation: int
    job_title: str
    company: str
    expires_at: datetime | None
    published: bool


async def expiry_notice(session: AsyncSession, *, job_id: int) -> ExpiryNotice | None:
    statement = (
        select(
            User.id,
            User.email,
            User.full_name,
            User.notify_job_expiry & users.MAILABLE,
            User.security_generation,
            Job.title,
            Company.name,
            Job.expires_at,
            Job.status == JobStatus.published,
        )
        .select_from(Job)
        .join(Company, Company.id == Job.company_id)
        .join(User, User.id == Company.owner_id)
        .where(Job.id == job_id)
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else ExpiryNotice(*row)
