"""Queries of moderation: the queue of held jobs, a poster's record, and the decisions."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AwareDatetime, Field
from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    cast,
    column,
    delete,
    func,
    insert,
    select,
    true,
    tuple_,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.core.cursor import CursorId, Position
from backend.core.pagination import Positioned
from backend.db.models import (
    BannedDomain,
    Company,
    Decision,
    Job,
    JobComment,
    JobDecision,
    JobReport,
    JobRevision,
    JobStatus,
    ReportReason,
    Role,
    User,
)
from backend.db.models.company import DOMAIN_MAX_LENGTH
from backend.db.repository import base
from backend.db.repository.jobs import JOB_COLUMNS

# Reposts are looked for among the jobs of this many days.
REPOST_DAYS = 90


@dataclass(frozen=True, slots=True)
class Record:
    """A poster's history with the moderators: jobs of theirs approved, and rejected."""

    approved: int
    rejected: int


def _record_columns(poster_id: Any) -> tuple[Any, Any]:
    decided = select(JobDecision.job_id).where(JobDecision.poster_id == poster_id)
    approved = (
        decided.where(JobDecision.decision == Decision.approved)
        .with_only_columns(func.count(func.distinct(JobDecision.job_id)))
        .scalar_subquery()
    )
    rejected = (
        decided.where(JobDecision.decision == Decision.rejected)
        .with_only_columns(func.count())
        .scalar_subquery()
    )
    return approved.label("approved"), rejected.label("rejected")


async def record_of(session: AsyncSession, *, poster_id: int) -> Record:
    row = await base.first(session, select(*_record_columns(poster_id)))
    assert row is not None  # a select of aggregates alone has one row
    return Record(approved=row.approved, rejected=row.rejected)


def _open_reports(job_id: Any) -> Any:
    return and_(JobReport.job_id == job_id, JobReport.resolved_at.is_(None))


def _open_report_count(job_id: Any) -> Any:
    """How many people have an open report of the job that can hold it (not "filled")."""
    reporters = func.coalesce(cast(JobReport.reporter_id, String), JobReport.address_key)
    return (
        select(func.count(func.distinct(reporters)))
        .where(_open_reports(job_id), JobReport.reason != ReportReason.filled)
        .scalar_subquery()
    )


class QueuePosition(Position):
    """The position in the queue: held the longest first."""

    submitted_at: AwareDatetime
    id: CursorId


# What a moderator sees of a held job's poster and company beside the job.
_POSTER_COLUMNS = (
    Company.name.label("company_name"),
    Company.website.label("company_website"),
    Company.review_policy.label("company_review_policy"),
    Company.verified_at.is_not(None).label("company_verified"),
    Company.verified_domain.label("company_verified_domain"),
    Company.created_at.label("company_created_at"),
    User.id.label("poster_id"),
    User.email.label("poster_email"),
    User.full_name.label("poster_name"),
    User.created_at.label("poster_since"),
    User.email_verified_at.label("poster_verified_at"),
    *_record_columns(User.id),
    _open_report_count(Job.id).label("open_reports"),
)


def _reviewed(*conditions: Any) -> Any:
    return (
        select(*JOB_COLUMNS, Job.signals, *_POSTER_COLUMNS)
        .join(Company, Company.id == Job.company_id)
        .join(User, User.id == Company.owner_id)
        .where(*conditions)
    )


async def queue(
    session: AsyncSession, *, limit: int, after: QueuePosition | None
) -> Positioned[base.AnyRow, QueuePosition]:
    """The jobs held for review, the longest held first, each with its company, its poster
    and the poster's record (through the queue's partial index)."""
    statement = _reviewed(Job.status == JobStatus.pending).order_by(Job.submitted_at, Job.id)
    if after is not None:
        statement = statement.where(
            tuple_(Job.submitted_at, Job.id) > tuple_(after.submitted_at, after.id)
        )
    rows = await base.all_rows(session, statement.limit(limit + 1))
    return Positioned(
        rows, lambda index: QueuePosition(submitted_at=rows[index].submitted_at, id=rows[index].id)
    )


