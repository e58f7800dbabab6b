"""Jobs: posting, searching, reading, changing and deleting them, and who may do which."""

import re
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import Conflict, Forbidden, InvalidField, NotFound
from backend.core.mailtemplates import SITE_NAME
from backend.core.pagination import Paged, PageRequest
from backend.db.hot import Reader
from backend.db.models import Company, Job, JobRevision, JobStatus
from backend.db.repository import companies as companies_repo
from backend.db.repository import job_search as search_repo
from backend.db.repository import jobs as jobs_repo
from backend.db.repository.base import IdPosition
from backend.db.repository.job_search import JobFilters
from backend.db.repository.jobs import JobListed, JobPage, JobRow
from backend.db.repository.sessions import Caller
from backend.db.transactions import Transactions, own_transaction
from backend.schemas.feeds import AggregatorFeed
from backend.schemas.job import JobCreate, JobQuery, JobSearch, JobUpdate
from backend.schemas.job import Sort as SearchSort
from backend.search.engine import SearchIndex
from backend.services import (
    closing,
    members,
    moderation,
    revisions,
    signals,
    verification,
    webhooks,
)
from backend.services.members import Need
from backend.services.rules import check_if_match

JOB_NOT_FOUND = "Job not found."
ANOTHER_EMPLOYERS_JOB = "This job belongs to another employer."

# What a job's owner may change its status to; setting the current status again is a
# no-op, and any change not listed is a 409. Asking to publish may hold the job for review
# instead (backend.services.moderation); a held job is published, rejected or sent back as
# a draft by a moderator, and withdrawn as a draft by its owner.
ALLOWED_TRANSITIONS = frozenset(
    {
        (JobStatus.draft, JobStatus.published),
        (JobStatus.pending, JobStatus.draft),
        (JobStatus.published, JobStatus.closed),
        (JobStatus.closed, JobStatus.published),
    }
)

# What an edit changes at once even while what the job says waits for review.
UNREVIEWED_FIELDS = frozenset({"expires_at"})

# The orders of a search (one definition, in the schema GET /jobs and saved searches share).
Sort = SearchSort

__all__ = ["JobFilters", "Sort"]

AUTOCOMPLETE_LIMIT = 10
MAX_AUTOCOMPLETE_WORDS = 5
# Autocomplete matches word prefixes; anything but letters and digits only separates words.
WORD = re.compile(r"[^\W_]+")


def to_filters(query: JobQuery) -> JobFilters:
    """A search's filters as the repository takes them (blank text is no filter)."""
    return JobFilters(
        q=query.q.strip() if query.q and query.q.strip() else None,
        location=query.location or None,
        workplace=query.workplace,
        employment_type=query.employment_type,
        company_id=query.company_id,
        tags=tuple(query.tag or ()),
        salary_min=query.salary_min,
        posted_after=query.posted_after,
    )


async def _publishing(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    company: Company,
    asked: signals.Asked,
) -> dict[str, Any]:
    """The columns of a job its owner asks to publish: published now, or held for review."""
    verification.require_confirmed(user, "publish jobs")
    return await moderation.publication(db, settings, user=user, company=company, asked=asked)


async def create(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    payload: JobCreate,
    external_id: str | None = None,
) -> Job:
    """Post a job for a company the caller owns (any company, for an admin); asked to be
    published, it may be held for review. `external_id`: an applicant-tracking system's id
    of it (see services.ats)."""
    renderings = await revisions.renderings(payload.description)
    # Shared lock: the company cannot be deleted or change hands under the new job.
    company = await companies_repo.get(db, company_id=payload.company_id, lock="share")
    if company is None:
        raise InvalidField(("body", "company_id"), "No company has this id")
    role = await members.role_in(db, user, company.id)
    if role is None:
        raise Forbidden("This company belongs to another employer.")
    members.check(role, Need.work)
    values = payload.model_dump(exclude={"company_id"}) | renderings
    if external_id is not None:
        values["external_id"] = external_id
    if payload.status == JobStatus.published:
        asked = signals.Asked(
            job_id=None,
            title=payload.title,
            description=payload.description,
            salary_min=payload.salary_min,
            salary_max=payload.salary_max,
        )
        values |= await _publishing(db, settings, user=user, company=company, asked=asked)
    elif payload.status in (JobStatus.pending, JobStatus.rejected):
        raise InvalidField(("body", "status"), "Only a moderator's decision sets this status")
    job = await jobs_repo.create(db, company=company, **values)
    await webhooks.job_changed(db, job=job, before=None)
    await members.record(
        db,
        user=user,
        company_id=company.id,
        action="job_created",
        job_id=job.id,
        status=job.status.value,
    )
    return job


def _order(filters: JobFilters, sort: Sort | None) -> Sort:
    order: Sort = sort or "relevance"
    return "newest" if order == "relevance" and not filters.q else order


