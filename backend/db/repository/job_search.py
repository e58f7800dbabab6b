"""The public search over jobs: filters, the three orders with their keyset positions,
relevance, the front page, autocomplete, and the alerts' window of new matches. What a job
is and who may see it is `jobs`."""

import functools
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, Field
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.cursor import CursorId, Position, scope_of
from backend.core.pagination import Positioned
from backend.db import hot
from backend.db.models import Company, Job, JobTitle
from backend.db.repository.jobs import (
    LISTED_COLUMNS,
    SEARCH_CONFIG,
    JobListed,
    JobRow,
    publicly_visible,
)


@dataclass(frozen=True, slots=True)
class Title:
    title: str


def salary_key() -> ColumnElement[int | None]:
    """What jobs are sorted and filtered by salary on: the max, or the min without a max."""
    return func.coalesce(Job.salary_max, Job.salary_min)


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

    def scope(self, order: str) -> str:
        """What a cursor of this search in this order is bound to."""
        return scope_of(order, asdict(self))


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Runs of negations ("- - -python", "---python") nest a NOT per dash, and PostgreSQL's
# tsquery stack ends at 32: one dash says the same.
_NEGATIONS = re.compile(r"-(?:\s*-)+")


def _ts_query(q: ColumnElement[str]) -> ColumnElement[Any]:
    return func.websearch_to_tsquery(text(f"'{SEARCH_CONFIG}'::regconfig"), q)


def _matches(q: ColumnElement[str], *, walk: bool) -> ColumnElement[bool]:
    """The full-text predicate; walk=True hides it from the GIN index, so that the planner
    walks the date index through a bounded range and tests each row there."""
    vector = Job.search.op("||")(literal_column("''::tsvector")) if walk else Job.search
    return vector.op("@@")(_ts_query(q))


def _filter_values(filters: JobFilters) -> dict[str, Any]:
    """The values `filters` binds, by name: which names are there is the search's shape."""
    values: dict[str, Any] = {}
    if filters.q:
        values["q"] = _NEGATIONS.sub("-", filters.q)
    if filters.location:
        values["location"] = f"%{_escape_like(filters.location)}%"
    if filters.workplace:
        values["workplace"] = filters.workplace
    if filters.employment_type:
        values["employment_type"] = filters.employment_type
    if filters.company_id is not None:
        values["company_id"] = filters.company_id
    if filters.tags:
        values["tags"] = list(filters.tags)
    if filters.salary_min is not None:
        values["salary_min"] = filters.salary_min
    if filters.posted_after is not None:
        values["posted_after"] = filters.posted_after
    return values


_FILTER_TYPES: dict[str, Any] = {
    "q": String(),
    "location": Job.location.type,
    "workplace": Job.workplace.type,
    "employment_type": Job.employment_type.type,
    "company_id": Job.company_id.type,
    "tags": Job.tags.type,
    "salary_min": Integer(),
    "posted_after": Job.published_at.type,
}


def _planned_per_values(names: Sequence[str]) -> bool:
    """Whether a search binding `names` is planned for each execution's values (never
    prepared: see `hot.HotRead`): any search with a filter or words. The unfiltered lists
    (the front page, its next pages) have one best plan whatever their position."""
    return bool(_FILTER_TYPES.keys() & set(names))


def _bound(name: str, values: dict[str, Any] | None) -> Any:
    """A filter's named parameter: holding its value, or (`values` None) waiting for one."""
    if values is None:
        return bindparam(name, type_=_FILTER_TYPES[name])
    return bindparam(name, values[name], type_=_FILTER_TYPES[name])


def _filtered(filters: JobFilters, *, walk: bool = False) -> Select[Any]:
    """Visible jobs passing `filters` (for `walk`, see _matches), their values bound."""
    values = _filter_values(filters)
    return _filtered_by(tuple(values), walk=walk, values=values)


def _filtered_by(
    names: Sequence[str], *, walk: bool = False, values: dict[str, Any] | None = None
) -> Select[Any]:
    """Visible jobs passing the filters `names`: with their `values`, or (None) taking them
    at each execution, for a statement compiled once per shape (`_in_window`, `_older`)."""
    statement = select(*LISTED_COLUMNS).where(publicly_visible())
    if "q" in names:
        statement = statement.where(_matches(_bound("q", values), walk=walk))
    if "location" in names:
        statement = statement.where(Job.location.ilike(_bound("location", values)))
    if "workplace" in names:
        statement = statement.where(Job.workplace == _bound("workplace", values))
    if "employment_type" in names:
        statement = statement.where(Job.employment_type == _bound("employment_type", values))
    if "company_id" in names:
        statement = statement.where(Job.company_id == _bound("company_id", values))
    if "tags" in names:
        statement = statement.where(Job.tags.contains(_bound("tags", values)))
    if "salary_min" in names:
        statement = statement.where(salary_key() >= _bound("salary_min", values))
    if "posted_after" in names:
        statement = statement.where(Job.published_at >= _bound("posted_after", values))
    return statement