async def reviewed_job(session: AsyncSession, *, job_id: int) -> base.AnyRow | None:
    """One job in any status, as the queue shows it."""
    return await base.first(session, _reviewed(Job.id == job_id))


async def decisions(session: AsyncSession, *, job_id: int) -> Sequence[base.AnyRow]:
    """A job's decisions, oldest first, with the deciding moderator's name where the
    account remains."""
    statement = (
        select(
            JobDecision.id,
            JobDecision.decision,
            JobDecision.reasons,
            JobDecision.note,
            JobDecision.created_at,
            JobDecision.moderator_id,
            User.full_name.label("moderator_name"),
        )
        .outerjoin(User, User.id == JobDecision.moderator_id)
        .where(JobDecision.job_id == job_id)
        .order_by(JobDecision.id)
    )
    return await base.all_rows(session, statement)


async def record_decision(
    session: AsyncSession,
    *,
    job_id: int,
    moderator_id: int,
    poster_id: int,
    decision: Decision,
    reasons: list[str],
    note: str,
) -> int:
    """Write a decision; its id."""
    statement = (
        insert(JobDecision)
        .values(
            job_id=job_id,
            moderator_id=moderator_id,
            poster_id=poster_id,
            decision=decision,
            reasons=reasons,
            note=note,
        )
        .returning(JobDecision.id)
    )
    return int((await session.execute(statement)).scalar_one())


@dataclass(frozen=True, slots=True)
class DecisionNotice:
    """What the mail telling a poster of a decision needs."""

    decision: Decision | None
    reasons: list[str]
    note: str
    job_id: int
    job_title: str
    email: str
    name: str
    # Only a confirmed, active account is mailed.
    may_mail: bool


async def _notice(
    session: AsyncSession, record: type[JobDecision] | type[JobRevision], record_id: int
) -> DecisionNotice | None:
    """What the mail telling a poster of a decision needs: a decision on their job, or on
    their edit of it (one waiting has no decision yet)."""
    statement = (
        select(
            record.decision,
            record.reasons,
            record.note,
            Job.id.label("job_id"),
            Job.title.label("job_title"),
            User.email,
            User.full_name.label("name"),
            and_(User.is_active, User.email_verified_at.is_not(None)).label("may_mail"),
        )
        .join(Job, Job.id == record.job_id)
        .join(User, User.id == record.poster_id)
        .where(record.id == record_id)
    )
    row = await base.first(session, statement)
    if row is None:
        return None
    return DecisionNotice(
        decision=row.decision,
        reasons=list(row.reasons),
        note=row.note,
        job_id=row.job_id,
        job_title=row.job_title,
        email=row.email,
        name=row.name,
        may_mail=bool(row.may_mail),
    )


async def decision_notice(session: AsyncSession, *, decision_id: int) -> DecisionNotice | None:
    return await _notice(session, JobDecision, decision_id)


async def revision_notice(session: AsyncSession, *, revision_id: int) -> DecisionNotice | None:
    return await _notice(session, JobRevision, revision_id)


async def add_report(
    session: AsyncSession,
    *,
    job_id: int,
    reporter_id: int | None,
    address_key: str,
    reason: ReportReason,
    note: str,
) -> base.AnyRow | None:
    """Write a report; the report, or None when this account (or, signed out, this address)
    already has an open report of the job."""
    statement = pg_insert(JobReport).values(
        job_id=job_id,
        reporter_id=reporter_id,
        address_key=address_key,
        reason=reason,
        note=note,
    )
    if reporter_id is not None:
        statement = statement.on_conflict_do_nothing(
            index_elements=[JobReport.job_id, JobReport.reporter_id],
            index_where=and_(JobReport.reporter_id.is_not(None), JobReport.resolved_at.is_(None)),
        )
    else:
        statement = statement.on_conflict_do_nothing(
            index_elements=[JobReport.job_id, JobReport.address_key],
            index_where=and_(JobReport.reporter_id.is_(None), JobReport.resolved_at.is_(None)),
        )
    returned = statement.returning(
        JobReport.id, JobReport.reason, JobReport.note, JobReport.created_at
    )
    return (await session.execute(returned)).one_or_none()


