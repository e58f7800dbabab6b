"""The public search over jobs: filters, the three orders with their keyset positions,
relevance, the front page, autocomplete, and the alerts' window of new matches. What a job
is and who may see it is `jobs`."""

import asyncio
import functools
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, Field
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    case,
    cast,
    column,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
    true,
    tuple_,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.cursor import CursorId, Position, scope_of
from backend.core.pagination import Positioned
from backend.db import hot
from backend.db.models import Company, Job, JobTitle, SearchOutboxEntry
from backend.db.repository import search_outbox
from backend.db.repository.jobs import (
    LISTED_COLUMNS,
    SEARCH_CONFIG,
    JobListed,
    JobRow,
    publicly_visible,
)
from backend.search import engine, query


@dataclass(frozen=True, slots=True)
class Title:
    title: str


def salary_key(job: Any = Job) -> ColumnElement[int | None]:
    """What jobs are sorted and filtered by salary on: the max, or the min without a max
    (of `job`: the jobs table, or a copy with its columns)."""
    return func.coalesce(job.salary_max, job.salary_min)


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


def _matches(q: ColumnElement[str], *, walk: bool, job: Any = Job) -> ColumnElement[bool]:
    """The full-text predicate; walk=True hides it from the GIN index, so that the planner
    walks the date index through a bounded range and tests each row there."""
    vector = job.search.op("||")(literal_column("''::tsvector")) if walk else job.search
    matched: ColumnElement[bool] = vector.op("@@")(_ts_query(q))
    return matched


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
    at each execution, for a statement compiled once per shape (`_relevant`)."""
    conditions = _conditions(names, lambda name: _bound(name, values), walk=walk)
    return select(*LISTED_COLUMNS).where(publicly_visible(), *conditions)


def _conditions(
    names: Sequence[str], value: Callable[[str], Any], *, walk: bool = False, job: Any = Job
) -> list[ColumnElement[bool]]:
    """What a job passes for the filters `names`, each compared with `value(name)` (a
    bound value, or a column of the row a search is in); `job`: the jobs table, or a copy
    with its columns (`new_matches`)."""
    conditions = []
    if "q" in names:
        conditions.append(_matches(value("q"), walk=walk, job=job))
    if "location" in names:
        conditions.append(job.location.ilike(value("location")))
    if "workplace" in names:
        conditions.append(job.workplace == value("workplace"))
    if "employment_type" in names:
        conditions.append(job.employment_type == value("employment_type"))
    if "company_id" in names:
        conditions.append(job.company_id == value("company_id"))
    if "tags" in names:
        conditions.append(job.tags.contains(value("tags")))
    if "salary_min" in names:
        conditions.append(salary_key(job) >= value("salary_min"))
    if "posted_after" in names:
        conditions.append(job.published_at >= value("posted_after"))
    return conditions


# The newest order's probe: how dense matches are among the WINDOW most recently published
# visible jobs.
WINDOW = 1000


# How text matches are found in the newest order. PostgreSQL estimates several words by
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
    "after_at": Job.published_at.type,
    "after_id": Job.id.type,
    "after_tier": Integer(),
    "after_second": BigInteger(),
    "after_salary": Integer(),
    "limit": Integer(),
    "window": Integer(),
}


def _position(name: str) -> Any:
    return bindparam(name, type_=_POSITION_TYPES[name])


@dataclass(frozen=True, slots=True)
class Hits:
    hits: int


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


class NewestPosition(Position):
    published_at: AwareDatetime
    id: CursorId


class SalaryPosition(Position):
    salary: Annotated[int, Field(ge=0, le=2**31 - 1)] | None
    published_at: AwareDatetime
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


# --- relevance


# Each of the search vector's weights alone, as `ts_filter` keeps them: the title (A), the
# tags (B), the company name (C).
def _weight(letter: str) -> ColumnElement[Any]:
    return func.ts_filter(Job.search, literal_column(f"""'{{{letter}}}'::"char"[]"""))


def tier(q: ColumnElement[str]) -> ColumnElement[int]:
    """Relevance, the one definition (the engine's is the same: backend.search.engine): 4 the
    title holds the words as a phrase, 3 the title matches the query, 2 the tags do, 1 the
    company name does, 0 the words are elsewhere (the description). Within a tier the
    newest job comes first (`published_second`, then the highest id)."""
    words = _ts_query(q)
    phrase = func.phraseto_tsquery(text(f"'{SEARCH_CONFIG}'::regconfig"), q)
    return case(
        (_weight("a").op("@@")(phrase), 4),
        (_weight("a").op("@@")(words), 3),
        (_weight("b").op("@@")(words), 2),
        (_weight("c").op("@@")(words), 1),
        else_=0,
    )


def published_second() -> ColumnElement[int]:
    """Whole seconds since the epoch of a job's publication (the engine's `seconds`)."""
    return cast(func.floor(func.extract("epoch", Job.published_at)), BigInteger)


class RelevancePosition(Position):
    tier: Annotated[int, Field(ge=0, le=4)]
    published_second: int
    id: CursorId


@dataclass(frozen=True, slots=True)
class RankedJob(JobListed):
    """A job with its place in the relevance order."""

    tier: int
    published_second: int


@dataclass(frozen=True, slots=True)
class Queries:
    """A search's words as PostgreSQL reads them (tsquery text): as a web search, and as a
    phrase."""

    words: str
    phrase: str


def _queries() -> hot.HotRead[Queries]:
    q = _bound("q", None)
    phrase = func.phraseto_tsquery(text(f"'{SEARCH_CONFIG}'::regconfig"), q)
    return hot.HotRead(
        select(cast(_ts_query(q), String).label("words"), cast(phrase, String).label("phrase")),
        Queries,
    )


_QUERIES = _queries()


# The jobs changed since the engine's position: the outbox entries its snapshot did not see.
_CHANGED = (
    select(SearchOutboxEntry.job_id)
    .where(
        search_outbox.since(
            bindparam("position_xmin", type_=String()),
            bindparam("position_snapshot", type_=String()),
        )
    )
    .scalar_subquery()
)


# What PostgreSQL made of the searches' words lately (its text search configuration is
# fixed while the API runs): a search typed again skips a round trip.
_PARSED: OrderedDict[str, Queries] = OrderedDict()
PARSED_KEPT = 4096


async def _parsed(reader: hot.Reader, q: str) -> Queries:
    found = _PARSED.get(q)
    if found is None:
        found = await hot.one(reader, _QUERIES, {"q": q})
        assert found is not None  # one row
        _PARSED[q] = found
        if len(_PARSED) > PARSED_KEPT:
            _PARSED.popitem(last=False)
    else:
        _PARSED.move_to_end(q)
    return found


@functools.lru_cache(maxsize=SHAPES_KEPT)
def _relevant(names: tuple[str, ...]) -> hot.HotRead[RankedJob]:
    """The relevance order of a search binding `names`: over every match, or (binding
    `candidates` and the engine's position) over those jobs: the engine's candidates and
    the jobs changed since its position (`_CHANGED`)."""
    relevance = tier(_bound("q", None))
    second = published_second()
    statement = _filtered_by(names).add_columns(
        relevance.label("tier"), second.label("published_second")
    )
    if "candidates" in names:
        named = bindparam("candidates", type_=ARRAY(BigInteger()))
        statement = statement.where(
            Job.id == any_(func.array_cat(named, func.array(_CHANGED, type_=ARRAY(BigInteger()))))
        )
    if "after_tier" in names:
        after = (_position("after_tier"), _position("after_second"), _position("after_id"))
        statement = statement.where(tuple_(relevance, second, Job.id) < tuple_(*after))
    order = (relevance.desc(), second.desc(), Job.id.desc())
    # Over given ids the plan is the primary key's whatever the values: prepared.
    return hot.HotRead(
        statement.order_by(*order).limit(_position("limit")),
        RankedJob,
        prepare="candidates" in names,
    )


def _engine_filters(filters: JobFilters) -> engine.Filters:
    return engine.Filters(
        workplace=filters.workplace,
        employment_type=filters.employment_type,
        company_id=filters.company_id,
        tags=tuple(filters.tags),
        salary_min=filters.salary_min,
        posted_after=filters.posted_after,
        location=filters.location,
    )


# An engine whose writer has not caught up for this long is not asked (its process gone):
# PostgreSQL answers alone until one has.
STALE_SECONDS = 60.0
# Candidates asked of the engine beyond a page, for jobs PostgreSQL finds changed; asked
# again four times as many while too few remain, up to MAX_CANDIDATES.
SLACK = 8
MAX_CANDIDATES = 20_000


@functools.lru_cache(maxsize=PARSED_KEPT)
def _compiled(queries: Queries, filters: engine.Filters) -> engine.Compiled | None:
    """The engine's queries for a search (immutable, so kept for the next one alike)."""
    words = query.parse(queries.words)
    if words is None:
        return None
    return engine.compile_search(words, query.parse(queries.phrase), filters)


async def _from_engine(
    reader: hot.Reader,
    index: engine.SearchIndex,
    *,
    filters: JobFilters,
    values: dict[str, Any],
    limit: int,
    after: RelevancePosition | None,
) -> list[RankedJob] | None:
    """The page from the engine's candidates, or None where the engine cannot answer (a
    query it cannot read, an index not built or not kept).

    PostgreSQL orders the candidates and the jobs changed since the engine's position by
    `tier`. The engine never ranks a job it holds below its tier (it may rank one above:
    `engine.title_phrase`), so every job it did not name ranks below the last one it did;
    the page is complete once its row after the last (the next page's first) ranks at
    least there, else the engine is asked for four times as many.
    """
    queries = await _parsed(reader, values["q"])
    try:
        compiled = _compiled(queries, _engine_filters(filters))
    except query.Unsupported:
        return None
    if compiled is None:  # only stop words: no match
        return []
    view = index.view()  # kept for a tenth of a second: a thread would cost more
    if view is None or time.time() - view.caught_up_at > STALE_SECONDS:
        return None
    start = None
    if after is not None:
        start = engine.Ranked(after.tier, engine.key_of(after.published_second, after.id), after.id)
    position = {
        "position_xmin": str(view.position.xmin),
        "position_snapshot": view.position.snapshot,
    }
    wanted = limit + 1 + SLACK
    while wanted <= MAX_CANDIDATES:
        ranked = await asyncio.to_thread(view.ranked, compiled, after=start, limit=wanted)
        bound = values | position | {"candidates": [each.id for each in ranked]}
        rows = await hot.every(reader, _relevant(tuple(bound)), bound)
        if len(ranked) < wanted:
            return rows
        if len(rows) > limit:
            last = rows[limit]
            place = engine.Ranked(last.tier, engine.key_of(last.published_second, last.id), last.id)
            if place >= ranked[-1]:
                return rows
        wanted *= 4
    return None


async def search_by_relevance(
    reader: hot.Reader,
    *,
    filters: JobFilters,
    limit: int,
    after: RelevancePosition | None,
    index: engine.SearchIndex | None = None,
) -> Positioned[JobListed, RelevancePosition]:
    """Visible jobs matching `filters` (which has `q`), the most relevant first (`tier`).

    With a search engine (`index`), it names the candidates and PostgreSQL reads them back,
    with every job changed since the engine's position, testing each against the search:
    the page is the one PostgreSQL alone would return (below), at the engine's speed.
    """
    assert filters.q
    values = {**_filter_values(filters), "limit": limit + 1}
    if after is not None:
        values |= {
            "after_tier": after.tier,
            "after_second": after.published_second,
            "after_id": after.id,
        }
    rows = None
    if index is not None:
        rows = await _from_engine(
            reader, index, filters=filters, values=values, limit=limit, after=after
        )
    if rows is None:
        rows = await hot.every(reader, _relevant(tuple(values)), values)
    ranked = rows
    found: list[JobListed] = list(ranked)
    return Positioned(
        found,
        lambda at: RelevancePosition(
            tier=ranked[at].tier, published_second=ranked[at].published_second, id=ranked[at].id
        ),
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


@dataclass(frozen=True, slots=True)
class Watch:
    """A saved search's alert to match: its filters and its window [start, end)."""

    key: int
    filters: JobFilters
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class NewMatches:
    """A window's newest matches (id, title, location, company name) and how many in all."""

    rows: list[Any]
    total: int


# The jobs published in a batch of alerts' windows, copied for the batch (`new_matches`):
# the columns the searches filter on and the alerts show, the enums as text.
_WINDOW_DDL = (
    "CREATE TEMPORARY TABLE alert_window (id bigint, company_id bigint, title text, "
    "location text, workplace text, employment_type text, tags varchar[], salary_min "
    "integer, salary_max integer, published_at timestamptz, search tsvector) ON COMMIT DROP"
)
_WINDOW = table(
    "alert_window",
    column("id", BigInteger),
    column("company_id", BigInteger),
    column("title", String),
    column("location", String),
    column("workplace", String),
    column("employment_type", String),
    column("tags", Job.tags.type),
    column("salary_min", Integer),
    column("salary_max", Integer),
    column("published_at", DateTime(timezone=True)),
    column("search", TSVECTOR),
)
# The types of a search's values beside the copy's columns.
_WATCH_TYPES = _FILTER_TYPES | {"workplace": String(), "employment_type": String()}


async def new_matches(
    session: AsyncSession, *, watches: Sequence[Watch], limit: int
) -> dict[int, NewMatches]:
    """For each watch (by key), the visible jobs matching its filters published in its
    window, newest first, at most `limit`, and how many there are in all: every watch of a
    batch at once, not a query each.

    The visible jobs published in the span of the windows are copied once into a temporary
    table with a full-text index of its own (a day's jobs, not the whole table's posting
    lists), and the watches of each shape (which filters they use) are matched against it
    in one statement: each a row of VALUES beside a LATERAL search of the copy, through its
    own filters (`_conditions`, as `GET /jobs` takes them). The copy is dropped before the
    function returns (and at commit at the latest)."""
    if not watches:
        return {}
    await session.execute(text(_WINDOW_DDL))
    copied = select(
        Job.id,
        Job.company_id,
        Job.title,
        Job.location,
        cast(Job.workplace, String),
        cast(Job.employment_type, String),
        Job.tags,
        Job.salary_min,
        Job.salary_max,
        Job.published_at,
        Job.search,
    ).where(
        publicly_visible(),
        Job.published_at >= min(watch.start for watch in watches),
        Job.published_at < max(watch.end for watch in watches),
    )
    await session.execute(insert(_WINDOW).from_select(list(_WINDOW.c.keys()), copied))
    await session.execute(text("CREATE INDEX ON alert_window USING gin (search)"))
    await session.execute(text("ANALYZE alert_window"))
    shapes: dict[tuple[str, ...], list[tuple[Watch, dict[str, Any]]]] = {}
    for watch in watches:
        values_of = _filter_values(watch.filters)
        shapes.setdefault(tuple(values_of), []).append((watch, values_of))
    # The watches' values decide each best plan, and the worker's connections live long:
    # planned for these values, for the rest of the transaction.
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    found: dict[int, NewMatches] = {}
    for names, members in shapes.items():
        for row in await session.execute(_new_matches_of(names, members, limit=limit)):
            matches = found.setdefault(row.key, NewMatches(rows=[], total=int(row.total)))
            matches.rows.append(row)
    await session.execute(text("DROP TABLE alert_window"))
    return found


def _new_matches_of(
    names: tuple[str, ...], members: list[tuple[Watch, dict[str, Any]]], *, limit: int
) -> Select[Any]:
    watched = values(
        column("key", BigInteger),
        column("start", DateTime(timezone=True)),
        column("end", DateTime(timezone=True)),
        *(column(name, _WATCH_TYPES[name]) for name in names),
        name="watched",
    ).data(
        [
            (watch.key, watch.start, watch.end, *(values_of[name] for name in names))
            for watch, values_of in members
        ]
    )
    copy = _WINDOW.c
    newest = (
        select(
            copy.id,
            copy.title,
            copy.location,
            copy.company_id,
            copy.published_at,
            func.count().over().label("total"),
        )
        .where(
            copy.published_at >= watched.c.start,
            copy.published_at < watched.c.end,
            *_conditions(names, lambda name: watched.c[name], job=copy),
        )
        .order_by(copy.published_at.desc(), copy.id.desc())
        .limit(limit)
        .lateral("newest")
    )
    return (
        select(
            watched.c.key,
            newest.c.id,
            newest.c.title,
            newest.c.location,
            Company.name.label("company_name"),
            newest.c.total,
        )
        .select_from(watched)
        .join(newest, true())
        .join(Company, Company.id == newest.c.company_id)
        .order_by(watched.c.key, newest.c.published_at.desc(), newest.c.id.desc())
    )


# A job's similar jobs: the SIMILAR_TITLES titles of the board most alike to its own
# (pg_trgm's `%`, through ix_job_titles_title_trgm), the SIMILAR_PER_TITLE newest visible
# jobs of each (through ix_jobs_title_newest), ranked by how alike the title is, then the
# tags they share and the same place.
SIMILAR_TITLES = 8
SIMILAR_PER_TITLE = 10
SHARED_TAG_WEIGHT = 0.1
SAME_PLACE_WEIGHT = 0.2


async def similar(
    session: AsyncSession,
    *,
    job_id: int,
    title: str,
    tags: Sequence[str],
    location: str,
    limit: int,
) -> list[Any]:
    """Visible jobs like `job_id` (its title, tags and location given), the most alike
    first: a bounded read whatever the board's size (at most SIMILAR_TITLES index scans of
    SIMILAR_PER_TITLE rows each)."""
    alike = func.similarity(JobTitle.title, title).label("alike")
    titles = (
        select(JobTitle.title, alike)
        .where(JobTitle.title.op("%")(title), JobTitle.published_count > 0)
        .order_by(alike.desc(), JobTitle.title)
        .limit(SIMILAR_TITLES)
        .cte("alike_titles")
    )
    newest = (
        select(*LISTED_COLUMNS)
        .where(Job.title == titles.c.title, publicly_visible(), Job.id != job_id)
        .order_by(Job.published_at.desc(), Job.id.desc())
        .limit(SIMILAR_PER_TITLE)
        .lateral("newest")
    )
    tag = func.unnest(newest.c.tags).table_valued("tag").render_derived()
    shared = (
        select(func.count())
        .select_from(tag)
        .where(tag.c.tag == any_(cast(list(tags), ARRAY(String))))
        .scalar_subquery()
    )
    same_place = case((func.lower(newest.c.location) == location.lower(), 1.0), else_=0.0)
    score = titles.c.alike + SHARED_TAG_WEIGHT * shared + SAME_PLACE_WEIGHT * same_place
    statement = (
        select(newest)
        .select_from(titles)
        .join(newest, true())
        .order_by(score.desc(), newest.c.published_at.desc(), newest.c.id.desc())
        .limit(limit)
    )
    return list(await session.execute(statement))