# Relevance ranks the matches among the WINDOW most recently published visible jobs.
# Ranking every match of a common word costs as much as there are matches (half a million at
# a million jobs); ranking a window costs the same at any size and with any filter.
WINDOW = 1000


# How text matches beyond the window are found. PostgreSQL estimates several words by
# multiplying their frequencies; for words that rarely meet it then expects many matches and
# walks the date index looking for ones that hardly exist, through the whole table (2.5 s
# at a million jobs). So the share of matches in the window is measured: below DENSE_SHARE
# the sort key is disguised, which leaves the planner one plan: collect the (few) matches
# through the GIN index and sort them. Above it, the planner chooses, and it walks.
DENSE_SHARE = 0.003


def _dense(hits: int, window_size: int = WINDOW) -> bool:
    return hits >= max(1.0, window_size * DENSE_SHARE)


def _key(column: Any, *, dense: bool) -> Any:
    # For sparse matches the sort key is disguised, so that no index offers it to the planner.
    if dense:
        return column
    zero = "interval '0 seconds'" if column is Job.published_at else "0"
    return column + literal_column(zero)


# Shapes kept compiled, for each statement: the common ones stay, and a client trying every
# combination of filters cannot make the cache grow without bound (about 35 KB a shape).
SHAPES_KEPT = 256

_POSITION_TYPES: dict[str, Any] = {
    "oldest_at": Job.published_at.type,
    "oldest_id": Job.id.type,
    "after_at": Job.published_at.type,
    "after_id": Job.id.type,
    "after_rank": DOUBLE_PRECISION(),
    "after_salary": Integer(),
    "limit": Integer(),
    "window": Integer(),
    "offset": Integer(),
}


def _position(name: str) -> Any:
    return bindparam(name, type_=_POSITION_TYPES[name])


@dataclass(frozen=True, slots=True)
class Hits:
    hits: int


@dataclass(frozen=True, slots=True)
class WindowOldest:
    published_at: datetime | None
    id: int


@dataclass(frozen=True, slots=True)
class RankedJob(JobListed):
    """A job of the relevance window, with its rank and how many jobs of the window match."""

    rank: float
    matched: int


def _hits_in_window() -> hot.HotRead[Hits]:
    # Each job of the window is tested where it is read: a boolean leaves the subquery,
    # never the vector.
    matches = Job.search.op("@@")(_ts_query(_bound("q", None)))
    recent = (
        select(matches.label("hit"))
        .where(publicly_visible())
        .order_by(Job.published_at.desc(), Job.id.desc())
        .limit(_position("window"))
        .subquery()
    )
    statement = select(func.count().label("hits")).select_from(recent).where(recent.c.hit)
    return hot.HotRead(statement, Hits, prepare=False)


_HITS_IN_WINDOW = _hits_in_window()


async def _probe(reader: hot.Reader, filters: JobFilters) -> bool:
    """Whether matches are dense among the WINDOW most recently published jobs."""
    assert filters.q
    values = {"q": _filter_values(filters)["q"], "window": WINDOW}
    row = await hot.one(reader, _HITS_IN_WINDOW, values)
    assert row is not None  # a count
    return _dense(row.hits)


# (published_at, id) of the WINDOW-th newest visible job, read from the date index alone: no
# filter and no text test per row.
_WINDOW_OLDEST = hot.HotRead(
    select(Job.published_at, Job.id)
    .where(publicly_visible())
    .order_by(Job.published_at.desc(), Job.id.desc())
    .offset(_position("offset"))
    .limit(1),
    WindowOldest,
)


async def _window_oldest(reader: hot.Reader) -> tuple[datetime, int] | None:
    """(published_at, id) of the WINDOW-th newest visible job; None when there are fewer."""
    row = await hot.one(reader, _WINDOW_OLDEST, {"offset": WINDOW - 1})
    # Published jobs always have published_at (ck_jobs_published_at_set).
    return None if row is None or row.published_at is None else (row.published_at, row.id)


