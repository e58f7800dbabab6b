"""Queries over applications."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import Positioned
from backend.db import hot
from backend.db.models import (
    Application,
    ApplicationStatus,
    CandidateProfile,
    Company,
    CompanyMember,
    Job,
    JobReviewSetting,
    JobStatus,
    MemberRole,
    Resume,
    User,
)
from backend.db.models.application import BLIND_STATUSES, FINAL_STATUSES
from backend.db.repository import base, members, users
from backend.db.repository.base import IdPosition, Lock
from backend.db.repository.resumes import SEARCH_CONFIG as RESUME_SEARCH

# The lists read an application's columns as a row (see base.all_rows).
APPLICATION_COLUMNS = tuple(Application.__table__.c)


@dataclass(frozen=True, slots=True)
class ApplicationRow:
    """An application's columns, as a candidate's list reads them (a hot read)."""

    id: int
    job_id: int
    candidate_id: int
    status: ApplicationStatus
    cover_letter: str | None
    viewed_at: datetime | None
    revealed_at: datetime | None
    rejection_reason: str | None
    stage: str | None
    resume_id: int | None
    owner_notify_pending: bool
    candidate_notify_pending: bool
    status_told: ApplicationStatus | None
    created_at: datetime
    updated_at: datetime
    # What the list shows of the job, so that it is one request: its title and company.
    job_title: str
    company_name: str


async def create(
    session: AsyncSession,
    *,
    job_id: int,
    candidate_id: int,
    cover_letter: str | None,
    resume_id: int | None = None,
) -> Application:
    """Insert an application; a second one for the same job and candidate raises
    IntegrityError on uq_applications_job_id_candidate_id."""
    application = Application(
        job_id=job_id,
        candidate_id=candidate_id,
        cover_letter=cover_letter,
        resume_id=resume_id,
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
    company_id: int
    # The role in the job's company of the member asked about, if any.
    member_role: MemberRole | None = None


async def get_access(
    session: AsyncSession, *, application_id: int, lock: Lock = None, member_id: int | None = None
) -> ApplicationAccess | None:
    """An application, the owner of its job's company, and `member_id`'s role in that
    company (if given), in one query; locked if asked."""
    role = (
        select(CompanyMember.role)
        .where(CompanyMember.company_id == Company.id, CompanyMember.user_id == member_id)
        .scalar_subquery()
    )
    statement = (
        select(Application, Company.owner_id, Company.id, role if member_id else null())
        .join(Job, Job.id == Application.job_id)
        .join(Company, Company.id == Job.company_id)
        .where(Application.id == application_id)
    )
    row = (await session.execute(base.locked(statement, lock, Application))).one_or_none()
    if row is None:
        return None
    return ApplicationAccess(
        application=row[0], job_owner_id=row[1], company_id=row[2], member_role=row[3]
    )


async def job_of(session: AsyncSession, *, application_id: int) -> int | None:
    """The id of the job an application is for (None: no such application)."""
    statement = select(Application.job_id).where(Application.id == application_id)
    row = await base.first(session, statement)
    return None if row is None else int(row[0])


async def lock_for_job(
    session: AsyncSession, *, job_id: int, application_ids: list[int]
) -> list[Application]:
    """These applications to the job (the others among `application_ids` left out), locked
    in id order until the transaction ends."""
    statement = (
        select(Application)
        .where(Application.job_id == job_id, Application.id.in_(application_ids))
        .order_by(Application.id)
        .with_for_update()
    )
    return list((await session.execute(statement)).scalars())


async def update(session: AsyncSession, *, application: Application, **values: object) -> None:
    """Set the given columns on an application."""
    await base.update(session, application, **values)


def job_stages() -> ScalarSelect[Any]:
    """The stored stages of an application's job (NULL: the default), read by the
    settings' primary key for each row, so that a list knows each row's stage at once."""
    return (
        select(JobReviewSetting.stages)
        .where(JobReviewSetting.job_id == Application.job_id)
        .scalar_subquery()
    )


def masked() -> ColumnElement[bool]:
    """Whether an application is hidden by its job's blind first pass: the job has one, the
    application is still in screening, and nobody revealed it."""
    # A scalar subquery, looked up by the settings' primary key for each row listed (an
    # EXISTS here may be planned as a hash of the whole table instead).
    blind = (
        select(JobReviewSetting.blind)
        .where(JobReviewSetting.job_id == Application.job_id)
        .scalar_subquery()
    )
    return and_(
        func.coalesce(blind, false()),
        Application.status.in_(BLIND_STATUSES),
        Application.revealed_at.is_(None),
    )


async def is_masked(session: AsyncSession, *, application_id: int) -> bool:
    row = await base.first(session, select(masked()).where(Application.id == application_id))
    return bool(row and row[0])


async def resume_masked_for(
    session: AsyncSession, *, resume_id: int, user_id: int, admin: bool
) -> bool:
    """Whether every application holding the résumé that the caller reviews (as the owner
    of its job's company, or as an admin) is hidden by a blind first pass."""
    reviewed = select(Application.id).where(Application.resume_id == resume_id)
    if not admin:
        reviewed = reviewed.join(Job, Job.id == Application.job_id).where(
            Job.company_id.in_(members.companies_of(user_id))
        )
    shown = reviewed.where(~masked())
    row = await base.first(session, select(~exists(shown)))
    return bool(row and row[0])


async def blind(session: AsyncSession, *, job_id: int) -> bool:
    statement = select(JobReviewSetting.blind).where(JobReviewSetting.job_id == job_id)
    row = await base.first(session, statement)
    return bool(row and row[0])


async def set_blind(session: AsyncSession, *, job_id: int, blind: bool) -> None:
    statement = insert(JobReviewSetting).values(job_id=job_id, blind=blind)
    statement = statement.on_conflict_do_update(
        index_elements=[JobReviewSetting.job_id],
        set_={"blind": blind, "updated_at": func.clock_timestamp()},
    )
    await session.execute(statement)


def _applicants() -> Select[Any]:
    """Applications, newest first, each with its candidate's name and address (as
    `candidate_name` and `candidate_email`), which the employer needs to reach them, and
    whether the job's blind first pass hides them (`masked`)."""
    return (
        select(
            *APPLICATION_COLUMNS,
            User.full_name.label("candidate_name"),
            User.email.label("candidate_email"),
            masked().label("masked"),
            job_stages().label("job_stages"),
        )
        .join(User, User.id == Application.candidate_id)
        .order_by(Application.id.desc())
    )


# How many of the newest applications in a list's scope a search of their résumés reads
# before it asks the résumés' index instead (see `_matching`).
SEARCH_WINDOW = 500


async def _matching(
    session: AsyncSession,
    *,
    scope: ColumnElement[bool],
    q: str,
    limit: int,
    after: IdPosition | None,
) -> list[int]:
    """The ids of the newest `limit` applications in `scope` (after `after`) whose résumé's
    text matches `q` (web search syntax), newest first.

    No one plan suits every word: a word most résumés hold is found at once by walking the
    newest applications, while a rare one is found by the résumés' index. The planner
    cannot tell them apart (its estimates for a tsquery are rough, and a prepared statement
    is planned once for all words), so the choice is made here, on what the first step
    finds: it reads the newest SEARCH_WINDOW applications in scope; when they hold enough
    matches, or are all there is, that is the answer; otherwise the index is asked first
    (a MATERIALIZED step: the matching résumés, then their applications in scope).
    """
    query = func.websearch_to_tsquery(literal_column(f"'{RESUME_SEARCH}'::regconfig"), q)
    matches = Resume.search.bool_op("@@")(query)
    conditions = [scope] if after is None else [scope, Application.id < after.id]
    recent = (
        select(Application.id, Application.resume_id)
        .where(*conditions)
        .order_by(Application.id.desc())
        .limit(SEARCH_WINDOW)
        .subquery()
    )
    found = select(recent.c.id).join(Resume, Resume.id == recent.c.resume_id).where(matches)
    ids = [
        row.id
        for row in await base.all_rows(session, found.order_by(recent.c.id.desc()).limit(limit))
    ]
    if len(ids) == limit:
        return ids
    seen = await base.first(session, select(func.count()).select_from(recent))
    if seen is None or seen[0] < SEARCH_WINDOW:
        return ids
    resumes = select(Resume.id).where(matches).cte("matching").prefix_with("MATERIALIZED")
    statement = (
        select(Application.id)
        .join(resumes, resumes.c.id == Application.resume_id)
        .where(*conditions)
        .order_by(Application.id.desc())
        .limit(limit)
    )
    return [row.id for row in await base.all_rows(session, statement)]


async def _applicant_page(
    session: AsyncSession,
    statement: Select[Any],
    *,
    scope: ColumnElement[bool],
    limit: int,
    after: IdPosition | None,
    q: str | None,
) -> Positioned[base.AnyRow, IdPosition]:
    """A page of `statement` (applicants) within `scope`; with `q`, those whose résumé
    matches it (see `_matching`)."""
    if q is not None:
        ids = await _matching(session, scope=scope, q=q, limit=limit + 1, after=after)
        statement = statement.where(Application.id.in_(ids))
    else:
        statement = statement.where(scope).limit(limit + 1)
        if after is not None:
            statement = statement.where(Application.id < after.id)
    return base.by_id(await base.all_rows(session, statement))


async def list_for_job(
    session: AsyncSession,
    *,
    job_id: int,
    limit: int,
    after: IdPosition | None = None,
    q: str | None = None,
) -> Positioned[base.AnyRow, IdPosition]:
    """A job's applications (see `_applicants` and `_applicant_page`)."""
    scope = Application.job_id == job_id
    return await _applicant_page(session, _applicants(), scope=scope, limit=limit, after=after, q=q)


async def list_for_owner(
    session: AsyncSession,
    *,
    member_id: int,
    limit: int,
    after: IdPosition | None = None,
    q: str | None = None,
) -> Positioned[base.AnyRow, IdPosition]:
    """The applications to the jobs of every company `member_id` is a member of (see
    `_applicants` and `_applicant_page`), each with its job's title (`job_title`)."""
    owned = select(Job.id).where(Job.company_id.in_(members.companies_of(member_id)))
    scope = Application.job_id.in_(owned)
    statement = (
        _applicants()
        .add_columns(Job.title.label("job_title"))
        .join(Job, Job.id == Application.job_id)
    )
    return await _applicant_page(session, statement, scope=scope, limit=limit, after=after, q=q)


def _candidates_page(*, after: bool) -> hot.HotRead[ApplicationRow]:
    """A candidate's applications, newest first: a hot read (see backend.db.hot); every
    candidate reads this list, and it has one shape."""
    statement = (
        select(
            *APPLICATION_COLUMNS,
            Job.title.label("job_title"),
            Company.name.label("company_name"),
        )
        .join(Job, Job.id == Application.job_id)
        .join(Company, Company.id == Job.company_id)
        .where(
            Application.candidate_id
            == bindparam("candidate_id", type_=Application.candidate_id.type)
        )
    )
    if after:
        statement = statement.where(
            Application.id < bindparam("after_id", type_=Application.id.type)
        )
    limit = bindparam("limit", type_=Integer)
    return hot.HotRead(statement.order_by(Application.id.desc()).limit(limit), ApplicationRow)


_CANDIDATES_PAGE = _candidates_page(after=False)
_CANDIDATES_PAGE_AFTER = _candidates_page(after=True)


async def list_for_candidate(
    reader: hot.Reader, *, candidate_id: int, limit: int, after: IdPosition | None = None
) -> Positioned[ApplicationRow, IdPosition]:
    """A candidate's applications, newest first."""
    values = {"candidate_id": candidate_id, "limit": limit + 1}
    if after is None:
        return base.by_id(await hot.every(reader, _CANDIDATES_PAGE, values))
    values["after_id"] = after.id
    return base.by_id(await hot.every(reader, _CANDIDATES_PAGE_AFTER, values))


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
class StatusChange:
    """An application whose candidate has not been told of its latest status."""

    application_id: int
    status: ApplicationStatus
    # What the candidate was last told (None: nothing since they applied).
    status_told: ApplicationStatus | None
    job_title: str
    company: str


@dataclass(frozen=True, slots=True)
class Recipient:
    """Whom a mail to a user goes to, and whether they get mail of this kind."""

    email: str
    name: str
    wants_it: bool
    generation: int


async def lock_status_changes(session: AsyncSession, *, candidate_id: int) -> list[StatusChange]:
    """A candidate's applications marked as changed since their last status mail, oldest
    first, locked until the transaction ends (a status change waits for the mail)."""
    statement = (
        select(Application.id, Application.status, Application.status_told, Job.title, Company.name)
        .join(Job, Job.id == Application.job_id)
        .join(Company, Company.id == Job.company_id)
        .where(Application.candidate_id == candidate_id, Application.candidate_notify_pending)
        .order_by(Application.id)
        .with_for_update(of=Application)
    )
    return [StatusChange(*row) for row in await session.execute(statement)]


async def mark_candidate_told(session: AsyncSession, *, application_ids: list[int]) -> None:
    """The candidate now knows these applications' statuses."""
    await session.execute(
        sql_update(Application)
        .where(Application.id.in_(application_ids))
        .values(candidate_notify_pending=False, status_told=Application.status)
    )


async def mark_candidate_pending(session: AsyncSession, *, application_id: int) -> int | None:
    """Mark an application as changed since the candidate's last status mail; its
    candidate's id, or None when it is gone."""
    statement = (
        sql_update(Application)
        .where(Application.id == application_id)
        .values(candidate_notify_pending=True)
        .returning(Application.candidate_id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def status_recipient(session: AsyncSession, *, candidate_id: int) -> Recipient | None:
    statement = select(
        User.email,
        User.full_name,
        User.notify_application_status & users.MAILABLE,
        User.security_generation,
    ).where(User.id == candidate_id)
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else Recipient(*row)


@dataclass(frozen=True, slots=True)
class ClosingNotice:
    """An application still under way on a job that closed, and whom to tell."""

    application_id: int
    candidate_id: int
    email: str
    name: str
    wants_it: bool
    generation: int


async def closed_job(session: AsyncSession, *, job_id: int) -> tuple[str, str] | None:
    """A job's title and company name while it is closed; None otherwise (reopened, gone)."""
    statement = (
        select(Job.title, Company.name)
        .join(Company, Company.id == Job.company_id)
        .where(Job.id == job_id, Job.status == JobStatus.closed)
    )
    row = await base.first(session, statement)
    return None if row is None else (row[0], row[1])


async def under_way(session: AsyncSession, *, job_id: int) -> list[ClosingNotice]:
    """The job's applications that no final status ended, with their candidates."""
    statement = (
        select(
            Application.id,
            Application.candidate_id,
            User.email,
            User.full_name,
            User.notify_application_status & users.MAILABLE,
            User.security_generation,
        )
        .join(User, User.id == Application.candidate_id)
        .where(Application.job_id == job_id, Application.status.not_in(FINAL_STATUSES))
        .order_by(Application.id)
    )
    return [ClosingNotice(*row) for row in await base.all_rows(session, statement)]


async def export_batch(
    session: AsyncSession, *, job_id: int, after_id: int, limit: int
) -> list[base.AnyRow]:
    """The next `limit` applications to a job after `after_id`, oldest first, with what a
    spreadsheet of them shows: the candidate's name, address and headline, the résumé's
    file name."""
    statement = (
        select(
            Application.id,
            Application.created_at,
            Application.status,
            Application.stage,
            User.full_name,
            User.email,
            CandidateProfile.headline,
            Resume.file_name,
            Application.viewed_at,
            Application.rejection_reason,
            Application.cover_letter,
            masked().label("masked"),
        )
        .join(User, User.id == Application.candidate_id)
        .outerjoin(CandidateProfile, CandidateProfile.user_id == Application.candidate_id)
        .outerjoin(Resume, Resume.id == Application.resume_id)
        .where(Application.job_id == job_id, Application.id > after_id)
        .order_by(Application.id)
        .limit(limit)
    )
    return list(await base.all_rows(session, statement))


async def counts_for_owner(
    session: AsyncSession, *, member_id: int, limit: int, after: IdPosition | None
) -> tuple[Positioned[base.AnyRow, IdPosition], list[base.AnyRow]]:
    """The jobs of the companies `member_id` is a member of that have applications, newest
    first (a page of rows with an `id` and their stored stages, `job_stages`), and for them
    `(job_id, status, stage, count)` rows."""
    stored = (
        select(JobReviewSetting.stages)
        .where(JobReviewSetting.job_id == Job.id)
        .scalar_subquery()
        .label("job_stages")
    )
    jobs = (
        select(Job.id, stored)
        .where(
            Job.company_id.in_(members.companies_of(member_id)),
            exists().where(Application.job_id == Job.id),
        )
        .order_by(Job.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        jobs = jobs.where(Job.id < after.id)
    page = base.by_id(await base.all_rows(session, jobs))
    ids = [row.id for row in page.items[:limit]]
    counts = (
        select(
            Application.job_id, Application.status, Application.stage, func.count().label("count")
        )
        .where(Application.job_id.in_(ids))
        .group_by(Application.job_id, Application.status, Application.stage)
    )
    return page, list(await base.all_rows(session, counts))


@dataclass(frozen=True, slots=True)
class MailFacts:
    """What a mail about one application says, and whom it goes to."""

    application_id: int
    candidate_id: int
    status: ApplicationStatus
    email: str
    name: str
    wants_it: bool  # mailable, and they take mails of their applications' news
    generation: int
    job_title: str
    company: str


async def mail_facts(session: AsyncSession, *, application_id: int) -> MailFacts | None:
    statement = (
        select(
            Application.id,
            Application.candidate_id,
            Application.status,
            User.email,
            User.full_name,
            User.notify_application_status & users.MAILABLE,
            User.security_generation,
            Job.title,
            Company.name,
        )
        .join(User, User.id == Application.candidate_id)
        .join(Job, Job.id == Application.job_id)
        .join(Company, Company.id == Job.company_id)
        .where(Application.id == application_id)
    )
    row = await base.first(session, statement)
    return None if row is None else MailFacts(*row)
