"""What the search engine's index is built from: the outbox of changed jobs (migration
0011), and each job's search document (its search vector's lexemes with their positions
and weights, and the values searches filter on). See backend.search."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Job, JobStatus, SearchOutboxEntry
from backend.db.models.search_outbox import Xid8


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where a reader of the outbox is: after the entry (xid, id)."""

    xid: int
    id: int


START = Position(0, 0)

# How long an entry is kept: an index that has not read the outbox for half of this is
# built again rather than caught up (backend.search.feed), so none misses a purged entry.
KEPT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Change:
    position: Position
    # None: every job changed (the table was truncated).
    job_id: int | None


@dataclass(frozen=True, slots=True)
class Document:
    """A published job as the index holds it; `lexemes` is its search vector as
    [lexeme, positions, weights] triples (positions None where the vector has none)."""

    id: int
    published_at: datetime
    expires_at: datetime | None
    workplace: str
    employment_type: str
    company_id: int
    tags: list[str]
    salary: int | None
    location: str
    lexemes: list[tuple[str, list[int] | None, list[str] | None]]


def _after(position: Position) -> Any:
    return tuple_(SearchOutboxEntry.xid, SearchOutboxEntry.id) > tuple_(
        cast(bindparam("after_xid", str(position.xid), type_=String()), Xid8()),
        bindparam("after_id", position.id, type_=BigInteger()),
    )


# Every transaction with an id below this one has ended: no entry can appear below it.
_HORIZON = func.pg_snapshot_xmin(func.pg_current_snapshot())


async def changes(session: AsyncSession, *, after: Position, limit: int) -> list[Change]:
    """Up to `limit` entries after `after`, in (xid, id) order, of transactions that ended
    before any transaction still running began: the ones no later commit can precede."""
    statement = (
        select(
            cast(SearchOutboxEntry.xid, String()).label("xid"),
            SearchOutboxEntry.id,
            SearchOutboxEntry.job_id,
        )
        .where(_after(after), SearchOutboxEntry.xid < _HORIZON)
        .order_by(SearchOutboxEntry.xid, SearchOutboxEntry.id)
        .limit(limit)
    )
    rows = await session.execute(statement)
    return [Change(Position(int(row.xid), row.id), row.job_id) for row in rows]


async def horizon(session: AsyncSession) -> Position:
    """The last entry every reader may take now (see `changes`): where an index built from
    this transaction's snapshot of the jobs starts reading the outbox. START if none."""
    statement = (
        select(cast(SearchOutboxEntry.xid, String()).label("xid"), SearchOutboxEntry.id)
        .where(SearchOutboxEntry.xid < _HORIZON)
        .order_by(SearchOutboxEntry.xid.desc(), SearchOutboxEntry.id.desc())
        .limit(1)
    )
    row = (await session.execute(statement)).first()
    return START if row is None else Position(int(row.xid), row.id)


def _documents() -> Select[Any]:
    lexeme = func.unnest(Job.search).table_valued("lexeme", "positions", "weights")
    triples = (
        select(
            func.coalesce(
                func.json_agg(
                    func.json_build_array(lexeme.c.lexeme, lexeme.c.positions, lexeme.c.weights)
                ),
                cast(literal_column("'[]'"), JSON),
            )
        )
        .select_from(lexeme)
        .scalar_subquery()
    )
    return select(
        Job.id,
        Job.published_at,
        Job.expires_at,
        cast(Job.workplace, String()).label("workplace"),
        cast(Job.employment_type, String()).label("employment_type"),
        Job.company_id,
        Job.tags,
        func.coalesce(Job.salary_max, Job.salary_min).label("salary"),
        Job.location,
        triples.label("lexemes"),
    ).where(Job.status == JobStatus.published)


def _document(row: Any) -> Document:
    return Document(
        id=row.id,
        published_at=row.published_at,
        expires_at=row.expires_at,
        workplace=row.workplace,
        employment_type=row.employment_type,
        company_id=row.company_id,
        tags=list(row.tags),
        salary=row.salary,
        location=row.location,
        lexemes=[(str(item[0]), item[1], item[2]) for item in row.lexemes],
    )


async def documents(session: AsyncSession, job_ids: Sequence[int]) -> list[Document]:
    """The documents of those of `job_ids` that are published (the rest have none)."""
    rows = await session.execute(_documents().where(Job.id.in_(list(job_ids))))
    return [_document(row) for row in rows]


async def every_document(session: AsyncSession, *, batch: int) -> AsyncIterator[list[Document]]:
    """Every published job's document, `batch` at a time, from one server-side cursor."""
    result = await session.stream(_documents().execution_options(yield_per=batch))
    async for rows in result.partitions(batch):
        yield [_document(row) for row in rows]


async def purge(session: AsyncSession, *, older_than: datetime) -> int:
    """Forget the entries written before `older_than`."""
    result = await session.execute(
        delete(SearchOutboxEntry).where(SearchOutboxEntry.created_at < older_than)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