# The search vector's title lexemes alone (weight A), as `ts_filter` keeps them.
_TITLE_WEIGHT: ColumnElement[Any] = literal_column("""'{a}'::"char"[]""")
# ts_rank_cd's normalization 32: rank / (rank + 1), in [0, 1) however dense the matches.
_BOUNDED: ColumnElement[Any] = literal_column("32")


def rank(q: ColumnElement[str]) -> ColumnElement[float]:
    """Relevance: a job whose title holds the whole query first (1 point), then
    `ts_rank_cd` bounded below 1, whose weights A, B, C, D rank title over tags over company
    name over description, and which rewards words found close together.

    Without the first term a description that repeats the words outranks a title that
    holds them all once. Both terms are `double precision`: the value a cursor carries
    back (Python floats are doubles) compares equal to the one the row has, so that a page
    resumes at exactly the row after the last one served.
    """
    query = _ts_query(q)
    title_holds_all = func.ts_filter(Job.search, _TITLE_WEIGHT).op("@@")(query)
    return cast(title_holds_all, Integer).cast(DOUBLE_PRECISION) + cast(
        func.ts_rank_cd(Job.search, query, _BOUNDED), DOUBLE_PRECISION
    )


class NewestPosition(Position):
    published_at: AwareDatetime
    id: CursorId


class SalaryPosition(Position):
    salary: Annotated[int, Field(ge=0, le=2**31 - 1)] | None
    published_at: AwareDatetime
    id: CursorId


class RelevancePosition(Position):
    """The window and the plan for older matches are fixed on page one (`window_*`, `dense`);
    then the keyset of the phase the row is in: (rank, id) in the window, else
    (published_at, id)."""

    window_published_at: AwareDatetime | None
    window_id: CursorId | None
    dense: bool
    rank: float | None
    published_at: AwareDatetime | None
    id: CursorId


def _newest(statement: Select[Any], *, after: tuple[Any, Any] | None, dense: bool) -> Select[Any]:
    """`statement`'s jobs newest published first, after the position `after` (published_at,
    id) if given: the one definition of the newest order and its keyset."""
    published_at, job_id = _key(Job.published_at, dense=dense), _key(Job.id, dense=dense)
    if after is not None:
        statement = statement.where(tuple_(published_at, job_id) < tuple_(*after))
    return statement.order_by(published_at.desc(), job_id.desc())


def _newest_of(
    names: Sequence[str], *, dense: bool, statement: Select[Any] | None = None
) -> Select[Any]:
    """The newest order of a search binding `names` (`after_at` and `after_id` for a
    position, `limit`), over `statement` (by default the jobs passing the filters)."""
    after = None
    if "after_at" in names:
        after = (_position("after_at"), _position("after_id"))
    jobs = _filtered_by(names) if statement is None else statement
    return _newest(jobs, after=after, dense=dense).limit(_position("limit"))


@functools.lru_cache(maxsize=SHAPES_KEPT)
def _newest_read(names: tuple[str, ...], *, dense: bool) -> hot.HotRead[JobListed]:
    """The newest order of a search binding `names`, a hot read (the front page binds only
    the limit, and a position after page one)."""
    return hot.HotRead(
        _newest_of(names, dense=dense), JobListed, prepare=not _planned_per_values(names)
    )


def _after_newest(after: NewestPosition | None) -> dict[str, Any]:
    return {} if after is None else {"after_at": after.published_at, "after_id": after.id}


def newest_statement(
    filters: JobFilters, *, limit: int, after: NewestPosition | None = None, dense: bool = True
) -> Select[Any]:
    """The query behind `GET /jobs` in newest order (one row more than `limit`), its values
    bound."""
    values = {**_filter_values(filters), **_after_newest(after), "limit": limit + 1}
    return _newest_of(tuple(values), dense=dense).params(values)


def _published_at(job: JobRow) -> datetime:
    # Visible jobs are published, and published jobs have published_at
    # (ck_jobs_published_at_set).
    published_at: datetime | None = job.published_at
    assert published_at is not None
    return published_at


async def search_newest(
    reader: hot.Reader, *, filters: JobFilters, limit: int, after: NewestPosition | None
) -> Positioned[JobListed, NewestPosition]:
    """Visible jobs matching `filters`, newest published first."""
    dense = True if not filters.q else await _probe(reader, filters)
    values = {**_filter_values(filters), **_after_newest(after), "limit": limit + 1}
    jobs = await hot.every(reader, _newest_read(tuple(values), dense=dense), values)
    return Positioned(
        jobs,
        lambda index: NewestPosition(published_at=_published_at(jobs[index]), id=jobs[index].id),
    )


