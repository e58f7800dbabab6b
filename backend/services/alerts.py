"""Saved searches, and the alerts that mail each one's new matches.

An alert covers a window of publication times: from where the last one stopped
(`alerted_through`) to the time it was due (`next_alert_at`), so that consecutive windows
meet exactly: no job is mailed twice for one saved search and none is skipped. A worker
that was down catches up with one mail covering every window it missed. An alert runs
ALERT_LAG after it is due, so that a job published just before is committed by then.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.config import Settings
from backend.core.exceptions import Conflict, NotFound
from backend.core.pagination import Paged, PageRequest
from backend.db.models import AlertFrequency, SavedSearch
from backend.db.queue import SEND_JOB_ALERT, SEND_JOB_ALERTS, enqueue
from backend.db.repository import job_search as search_repo
from backend.db.repository import saved_searches as saved_repo
from backend.db.repository import users as users_repo
from backend.db.repository.base import IdPosition
from backend.db.repository.sessions import Caller
from backend.schemas.job import JobSearch
from backend.schemas.saved_search import SavedSearchCreate, SavedSearchUpdate
from backend.services import jobs as jobs_service
from backend.services import notifications

logger = logging.getLogger(__name__)

MAX_SAVED_SEARCHES = 20
MAX_JOBS_IN_ALERT = 20
ALERT_LAG = timedelta(minutes=2)
PERIODS = {AlertFrequency.daily: timedelta(days=1), AlertFrequency.weekly: timedelta(days=7)}
SAVED_SEARCH_NOT_FOUND = "Saved search not found."
# Due saved searches a task alerts, their matches found together.
ALERT_BATCH = 1000


def stored(search: JobSearch) -> dict[str, Any]:
    """A search as a saved search keeps it: JSON, without the parameters left out."""
    return search.model_dump(mode="json", exclude_none=True)


async def create(db: AsyncSession, *, user: Caller, payload: SavedSearchCreate) -> SavedSearch:
    """Save a search (at most MAX_SAVED_SEARCHES a user: decided on the locked account, so
    that saves at once cannot pass it); its first alert covers jobs published from now."""
    account = (await users_repo.lock(db, user_ids=[user.id])).get(user.id)
    if account is None:
        raise NotFound(SAVED_SEARCH_NOT_FOUND)
    if await saved_repo.count_for_user(db, user_id=user.id) >= MAX_SAVED_SEARCHES:
        raise Conflict(f"You can keep at most {MAX_SAVED_SEARCHES} saved searches.")
    now = datetime.now(UTC)
    return await saved_repo.create(
        db,
        user_id=user.id,
        name=payload.name,
        query=stored(payload.search),
        frequency=payload.frequency,
        alerted_through=now,
        next_alert_at=now + PERIODS[payload.frequency],
    )


async def list_mine(db: AsyncSession, *, user: Caller, page: PageRequest) -> Paged[SavedSearch]:
    kind = "saved-searches"
    rows = await saved_repo.list_for_user(
        db, user_id=user.id, limit=page.limit, after=page.after(kind, IdPosition)
    )
    return page.page(rows, kind)


async def get(db: AsyncSession, *, user: Caller, saved_search_id: int) -> SavedSearch:
    saved = await saved_repo.get(db, saved_search_id=saved_search_id, user_id=user.id)
    if saved is None:
        raise NotFound(SAVED_SEARCH_NOT_FOUND)
    return saved


async def update(
    db: AsyncSession, *, user: Caller, saved_search_id: int, payload: SavedSearchUpdate
) -> SavedSearch:
    """Rename it, change its search, or how often it alerts (from its last alert on)."""
    saved = await saved_repo.get(
        db, saved_search_id=saved_search_id, user_id=user.id, lock="update"
    )
    if saved is None:
        raise NotFound(SAVED_SEARCH_NOT_FOUND)
    changes: dict[str, Any] = {}
    if payload.name is not None:
        changes["name"] = payload.name
    if payload.search is not None:
        changes["query"] = stored(payload.search)
    if payload.frequency is not None and payload.frequency != saved.frequency:
        changes["frequency"] = payload.frequency
        changes["next_alert_at"] = saved.alerted_through + PERIODS[payload.frequency]
    if not changes:
        return saved
    return await saved_repo.update(db, saved=saved, **changes)


async def delete(db: AsyncSession, *, user: Caller, saved_search_id: int) -> None:
    saved = await saved_repo.get(
        db, saved_search_id=saved_search_id, user_id=user.id, lock="update"
    )
    if saved is None:
        raise NotFound(SAVED_SEARCH_NOT_FOUND)
    await saved_repo.delete(db, saved=saved)


async def schedule_due(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Ask for the alerts of every due saved search, a task for each ALERT_BATCH of them
    (matched together; every worker takes a share of the tasks); none while the tasks
    asked for last time still wait or run. How many saved searches were asked for."""
    due_by = datetime.now(UTC) - ALERT_LAG
    count, after_id = 0, 0
    while True:
        async with sessionmaker() as db, db.begin():
            if count == 0 and await saved_repo.alert_tasks_waiting(
                db, task_names=(SEND_JOB_ALERTS, SEND_JOB_ALERT)
            ):
                return 0
            ids = await saved_repo.due_ids(db, due_by=due_by, after_id=after_id, limit=ALERT_BATCH)
            if ids:
                await enqueue(db, SEND_JOB_ALERTS, saved_search_ids=ids)
        count += len(ids)
        if len(ids) < ALERT_BATCH:
            return count
        after_id = ids[-1]


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert to mail: its saved search's window as found, and the mail."""

    window: saved_repo.Window
    # Names the send: one mail per saved search and window.
    key: str
    message: EmailMessage
    # Where it goes, under which security generation: as the mail was written.
    email: str
    generation: int


