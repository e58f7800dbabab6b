"""What the search engine's index is built from: the outbox of changed jobs (migration
0011), and each job's search document (its search vector's lexemes with their positions
and weights, and the values searches filter on). See backend.search."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    func,
    not_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Job, JobStatus, SearchOutboxEntry
from backend.db.models.search_outbox import PgSnapshot, Xid8


@dataclass(frozen=True, slots=True)
class Position:
    """Where a reader of the outbox is: every entry visible in this PostgreSQL snapshot
    (`pg_snapshot` text, `xmin:xmax:xip,...`) has been read, and no other."""

    snapshot: str

    @property
    def xmin(self) -> int:
        """No entry of a transaction below this one can become visible later."""
        return int(self.snapshot.split(":", 1)[0])


# How long an entry is kept: an index that has not read the outbox for half of this is
# built again rather than caught up (backend.search.feed), so none misses a purged entry.
KEPT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed after a position, as of `position` (this transaction's snapshot)."""

    position: Position
    job_ids: list[int]
    # A truncate: every job changed.
    everything: bool


def since(xmin: ColumnElement[Any], snapshot: ColumnElement[Any]) -> ColumnElement[bool]:
    """The entries a reader at the position (`xmin`, `snapshot`) has not read: committed
    since, whether their transactions began before or after it. The index on (xid, id)
    bounds the range from `xmin`."""
    return and_(
        SearchOutboxEntry.xid >= cast(xmin, Xid8()),
        not_(func.pg_visible_in_snapshot(SearchOutboxEntry.xid, cast(snapshot, PgSnapshot()))),
    )


async def snapshot(session: AsyncSession) -> Position:
    """The position of this transaction's snapshot (REPEATABLE READ: every read of the
    transaction sees exactly it)."""
    value = await session.scalar(select(cast(func.pg_current_snapshot(), String())))
    assert value is not None
    return Position(str(value))


async def changes(session: AsyncSession, *, after: Position) -> Changes:
    """The jobs changed after `after`, as of this REPEATABLE READ transaction's snapshot,
    which is the new position once they are applied. A transaction that stays open long
    holds nothing back: its entries are read once it commits."""
    now = await snapshot(session)
    statement = (
        select(SearchOutboxEntry.job_id)
        .where(
            since(
                bindparam("after_xmin", str(after.xmin), type_=String()),
                bindparam("after_snapshot", after.snapshot, type_=String()),
            )
        )
        .distinct()
    )
    found = list((await session.scalars(statement)).all())
    job_ids = sorted(job_id for job_id in found if job_id is not None)
    return Changes(now, job_ids, everything=None in found)


@dataclass(frozen=True, slots=True)
class Document:
    """A published job as the index holds it: its search vector as PostgreSQL prints it
    (`'lexeme':1A,5 ...`), and the values searches filter on."""

    id: int
    published_at: datetime
    expires_at: datetime | None
    workplace: str
    employment_type: str
    company_id: int
    tags: list[str]
    salary: int | None
    location: str
    vector: str


def _documents() -> Select[*tuple[Any, ...]]:
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
        func.coalesce(cast(Job.search, Text()), "").label("vector"),
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
        vector=row.vector,
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