@functools.lru_cache(maxsize=SHAPES_KEPT)
def _salary_read(names: tuple[str, ...], *, with_salary: bool) -> hot.HotRead[JobListed]:
    """One range of the salary order of a search binding `names`: the jobs with a salary,
    best paid first, or those without; after a position if `names` has one."""
    key = salary_key()
    order = (key.desc().nulls_last(), Job.published_at.desc(), Job.id.desc())
    statement = _filtered_by(names).where(key.is_not(None) if with_salary else key.is_(None))
    if "after_at" in names:
        at, job_id = _position("after_at"), _position("after_id")
        after = (key, Job.published_at, Job.id) if with_salary else (Job.published_at, Job.id)
        before = (_position("after_salary"), at, job_id) if with_salary else (at, job_id)
        statement = statement.where(tuple_(*after) < tuple_(*before))
    return hot.HotRead(
        statement.order_by(*order).limit(_position("limit")),
        JobListed,
        prepare=not _planned_per_values(names),
    )


async def search_by_salary(
    reader: hot.Reader, *, filters: JobFilters, limit: int, after: SalaryPosition | None
) -> Positioned[JobListed, SalaryPosition]:
    """Visible jobs matching `filters`, best paid first, those without a salary last.

    Two index range scans rather than one OR, so that any page costs the same: jobs with a
    salary after the position, then, when those run out, the ones without.
    """
    searched = _filter_values(filters)
    jobs: list[JobListed] = []
    if after is None or after.salary is not None:
        values = {**searched, "limit": limit + 1}
        if after is not None:
            values |= {
                "after_at": after.published_at,
                "after_id": after.id,
                "after_salary": after.salary,
            }
        jobs += await hot.every(reader, _salary_read(tuple(values), with_salary=True), values)
    if len(jobs) <= limit:
        values = {**searched, "limit": limit + 1 - len(jobs)}
        if after is not None and after.salary is None:
            values |= {"after_at": after.published_at, "after_id": after.id}
        jobs += await hot.every(reader, _salary_read(tuple(values), with_salary=False), values)

    def position(index: int) -> SalaryPosition:
        job = jobs[index]
        return SalaryPosition(salary=_salary_of(job), published_at=_published_at(job), id=job.id)

    return Positioned(jobs, position)


def _salary_of(job: JobRow) -> int | None:
    salary: int | None = job.salary_max if job.salary_max is not None else job.salary_min
    return salary


async def search_by_relevance(
    reader: hot.Reader, *, filters: JobFilters, limit: int, after: RelevancePosition | None
) -> Positioned[JobListed, RelevancePosition]:
    """Visible jobs matching `filters` (which has `q`): the matches among the WINDOW most
    recently published jobs best first, then older matches newest first.

    Each statement is a hot read compiled once per shape (`_in_window`, `_older`): every
    value is a named parameter, so which names a search binds decides its SQL.
    """
    assert filters.q
    oldest: tuple[datetime, int] | None
    if after is None:
        oldest, in_window, dense = await _window_oldest(reader), True, True
    else:
        oldest = None
        if after.window_published_at is not None and after.window_id is not None:
            oldest = (after.window_published_at, after.window_id)
        dense, in_window = after.dense, after.rank is not None
    searched = _filter_values(filters)
    bounded = {} if oldest is None else {"oldest_at": oldest[0], "oldest_id": oldest[1]}
    ranked: list[JobListed] = []
    scores: list[float | None] = []
    if in_window:
        # At most WINDOW rows, walked in date order and each tested for the filters and
        # words; how many match tells how dense matches are (see DENSE_SHARE).
        values = {**searched, **bounded, "limit": limit + 1}
        if after is not None and after.rank is not None:
            values |= {"after_rank": after.rank, "after_id": after.id}
        found = await hot.every(reader, _in_window(tuple(values)), values)
        ranked += found
        scores += [row.rank for row in found]
        if after is None:
            dense = _dense(found[0].matched if found else 0)
    window_published_at, window_id = oldest or (None, None)

    def position(job: JobListed, score: float | None) -> RelevancePosition:
        return RelevancePosition(
            window_published_at=window_published_at,
            window_id=window_id,
            dense=dense,
            rank=score,
            published_at=None if score is not None else _published_at(job),
            id=job.id,
        )

    if len(ranked) <= limit and oldest is not None:
        values = {**searched, **bounded, "limit": limit + 1 - len(ranked)}
        if after is not None and not in_window:
            values |= {"after_at": after.published_at, "after_id": after.id}
        older = await hot.every(reader, _older(tuple(values), dense=dense), values)
        ranked += older
        scores += [None] * len(older)
    return Positioned(ranked, lambda index: position(ranked[index], scores[index]))