async def search(
    db: Reader, *, search: JobSearch, page: PageRequest, index: SearchIndex | None = None
) -> Paged[JobListed]:
    """Visible jobs matching the search, in its order (relevance by default with words),
    every statement a hot read (see backend.db.hot)."""
    filters = to_filters(search)
    order = _order(filters, search.sort)
    kind, scope = f"jobs:{order}", filters.scope(order)
    if order == "newest":
        after_newest = page.after(kind, search_repo.NewestPosition, scope)
        newest = await search_repo.search_newest(
            db, filters=filters, limit=page.limit, after=after_newest
        )
        return page.page(newest, kind, scope)
    if order == "salary":
        after_salary = page.after(kind, search_repo.SalaryPosition, scope)
        best_paid = await search_repo.search_by_salary(
            db, filters=filters, limit=page.limit, after=after_salary
        )
        return page.page(best_paid, kind, scope)
    after_rank = page.after(kind, search_repo.RelevancePosition, scope)
    relevant = await search_repo.search_by_relevance(
        db, filters=filters, limit=page.limit, after=after_rank, index=index
    )
    return page.page(relevant, kind, scope)


async def autocomplete(db: Reader, *, typed: str) -> list[str]:
    """Up to 10 distinct titles of visible jobs with a word starting with what was typed."""
    words = [word.lower() for word in WORD.findall(typed)][:MAX_AUTOCOMPLETE_WORDS]
    if not words:
        return []
    return await search_repo.autocomplete(db, words=words, limit=AUTOCOMPLETE_LIMIT)


async def similar(db: AsyncSession, *, job_id: int, limit: int) -> list[Any]:
    """Jobs on the board like a job on the board (404 for any other), the most alike first:
    by title, then shared tags and the same place."""
    found = await jobs_repo.read_access(db, job_id=job_id)
    if found is None or not found.public:
        raise NotFound(JOB_NOT_FOUND)
    return await search_repo.similar(
        db,
        job_id=job_id,
        title=found.title,
        tags=found.tags,
        location=found.location,
        limit=limit,
    )


async def get(db: Reader, *, user: Caller | None, job_id: int) -> JobRow:
    """A job the caller may read: visible to all, or any status for its owner and admins."""
    found = await jobs_repo.read_access(db, job_id=job_id)
    if found is None or not (
        found.public or await members.allows(db, user, found.company_id, Need.read)
    ):
        raise NotFound(JOB_NOT_FOUND)
    return found


async def _for_change(db: AsyncSession, *, user: Caller, job_id: int, if_match: str | None) -> Job:
    """The job locked for a change by its owner or an admin: 403 if the caller can see it but
    not change it, else 404; 412 if it changed since the caller's `If-Match`."""
    found, role = await members.job_access(db, user, job_id, lock="update")
    if found is None:
        raise NotFound(JOB_NOT_FOUND)
    if role is None:
        if found.public:
            raise Forbidden(ANOTHER_EMPLOYERS_JOB)
        raise NotFound(JOB_NOT_FOUND)
    members.check(role, Need.work)
    check_if_match(if_match, found.job.updated_at)
    return found.job


async def update(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    job_id: int,
    payload: JobUpdate,
    if_match: str | None,
) -> Job | JobRevision:
    """Apply a partial update; the salary range is checked on the result, the status change
    against the state machine, both on the locked row. Asked to be published, the job may
    be held for review instead; an edit of what a published job says may be held for
    review while the job stays as it was (backend.services.revisions): the edit is the
    answer then."""
    changes: dict[str, Any] = payload.model_dump(exclude_unset=True)
    content = payload.model_dump(
        mode="json", include=set(revisions.CONTENT_FIELDS), exclude_unset=True
    )
    if changes.get("description") is not None:
        changes |= await revisions.renderings(changes["description"])
    job = await _for_change(db, user=user, job_id=job_id, if_match=if_match)
    if changes.get("status", job.status) == job.status:
        held = await revisions.hold(db, settings, user=user, job=job, content=content)
        if held is not None:
            rest = {key: value for key, value in changes.items() if key in UNREVIEWED_FIELDS}
            if rest:
                await jobs_repo.update(db, job=job, **rest)
            return held
    salary_min = changes.get("salary_min", job.salary_min)
    salary_max = changes.get("salary_max", job.salary_max)
    if salary_min is not None and salary_max is not None and salary_min > salary_max:
        field = "salary_min" if "salary_min" in changes else "salary_max"
        raise InvalidField(("body", field), "salary_min must not exceed salary_max")
    new_status = changes.pop("status", None)
    if new_status is not None and new_status != job.status:
        if (job.status, new_status) not in ALLOWED_TRANSITIONS:
            raise Conflict(f"A {job.status.value} job cannot become {new_status.value}.")
        changes["status"] = new_status
        if new_status == JobStatus.published:
            asked = signals.Asked(
                job_id=job.id,
                title=changes.get("title", job.title),
                description=changes.get("description", job.description),
                salary_min=salary_min,
                salary_max=salary_max,
            )
            publishing = await _publishing(
                db, settings, user=user, company=job.company, asked=asked
            )
            if job.published_at is not None:  # reopened: it keeps its first publication
                publishing.pop("published_at", None)
            changes |= publishing
    if not changes:
        return job
    if changes.get("status") in (JobStatus.closed, JobStatus.draft):
        await revisions.dropped(db, job_id=job.id)
    if changes.get("status") == JobStatus.closed:
        await closing.closed(db, settings, job_id=job.id)
    before = job.status
    job = await jobs_repo.update(db, job=job, **changes)
    await webhooks.job_changed(db, job=job, before=before)
    await members.record(
        db,
        user=user,
        company_id=job.company_id,
        action="job_updated",
        job_id=job.id,
        status=job.status.value,
        fields=sorted(set(changes) & set(JobUpdate.model_fields)),
    )
    return job