async def open_report_count(session: AsyncSession, *, job_id: int) -> int:
    row = await base.first(session, select(_open_report_count(job_id)))
    return 0 if row is None else int(row[0])


async def open_reports(session: AsyncSession, *, job_id: int) -> Sequence[base.AnyRow]:
    """A job's open reports, oldest first, with the reporter's address where they were
    signed in."""
    statement = (
        select(
            JobReport.id,
            JobReport.reason,
            JobReport.note,
            JobReport.created_at,
            User.email.label("reporter_email"),
        )
        .outerjoin(User, User.id == JobReport.reporter_id)
        .where(_open_reports(job_id))
        .order_by(JobReport.id)
    )
    return await base.all_rows(session, statement)


async def resolve_reports(session: AsyncSession, *, job_id: int) -> None:
    """A moderator decided on the job: its open reports are answered."""
    await session.execute(
        update(JobReport).where(_open_reports(job_id)).values(resolved_at=func.now())
    )


# What a job pays, as the lists sort by it.
_PAY = func.coalesce(Job.salary_max, Job.salary_min)
# How many of a title's published jobs are looked at for its range (through the title's
# index, whichever they are).
PAY_SAMPLE = 1000
# How much of a description is compared when looking for reposts, and with how many jobs
# at most (each comparison reads the whole text).
COMPARED = 4000
COMPARED_JOBS = 200


@dataclass(frozen=True, slots=True)
class Compared:
    """A job asked to be published, as its signals compare it: `job_id` None for a new one
    (an existing one is never compared with itself)."""

    job_id: int | None
    title: str
    text: str  # its title and description


def _asked(jobs: Sequence[Compared]) -> Any:
    """The jobs as rows (position from 1, job id, title, compared text) of a statement."""
    rows = values(
        column("position", Integer),
        column("job_id", BigInteger),
        column("title", String),
        column("text", String),
        name="asked_rows",
    ).data([(at, job.job_id or 0, job.title, job.text) for at, job in enumerate(jobs, 1)])
    return select(
        rows.c.position, rows.c.job_id, rows.c.title, _compared(rows.c.text).label("text")
    ).cte("asked")


async def pay_of_titles(
    session: AsyncSession, *, titles: Sequence[str], job_id: int | None
) -> dict[str, tuple[int, float | None]]:
    """For each title: how many published jobs with it say what they pay (up to
    PAY_SAMPLE, `job_id` left out), and the 90th percentile of it; in one statement."""
    if not titles:
        return {}
    asked = values(column("title", String), name="asked_titles").data([(t,) for t in titles])
    sample = (
        select(_PAY.label("pay"))
        .where(
            Job.status == JobStatus.published,
            Job.title == asked.c.title,
            _PAY.is_not(None),
            Job.id != (job_id or 0),
        )
        .limit(PAY_SAMPLE)
        .subquery()
        .lateral("sample")
    )
    statement = (
        select(
            asked.c.title,
            func.count(sample.c.pay),
            func.percentile_cont(0.9).within_group(sample.c.pay),
        )
        .select_from(asked.outerjoin(sample, true()))
        .group_by(asked.c.title)
    )
    return {
        row[0]: (int(row[1]), None if row[2] is None else float(row[2]))
        for row in await base.all_rows(session, statement)
    }


def _compared(text_value: Any) -> Any:
    return func.left(text_value, COMPARED)


async def _alike(session: AsyncSession, asked: Any, ids: Any, *, alike: float) -> set[int]:
    """The positions of the `asked` jobs with a title and description this alike (pg_trgm's
    similarity) to one of the jobs `ids` selects (which may look at the asked job)."""
    other = aliased(Job, name="other")
    statement = select(asked.c.position).where(
        select(other.id)
        .where(
            other.id.in_(ids),
            other.id != asked.c.job_id,
            func.similarity(_compared(other.title + "\n" + other.description), asked.c.text)
            >= alike,
        )
        .exists()
    )
    return set((await session.execute(statement)).scalars())