@functools.lru_cache(maxsize=SHAPES_KEPT)
def _in_window(names: tuple[str, ...]) -> hot.HotRead[RankedJob]:
    """The relevance phase of a search binding `names` (see `search_by_relevance`)."""
    relevance = rank(_bound("q", None))
    statement = _filtered_by(names, walk=True).add_columns(
        relevance.label("rank"), func.count().over().label("matched")
    )
    if "oldest_at" in names:
        oldest = tuple_(_position("oldest_at"), _position("oldest_id"))
        statement = statement.where(tuple_(Job.published_at, Job.id) >= oldest)
    if "after_rank" in names:
        after = tuple_(_position("after_rank"), _position("after_id"))
        statement = statement.where(tuple_(relevance, Job.id) < after)
    order = (relevance.desc(), Job.id.desc())
    return hot.HotRead(
        statement.order_by(*order).limit(_position("limit")), RankedJob, prepare=False
    )


@functools.lru_cache(maxsize=SHAPES_KEPT)
def _older(names: tuple[str, ...], *, dense: bool) -> hot.HotRead[JobListed]:
    """The phase after the window of a search binding `names`, newest first."""
    oldest = tuple_(_position("oldest_at"), _position("oldest_id"))
    statement = _filtered_by(names).where(tuple_(Job.published_at, Job.id) < oldest)
    return hot.HotRead(
        _newest_of(names, dense=dense, statement=statement), JobListed, prepare=False
    )


def _autocomplete() -> hot.HotRead[Title]:
    title_words = func.to_tsvector(text("'simple'::regconfig"), JobTitle.title)
    query = func.to_tsquery(text("'simple'::regconfig"), bindparam("query", type_=String))
    starts_with = func.lower(JobTitle.title).like(bindparam("pattern", type_=String))
    candidates = (
        select(JobTitle.title, starts_with.label("starts"), JobTitle.published_count)
        .where(JobTitle.published_count > 0, title_words.op("@@")(query))
        .order_by(starts_with.desc(), JobTitle.published_count.desc(), JobTitle.title)
        .limit(bindparam("pool", type_=Integer))
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
        .limit(bindparam("limit", type_=Integer))
    )
    return hot.HotRead(statement, Title)


# Typed at every keystroke: a hot read (see backend.db.hot).
_AUTOCOMPLETE = _autocomplete()


async def autocomplete(reader: hot.Reader, *, words: Sequence[str], limit: int) -> list[str]:
    """Distinct titles of visible jobs with a word starting with each of `words`.

    Read from job_titles (each published title once, with how many jobs carry it, kept by
    trigger), so the cost follows the number of distinct titles, not of jobs. Titles that
    start with the words come first, then the most common. Only the best candidates
    (5 times `limit`) are checked for a job that is still visible (not expired).
    """
    values = {
        "query": " & ".join(f"{word}:*" for word in words),
        "pattern": _escape_like(" ".join(words)) + "%",
        "pool": limit * 5,
        "limit": limit,
    }
    return [row.title for row in await hot.every(reader, _AUTOCOMPLETE, values)]


async def published_between(
    session: AsyncSession,
    *,
    filters: JobFilters,
    start: datetime,
    end: datetime,
    limit: int,
) -> tuple[list[Any], int]:
    """Visible jobs matching `filters` published in [start, end), newest first, at most
    `limit` (id, title, location and their company's name), and how many there are in all.

    One pass through the search's own filters and the published-date index, bounded by the
    window, however many jobs there are: the count is taken over the same rows the newest
    are chosen from (a window function), and only those are joined to their company.
    """
    newest = (
        _filtered(filters)
        .where(Job.published_at >= start, Job.published_at < end)
        .with_only_columns(
            Job.id,
            Job.title,
            Job.location,
            Job.company_id,
            Job.published_at,
            func.count().over().label("total"),
        )
        .order_by(Job.published_at.desc(), Job.id.desc())
        .limit(limit)
        .subquery()
    )
    statement = (
        select(
            newest.c.id,
            newest.c.title,
            newest.c.location,
            Company.name.label("company_name"),
            newest.c.total,
        )
        .join(Company, Company.id == newest.c.company_id)
        .order_by(newest.c.published_at.desc(), newest.c.id.desc())
    )
    # The search's values decide its best plan (see `hot.HotRead`), and the worker's
    # connections live long: planned for these values, for the rest of the transaction.
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    rows = list(await session.execute(statement))
    return rows, (int(rows[0].total) if rows else 0)
