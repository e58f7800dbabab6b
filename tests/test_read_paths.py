"""The front page's own statement (its values bound, one compiled shape for every page)
lists what the general query lists."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import JobStatus
from backend.db.repository import base
from backend.db.repository import job_search as search_repo
from backend.db.repository.job_search import JobFilters, NewestPosition
from tests.factories import Actors, create_job


async def test_the_front_page_compiled_once_lists_what_the_general_query_lists(
    db: AsyncSession, actors: Actors
) -> None:
    assert actors.employer.company is not None
    company = actors.employer.company
    now = datetime.now(UTC)
    for number in range(7):
        await create_job(db, company=company, title=f"Visible {number}")
    await create_job(db, company=company, title="Draft", status=JobStatus.draft)
    expired = await create_job(db, company=company, title="Expired")
    expired.expires_at = now - timedelta(days=1)
    await db.flush()

    async def general(after: NewestPosition | None) -> list[int]:
        statement = search_repo.newest_statement(JobFilters(), limit=3, after=after)
        return [row.id for row in await base.all_rows(db, statement)]

    after: NewestPosition | None = None
    walked: list[int] = []
    while True:
        page = await search_repo.search_newest(db, filters=JobFilters(), limit=3, after=after)
        assert [job.id for job in page.items] == await general(after)
        walked += [job.id for job in page.items[:3]]
        if len(page.items) <= 3:
            break
        after = page.position(2)
    assert len(walked) == len(set(walked)) == 7
    assert expired.id not in walked


def test_a_lists_positions_are_built_only_when_asked_for() -> None:
    from backend.core.cursor import CursorCodec
    from backend.core.pagination import PageRequest, Positioned
    from backend.db.repository.base import IdPosition

    built: list[int] = []

    def position(index: int) -> IdPosition:
        built.append(index)
        return IdPosition(id=100 - index)

    rows = Positioned(list(range(5)), position)
    page = PageRequest(limit=3, cursor=None, codec=CursorCodec("k" * 48)).page(rows, "things")
    assert page.items == [0, 1, 2]
    assert built == [2]  # the last row served: the next page starts after it
    assert page.next_cursor is not None
    assert rows.position(1) == IdPosition(id=99)
    assert built == [2, 1]  # only what was asked for
