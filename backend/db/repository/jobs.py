"""Queries over jobs: ownership lookups, and the keyset-paginated public search."""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, Job, JobStatus, JobTitle
from backend.db.repository import base

SEARCH_CONFIG = "english"


def publicly_visible() -> ColumnElement[bool]:
    """Published and not expired: what everyone but the owner and admins may see."""
    return and_(
        Job.status == JobStatus.published,
        or_(Job.expires_at.is_(None), Job.expires_at > func.now()),
    )


def salary_key() -> ColumnElement[int | None]:
    """What jobs are sorted and filtered by salary on: the max, or the min without a max."""
    return func.coalesce(Job.salary_max, Job.salary_min)


async def get_with_owner(session: AsyncSession, *, job_id: int) -> tuple[Job, int] | None:
    """A job and the id of its company's owner, in one query."""
    statement = (
        select(Job, Company.owner_id)
        .join(Company, Company.id == Job.company_id)
        .where(Job.id == job_id)
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else (row[0], row[1])


async def create(session: AsyncSession, **values: object) -> Job:
    """Insert a job; its search vector is filled by trigger."""
    job = Job(**values)
    session.add(job)
    await session.flush()
    return job


async def update(session: AsyncSession, *, job: Job, **values: object) -> Job:
    """Set the given columns on a job."""
    return await base.update(session, job, **values)


async def delete_job(session: AsyncSession, *, job_id: int) -> None:
    """Delete a job; its applications go with it (ON DELETE CASCADE)."""
    await session.execute(delete(Job).where(Job.id == job_id))


async def list_owned(
    session: AsyncSession, *, owner_id: int, limit: int, after_id: int | None = None
) -> list[Job]:
    """Jobs of every company `owner_id` owns, in every status, newest first."""
    statement = (
        select(Job)
        .join(Company, Company.id == Job.company_id)
        .where(Company.owner_id == owner_id)
        .order_by(Job.id.desc())
        .limit(limit + 1)
    )
    if after_id is not None:
        statement = statement.where(Job.id < after_id)
    return list((await session.execute(statement)).scalars())


@dataclass(frozen=True, slots=True)
class JobFilters:
    q: str | None = None
    location: str | None = None
    workplace: str | None = None
    employment_type: str | None = None
    company_id: int | None = None
    tags: Sequence[str] = field(default_factory=tuple)
    salary_min: int | None = None
    posted_after: datetime | None = None


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ts_query(q: str) -> ColumnElement[Any]:
    return func.websearch_to_tsquery(text(f"'{SEARCH_CONFIG}'::regconfig"), q)


def _matches(q: str, *, via_index: bool) -> ColumnElement[bool]:
    """The full-text predicate; via_index=False hides it from the GIN index, so that the
    planner walks an ordering index and tests each row instead."""
    vector = Job.search if via_index else Job.search.op("||")(literal_column("''::tsvector"))
    return vector.op("@@")(_ts_query(q))


def _filtered(filters: JobFilters, *, dense: bool = False) -> Select[Job]:
    """Visible jobs passing `filters`; `dense` says how to find text matches (see Density)."""
    statement = select(Job).where(publicly_visible())
    if filters.q:
        statement = statement.where(_matches(filters.q, via_index=not dense))
    if filters.location:
        statement = statement.where(Job.location.ilike(f"%{_escape_like(filters.location)}%"))
    if filters.workplace:
        statement = statement.where(Job.workplace == filters.workplace)
    if filters.employment_type:
        statement = statement.where(Job.employment_type == filters.employment_type)
    if filters.company_id is not None:
        statement = statement.where(Job.company_id == filters.company_id)
    if filters.tags:
        statement = statement.where(Job.tags.contains(list(filters.tags)))
    if filters.salary_min is not None:
        statement = statement.where(salary_key() >= filters.salary_min)
    if filters.posted_after is not None:
        statement = statement.where(Job.published_at >= filters.posted_after)
    return statement


# PostgreSQL estimates a several-word search by multiplying the words' frequencies. Words
# that rarely meet then look common, and the planner walks the date index looking for
# matches that hardly exist: through the whole table. So the density is measured instead,
# on the newest WINDOW jobs that pass the other filters (a cost bounded by WINDOW), and the
# plan is chosen from it: walk an ordering index when matches are dense, go through the GIN
# index and sort the matches when they are sparse (then they are few).
WINDOW = 2000
DENSE_SHARE = 0.01


@dataclass(frozen=True, slots=True)
class Window:
    """The newest WINDOW jobs passing the filters other than `q`."""

    size: int
    hits: int
    oldest: tuple[datetime, int] | None  # None when fewer jobs than WINDOW pass

    @property
    def dense(self) -> bool:
        return self.hits >= max(1.0, self.size * DENSE_SHARE)


async def _window(session: AsyncSession, filters: JobFilters) -> Window:
    assert filters.q
    recent = (
        _filtered(replace(filters, q=None))
        .with_only_columns(
            Job.published_at, Job.id, _matches(filters.q, via_index=False).label("hit")
        )
        .order_by(Job.published_at.desc(), Job.id.desc())
        .limit(WINDOW)
        .cte("recent")
    )
    oldest = select(recent.c.published_at, recent.c.id).order_by(recent.c.published_at, recent.c.id)
    statement = select(
        func.count(),
        func.count().filter(recent.c.hit),
        oldest.with_only_columns(recent.c.published_at).limit(1).scalar_subquery(),
        oldest.with_only_columns(recent.c.id).limit(1).scalar_subquery(),
    ).select_from(recent)
    size, hits, published_at, job_id = (await session.execute(statement)).one()
    full = size >= WINDOW and published_at is not None
    return Window(size=size, hits=hits, oldest=(published_at, job_id) if full else None)


def _order_key(column: Any, *, dense: bool) -> Any:
    # For sparse matches the sort key is disguised, so that no index offers it: the planner
    # then collects the (few) matches through the GIN index and sorts them.
    if dense:
        return column
    zero = "interval '0 seconds'" if column is Job.published_at else "0"
    return column + literal_column(zero)


def rank(q: str) -> ColumnElement[float]:
    """Relevance: weights D, C, B, A rank title over tags over company name over description."""
    query = func.websearch_to_tsquery(text(f"'{SEARCH_CONFIG}'::regconfig"), q)
    return func.ts_rank_cd(Job.search, query)


# A page of visible jobs, each with its position in the order (what a cursor holds).
Ranked = list[tuple[Job, list[Any]]]


def newest_statement(
    filters: JobFilters, *, limit: int, after: Sequence[Any] | None = None, dense: bool = True
) -> Select[Job]:
    """The query behind `GET /jobs` in newest order (one row more than `limit`)."""
    statement = _filtered(filters, dense=dense)
    published_at, job_id = (_order_key(c, dense=dense) for c in (Job.published_at, Job.id))
    if after is not None:
        statement = statement.where(tuple_(published_at, job_id) < tuple_(*after))
    return statement.order_by(published_at.desc(), job_id.desc()).limit(limit + 1)


async def search_newest(
    session: AsyncSession, *, filters: JobFilters, limit: int, after: Sequence[Any] | None
) -> Ranked:
    """Visible jobs matching `filters`, newest published first; position (published_at, id)."""
    dense = True if not filters.q else (await _window(session, filters)).dense
    statement = newest_statement(filters, limit=limit, after=after, dense=dense)
    jobs = (await session.execute(statement)).scalars()
    return [(job, [job.published_at, job.id]) for job in jobs]


async def search_by_salary(
    session: AsyncSession, *, filters: JobFilters, limit: int, after: Sequence[Any] | None
) -> Ranked:
    """Visible jobs matching `filters`, best paid first, those without a salary last.

    Position (salary, published_at, id). Two range scans rather than one OR, so that any
    page costs the same: jobs with a salary after the position, then, when those run out,
    the ones without.
    """
    dense = True if not filters.q else (await _window(session, filters)).dense
    key, published_at, job_id = (
        _order_key(column, dense=dense) for column in (salary_key(), Job.published_at, Job.id)
    )
    order = (key.desc().nulls_last(), published_at.desc(), job_id.desc())
    jobs: list[Job] = []
    if after is None or after[0] is not None:
        with_salary = _filtered(filters, dense=dense).where(salary_key().is_not(None))
        if after is not None:
            with_salary = with_salary.where(tuple_(key, published_at, job_id) < tuple_(*after))
        statement = with_salary.order_by(*order).limit(limit + 1)
        jobs += (await session.execute(statement)).scalars()
    if len(jobs) <= limit:
        without = _filtered(filters, dense=dense).where(salary_key().is_(None))
        if after is not None and after[0] is None:
            without = without.where(tuple_(published_at, job_id) < tuple_(*after[1:]))
        statement = without.order_by(*order).limit(limit + 1 - len(jobs))
        jobs += (await session.execute(statement)).scalars()
    return [(job, [_salary_of(job), job.published_at, job.id]) for job in jobs]


def _salary_of(job: Job) -> int | None:
    return job.salary_max if job.salary_max is not None else job.salary_min


async def search_by_relevance(
    session: AsyncSession, *, filters: JobFilters, limit: int, after: Sequence[Any] | None
) -> Ranked:
    """Visible jobs matching `filters` (which has `q`): the matches among the newest WINDOW
    jobs best first, then older matches newest first.

    Ranking every match of a common word costs as much as there are matches; ranking the
    window costs the same at any size. Position (window's oldest published_at and id, dense,
    rank, published_at, id): the window and the plan are fixed on page one, so that pages
    stay consistent; then the keyset of the phase the row is in.
    """
    assert filters.q
    if after is None:
        window = await _window(session, filters)
        oldest, dense, in_window = window.oldest, window.dense, True
    else:
        oldest = None if after[0] is None else (after[0], after[1])
        dense, in_window = bool(after[2]), after[3] is not None
    head = [*(oldest or (None, None)), int(dense)]
    relevance = rank(filters.q)
    rows: Ranked = []
    if in_window:
        # At most WINDOW rows, walked in date order.
        statement = _filtered(filters, dense=True).add_columns(relevance)
        if oldest is not None:
            statement = statement.where(tuple_(Job.published_at, Job.id) >= tuple_(*oldest))
        if after is not None:
            statement = statement.where(tuple_(relevance, Job.id) < tuple_(after[3], after[5]))
        statement = statement.order_by(relevance.desc(), Job.id.desc()).limit(limit + 1)
        found = (await session.execute(statement)).all()
        rows = [(job, [*head, score, None, job.id]) for job, score in found]
    if len(rows) <= limit and oldest is not None:
        published_at, job_id = (_order_key(c, dense=dense) for c in (Job.published_at, Job.id))
        older = _filtered(filters, dense=dense).where(
            tuple_(Job.published_at, Job.id) < tuple_(*oldest)
        )
        if after is not None and not in_window:
            older = older.where(tuple_(published_at, job_id) < tuple_(after[4], after[5]))
        older = older.order_by(published_at.desc(), job_id.desc()).limit(limit + 1 - len(rows))
        older_jobs = (await session.execute(older)).scalars()
        rows += [(job, [*head, None, job.published_at, job.id]) for job in older_jobs]
    return rows


async def autocomplete(session: AsyncSession, *, words: Sequence[str], limit: int) -> list[str]:
    """Distinct titles of visible jobs with a word starting with each of `words`.

    Read from job_titles (each published title once, with how many jobs carry it, kept by
    trigger), so the cost follows the number of distinct titles, not of jobs. Titles that
    start with the words come first, then the most common. Only the best candidates are
    checked for a job that is still visible (not expired).
    """
    prefix_query = " & ".join(f"{word}:*" for word in words)
    title_words = func.to_tsvector(text("'simple'::regconfig"), JobTitle.title)
    matches = title_words.op("@@")(func.to_tsquery(text("'simple'::regconfig"), prefix_query))
    starts_with = func.lower(JobTitle.title).startswith(" ".join(words), autoescape=True)
    candidates = (
        select(JobTitle.title, starts_with.label("starts"), JobTitle.published_count)
        .where(JobTitle.published_count > 0, matches)
        .order_by(starts_with.desc(), JobTitle.published_count.desc(), JobTitle.title)
        .limit(limit * 5)
        .subquery()
    )
    visible = (
        select(Job.id).where(Job.title == candidates.c.title, publicly_visible()).limit(1).exists()
    )
    statement = (
        select(candidates.c.title)
        .where(visible)
        .order_by(
            candidates.c.starts.desc(), candidates.c.published_count.desc(), candidates.c.title
        )
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())