async def resemble_rejected(
    session: AsyncSession, *, jobs: Sequence[Compared], alike: float
) -> set[int]:
    """The positions (from 1) of `jobs` that one of the COMPARED_JOBS jobs rejected last (in
    the last REPOST_DAYS) is this alike to."""
    if not jobs:
        return set()
    recent = (
        select(JobDecision.job_id)
        .where(
            JobDecision.decision == Decision.rejected,
            JobDecision.created_at > func.now() - timedelta(days=REPOST_DAYS),
        )
        .order_by(JobDecision.created_at.desc())
        .limit(COMPARED_JOBS)
    )
    return await _alike(session, _asked(jobs), recent, alike=alike)


async def resemble_posters_jobs(
    session: AsyncSession, *, poster_id: int, jobs: Sequence[Compared], alike: float
) -> set[int]:
    """The positions (from 1) of `jobs` this alike to one of the COMPARED_JOBS newest jobs of
    the poster's companies, published or held and created in the last REPOST_DAYS, or to
    one of the COMPARED_JOBS before it in `jobs` (all new jobs of the poster's)."""
    if not jobs:
        return set()
    asked = _asked(jobs)
    recent = (
        select(Job.id)
        .join(Company, Company.id == Job.company_id)
        .where(
            Company.owner_id == poster_id,
            Job.status.in_((JobStatus.published, JobStatus.pending)),
            Job.created_at > func.now() - timedelta(days=REPOST_DAYS),
        )
        .order_by(Job.id.desc())
        .limit(COMPARED_JOBS)
    )
    found = await _alike(session, asked, recent, alike=alike)
    if len(jobs) > 1:
        earlier = asked.alias("earlier")
        siblings = select(asked.c.position).where(
            select(earlier.c.position)
            .where(
                earlier.c.position < asked.c.position,
                earlier.c.position >= asked.c.position - COMPARED_JOBS,
                func.similarity(earlier.c.text, asked.c.text) >= alike,
            )
            .exists()
        )
        found |= set((await session.execute(siblings)).scalars())
    return found


# How alike (pg_trgm's similarity) another employer's job's title must be to the new one's
# for its text to be compared: a near copy of a title, found through ix_jobs_title_trgm.
TITLE_ALIKE = 0.6


async def resemble_others_jobs(
    session: AsyncSession, *, poster_id: int, jobs: Sequence[Compared], alike: float
) -> set[int]:
    """The positions (from 1) of `jobs` this alike to one of the COMPARED_JOBS newest jobs of
    other employers, on the board or held, created in the last REPOST_DAYS and with a title
    at least TITLE_ALIKE alike to its own."""
    if not jobs:
        return set()
    # `%` compares with this threshold, for the rest of the transaction alone.
    await session.execute(
        select(func.set_config("pg_trgm.similarity_threshold", str(TITLE_ALIKE), True))
    )
    asked = _asked(jobs)
    recent = (
        select(Job.id)
        .join(Company, Company.id == Job.company_id)
        .where(
            Company.owner_id != poster_id,
            Job.status.in_((JobStatus.published, JobStatus.pending)),
            Job.title.op("%")(asked.c.title),
            Job.created_at > func.now() - timedelta(days=REPOST_DAYS),
            Job.id != asked.c.job_id,
        )
        .order_by(Job.id.desc())
        .limit(COMPARED_JOBS)
    )
    return await _alike(session, asked, recent, alike=alike)


class DomainPosition(Position):
    """The position in the list of banned domains, in alphabetical order."""

    domain: Annotated[str, Field(min_length=1, max_length=DOMAIN_MAX_LENGTH)]


async def banned_among(session: AsyncSession, *, domains: list[str]) -> str | None:
    """The first of `domains` that is banned, if any."""
    statement = (
        select(BannedDomain.domain)
        .where(BannedDomain.domain.in_(domains))
        .order_by(BannedDomain.domain)
        .limit(1)
    )
    row = await base.first(session, statement)
    return None if row is None else str(row[0])