async def delete(db: AsyncSession, *, user: Caller, job_id: int, if_match: str | None) -> None:
    """Delete a job and its applications: its owner or an admin."""
    job = await _for_change(db, user=user, job_id=job_id, if_match=if_match)
    await jobs_repo.delete_job(db, job_id=job.id)
    await members.record(
        db, user=user, company_id=job.company_id, action="job_deleted", job_id=job.id
    )


async def list_mine(db: AsyncSession, *, user: Caller, page: PageRequest) -> Paged[Job]:
    """The caller's own jobs in every status, newest first."""
    kind = "jobs:mine"
    rows = await jobs_repo.list_owned(
        db, member_id=user.id, limit=page.limit, after=page.after(kind, IdPosition)
    )
    return page.page(rows, kind)


# The newest jobs an Atom feed carries; readers poll it, so it is one bounded page.
FEED_SIZE = 50
# Job ids a sitemap file covers: a sitemap holds at most 50 000 URLs (sitemaps.org).
SITEMAP_IDS = 50_000


async def feed(db: Reader, *, filters: JobFilters) -> list[JobListed]:
    """The newest visible jobs matching `filters` (at most FEED_SIZE), each with its
    company's name."""
    rows = await search_repo.search_newest(db, filters=filters, limit=FEED_SIZE, after=None)
    return list(rows.items[:FEED_SIZE])


async def posting(db: AsyncSession, *, job_id: int) -> JobPage | None:
    """A visible job, with its company's name, whether it is verified and its website, for
    its public page; None if not visible."""
    job = await jobs_repo.read_access(db, job_id=job_id)
    if job is None or not job.public:
        return None
    return job


# Jobs read at once while the feed for aggregators streams (each batch a short transaction).
AGGREGATOR_BATCH = 500


async def aggregator_feed(
    transactions: Transactions, settings: Settings, *, company_id: int | None = None
) -> AsyncIterator[bytes]:
    """Every visible job (of one company, if given) in Indeed's XML feed format, by id,
    batch by batch: each batch read in a short transaction of its own and sent before the
    next is read, so that a million jobs take the memory of one batch and hold no
    transaction open while the client reads."""
    feed = AggregatorFeed(
        publisher=SITE_NAME, publisher_url=settings.frontend_url, frontend_url=settings.frontend_url
    )
    after_id = 0
    while True:
        async with own_transaction(transactions) as db:
            rows = await jobs_repo.feed_batch(
                db, after_id=after_id, limit=AGGREGATOR_BATCH, company_id=company_id
            )
        feed.jobs(rows)
        if len(rows) < AGGREGATOR_BATCH:
            feed.end()
            yield feed.take()
            return
        yield feed.take()
        after_id = rows[-1].id


async def check_company(transactions: Transactions, *, company_id: int) -> None:
    """404 unless the company exists (its feed is public, and has no job while it has no
    open one)."""
    async with own_transaction(transactions) as db:
        found = await companies_repo.get(db, company_id=company_id)
    if found is None:
        raise NotFound("Company not found.")


async def sitemap_files(db: AsyncSession) -> int:
    """How many sitemap files the jobs take: one a SITEMAP_IDS ids, up to the highest."""
    return max(1, -(-await jobs_repo.last_id(db) // SITEMAP_IDS))


async def sitemap_file(db: AsyncSession, *, number: int) -> list[Any]:
    """The visible jobs of sitemap file `number` (from 1): ids and times of last change;
    NotFound past the last file."""
    if number > await sitemap_files(db):
        raise NotFound("No such sitemap.")
    first = (number - 1) * SITEMAP_IDS + 1
    rows = await jobs_repo.visible_in_id_range(db, first=first, last=first + SITEMAP_IDS - 1)
    return list(rows)