def _search_link(settings: Settings, query: dict[str, Any]) -> str:
    pairs = [
        (name, item)
        for name, value in query.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    return f"{settings.frontend_url.rstrip('/')}/?{urlencode(pairs)}"


def _window(target: saved_repo.AlertTarget, horizon: datetime) -> saved_repo.Window:
    """The window a due saved search's alert covers: every one missed while no worker ran,
    in one mail."""
    period = PERIODS[target.frequency]
    end = target.next_alert_at + ((horizon - target.next_alert_at) // period) * period
    return saved_repo.Window(
        saved_search_id=target.saved_search_id,
        frequency=target.frequency,
        alerted_through=target.alerted_through,
        window_end=end,
        next_alert_at=end + period,
    )


async def due_alerts(
    db: AsyncSession, settings: Settings, *, saved_search_ids: Sequence[int]
) -> list[Alert]:
    """The mails of those of the saved searches whose alerts are due, their new matches
    found together (`job_search.new_matches`); the windows of those with nothing to mail
    (no new match, alerts off, a search no longer valid) are moved on in `db`'s
    transaction. A search another run holds, gone, or not due is left out."""
    horizon = datetime.now(UTC) - ALERT_LAG
    targets = [
        target
        for target in await saved_repo.lock_for_alerts(db, saved_search_ids=saved_search_ids)
        if target.next_alert_at <= horizon
    ]
    windows = {target.saved_search_id: _window(target, horizon) for target in targets}
    watches = []
    for target in targets:
        if not target.wants_it:
            continue
        try:
            search = JobSearch.model_validate(target.query)
        except ValidationError:
            # Saved under rules since tightened: this search sends nothing, and stops no other.
            logger.warning("saved search %d holds a search no longer valid", target.saved_search_id)
            continue
        window = windows[target.saved_search_id]
        watches.append(
            search_repo.Watch(
                key=target.saved_search_id,
                filters=jobs_service.to_filters(search),
                start=window.alerted_through,
                end=window.window_end,
            )
        )
    found = await search_repo.new_matches(db, watches=watches, limit=MAX_JOBS_IN_ALERT)
    mailed = [target for target in targets if target.saved_search_id in found]
    await saved_repo.move_on(db, windows=[w for key, w in windows.items() if key not in found])
    return [
        _alert(settings, target, windows[target.saved_search_id], found[target.saved_search_id])
        for target in mailed
    ]


def _alert(
    settings: Settings,
    target: saved_repo.AlertTarget,
    window: saved_repo.Window,
    matches: search_repo.NewMatches,
) -> Alert:
    frontend = settings.frontend_url.rstrip("/")
    context = {
        "name": target.full_name,
        "search_name": target.name,
        "total": matches.total,
        "jobs": [
            {
                "title": row.title,
                "company": row.company_name,
                "location": row.location,
                "link": f"{frontend}/jobs/{row.id}",
            }
            for row in matches.rows
        ],
        "more": matches.total - len(matches.rows),
        "search_link": _search_link(settings, target.query),
    }
    message = notifications.notification_mail(
        settings,
        "job_alert",
        to=target.email,
        user_id=target.user_id,
        generation=target.generation,
        kind=notifications.Kind.job_alerts,
        context=context,
    )
    key = f"alert:{target.saved_search_id}:{window.window_end.isoformat()}"
    return Alert(
        window=window,
        key=key,
        message=message,
        email=target.email,
        generation=target.generation,
    )


async def claim(db: AsyncSession, *, alert: Alert) -> bool:
    """Move the alert's window on before its mail goes out in the same transaction, if the
    saved search is still as the alert found it and its owner may still be mailed alerts at
    the same address under the same security generation (its row locked until commit);
    False when another run moved it on, its owner changed how often it alerts, deleted it,
    turned alerts off, or changed address or security since (the next run sees to it)."""
    return await saved_repo.claim_for_mail(
        db, window=alert.window, email=alert.email, generation=alert.generation
    )