async def ban(session: AsyncSession, *, domain: str, reason: str, banned_by: int) -> base.AnyRow:
    """Ban `domain` (a second ban of it keeps its first time and takes the new reason)."""
    statement = (
        pg_insert(BannedDomain)
        .values(domain=domain, reason=reason, banned_by=banned_by)
        .on_conflict_do_update(
            index_elements=[BannedDomain.domain],
            set_={"reason": reason, "banned_by": banned_by},
        )
        .returning(
            BannedDomain.domain,
            BannedDomain.reason,
            BannedDomain.banned_by,
            BannedDomain.created_at,
        )
    )
    return (await session.execute(statement)).one()


async def unban(session: AsyncSession, *, domain: str) -> bool:
    """Lift a ban; whether there was one."""
    statement = (
        delete(BannedDomain).where(BannedDomain.domain == domain).returning(BannedDomain.domain)
    )
    return (await session.execute(statement)).first() is not None


async def banned_page(
    session: AsyncSession, *, limit: int, after: DomainPosition | None
) -> Positioned[base.AnyRow, DomainPosition]:
    """Banned domains in alphabetical order."""
    statement = select(
        BannedDomain.domain, BannedDomain.reason, BannedDomain.banned_by, BannedDomain.created_at
    ).order_by(BannedDomain.domain)
    if after is not None:
        statement = statement.where(BannedDomain.domain > after.domain)
    rows = await base.all_rows(session, statement.limit(limit + 1))
    return Positioned(rows, lambda index: DomainPosition(domain=rows[index].domain))


async def add_comment(
    session: AsyncSession, *, job_id: int, author_id: int, by_moderator: bool, body: str
) -> base.AnyRow:
    statement = (
        insert(JobComment)
        .values(job_id=job_id, author_id=author_id, by_moderator=by_moderator, body=body)
        .returning(JobComment.id, JobComment.by_moderator, JobComment.body, JobComment.created_at)
    )
    return (await session.execute(statement)).one()


async def comments(session: AsyncSession, *, job_id: int) -> Sequence[base.AnyRow]:
    """A job's thread, oldest first, with each author's name where the account remains."""
    statement = (
        select(
            JobComment.id,
            JobComment.by_moderator,
            JobComment.body,
            JobComment.created_at,
            User.full_name.label("author_name"),
        )
        .outerjoin(User, User.id == JobComment.author_id)
        .where(JobComment.job_id == job_id)
        .order_by(JobComment.id)
    )
    return await base.all_rows(session, statement)


@dataclass(frozen=True, slots=True)
class CommentNotice:
    """What the mails of one comment need: the comment, its job, and who is told."""

    job_id: int
    job_title: str
    body: str
    by_moderator: bool
    # (user id, address, name) of each confirmed, active account on the other side.
    recipients: list[tuple[int, str, str]]


async def comment_notice(session: AsyncSession, *, comment_id: int) -> CommentNotice | None:
    """The other side of a comment: the job's poster for a moderator's; for the poster's,
    the moderators who decided or commented on the job (still moderators or admins)."""
    row = await base.first(
        session,
        select(
            JobComment.job_id,
            JobComment.body,
            JobComment.by_moderator,
            Job.title,
            Company.owner_id,
        )
        .join(Job, Job.id == JobComment.job_id)
        .join(Company, Company.id == Job.company_id)
        .where(JobComment.id == comment_id),
    )
    if row is None:
        return None
    reachable = and_(User.is_active, User.email_verified_at.is_not(None))
    if row.by_moderator:
        people = select(User.id, User.email, User.full_name).where(
            User.id == row.owner_id, reachable
        )
    else:
        involved = (
            select(JobDecision.moderator_id.label("user_id"))
            .where(JobDecision.job_id == row.job_id)
            .union(
                select(JobComment.author_id).where(
                    JobComment.job_id == row.job_id, JobComment.by_moderator
                )
            )
            .subquery()
        )
        people = (
            select(User.id, User.email, User.full_name)
            .where(
                User.id.in_(select(involved.c.user_id)),
                User.role.in_((Role.moderator, Role.admin)),
                reachable,
            )
            .order_by(User.id)
        )
    recipients = [(r.id, r.email, r.full_name) for r in await base.all_rows(session, people)]
    return CommentNotice(
        job_id=row.job_id,
        job_title=row.title,
        body=row.body,
        by_moderator=row.by_moderator,
        recipients=recipients,
    )
