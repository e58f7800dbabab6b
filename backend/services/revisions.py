"""Edits of published jobs held for review, while the job stays on the board as it was.

An edit of what a published job says (`CONTENT_FIELDS`) by a poster whose new job would be
held for review (backend.services.moderation.needs_review, with the signals the edited
job raises) is not applied: it waits as the job's revision, and the job keeps its
published version. A later edit while one waits is merged into it. A moderator approves
it (applied to the job) or rejects it with reasons (the job stays as it was); the poster is
mailed either way. The poster may withdraw a waiting edit; a job that leaves the board
(closed, withdrawn to draft) drops it. Admins' and moderators' edits apply at once.

Locks are taken job first, then its revision, by every path (an edit, a decision, a
withdrawal): of a decision and a new edit, the first locks the job; the decision, given the
revision's ETag in If-Match, finds a later edit merged in (412), or the edit finds the
revision decided and starts a new one. Of two decisions, the second finds it decided (409).
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import markdown
from backend.core.config import Settings
from backend.core.exceptions import Conflict, InvalidField, NotFound
from backend.core.pagination import Paged, PageRequest
from backend.db.models import Decision, Job, JobRevision, JobStatus
from backend.db.queue import NOTIFY_REVISION_DECISION, enqueue
from backend.db.repository import base
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import revisions as revisions_repo
from backend.db.repository.sessions import Caller
from backend.schemas.job import JobUpdate
from backend.schemas.moderation import DecisionCreate
from backend.services import members, moderation, signals
from backend.services.members import Need
from backend.services.rules import check_if_match

JOB_NOT_FOUND = "Job not found."
REVISION_NOT_FOUND = "No such edit."
# What a job says, as opposed to when it expires or whether it is listed.
CONTENT_FIELDS = frozenset(
    {
        "title",
        "description",
        "location",
        "workplace",
        "employment_type",
        "salary_min",
        "salary_max",
        "salary_currency",
        "tags",
    }
)


async def renderings(description: str) -> dict[str, Any]:
    """A description's derived columns (backend.core.markdown), rendered off the event
    loop before the change reads or locks anything."""
    rendered = await markdown.render_off_loop(description)
    return {
        "description_html": rendered.html,
        "description_text": rendered.text,
        "rendered_from": markdown.digest(description),
    }


def _salary_fits(job: Job, changes: dict[str, Any]) -> bool:
    low = changes.get("salary_min", job.salary_min)
    high = changes.get("salary_max", job.salary_max)
    return low is None or high is None or low <= high


async def hold(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    job: Job,
    content: dict[str, Any],
) -> JobRevision | None:
    """Hold an edit of `content` (JSON values, as the API took them) of a job locked by the
    caller, as its waiting revision (merged into one that waits); None when it is to be
    applied now (an admin's or moderator's, a job not on the board, or a poster whose job
    would not be held, and no edit waiting)."""
    if not content or user.role in moderation.MODERATORS:
        return None
    waiting = await revisions_repo.waiting(db, job_id=job.id, lock="update")
    if waiting is None and job.status != JobStatus.published:
        return None
    # What the edit changes: a field sent as the job has it is no change (a form sends
    # every field), unless it takes back what the waiting edit changes.
    sent = _typed(content)
    pending = {} if waiting is None else waiting.changes
    content = {
        name: value
        for name, value in content.items()
        if name in pending or sent[name] != getattr(job, name)
    }
    if not content:
        return None
    merged = pending | content
    typed = _typed(merged)
    if not _salary_fits(job, typed):
        field = "salary_min" if "salary_min" in content else "salary_max"
        raise InvalidField(("body", field), "salary_min must not exceed salary_max")
    raised = await signals.signals_of(
        db,
        poster_id=job.company.owner_id,
        poster_email=user.email,
        website=job.company.website,
        verified=job.company.verified,
        asked=signals.Asked(
            job_id=job.id,
            title=typed.get("title", job.title),
            description=typed.get("description", job.description),
            salary_min=typed.get("salary_min", job.salary_min),
            salary_max=typed.get("salary_max", job.salary_max),
        ),
    )
    if waiting is not None:
        return await revisions_repo.update(db, revision=waiting, changes=merged, signals=raised)
    if not await moderation.needs_review(db, settings, company=job.company, raised=raised):
        return None
    return await revisions_repo.create(
        db, job_id=job.id, poster_id=user.id, changes=merged, signals=raised
    )


async def _rendered(changes: dict[str, Any]) -> dict[str, Any]:
    description = changes.get("description")
    return {} if description is None else await renderings(description)


def _typed(changes: dict[str, Any]) -> dict[str, Any]:
    """Stored JSON values as the job's columns take them (enums, numbers, lists)."""
    return JobUpdate.model_validate(changes).model_dump(exclude_unset=True)


async def dropped(db: AsyncSession, *, job_id: int) -> None:
    """The job left the board: its waiting edit goes."""
    await revisions_repo.delete_waiting(db, job_id=job_id)


async def _owned(
    db: AsyncSession, *, user: Caller, job_id: int, need: Need, lock: bool = False
) -> Job:
    """A job whose company's members (as `need` says; admins, and moderators for reading)
    may see the edits of; 404 for anyone else."""
    found, role = await members.job_access(db, user, job_id, lock="update" if lock else None)
    if found is None:
        raise NotFound(JOB_NOT_FOUND)
    if not (need == Need.read and user.role in moderation.MODERATORS):
        members.required(role, need, not_found=JOB_NOT_FOUND)
    return found.job


async def of_job(db: AsyncSession, *, user: Caller, job_id: int) -> list[JobRevision]:
    """A job's held edits, the newest first: its owner's and moderators' (404 else)."""
    await _owned(db, user=user, job_id=job_id, need=Need.read)
    return list(await revisions_repo.of_job(db, job_id=job_id))


async def withdraw(db: AsyncSession, *, user: Caller, job_id: int) -> None:
    """The owner takes back the job's waiting edit (404 when none waits)."""
    job = await _owned(db, user=user, job_id=job_id, need=Need.work, lock=True)
    if not await revisions_repo.delete_waiting(db, job_id=job.id):
        raise NotFound(REVISION_NOT_FOUND)


async def queue(db: AsyncSession, *, page: PageRequest) -> Paged[base.AnyRow]:
    """The edits waiting for a decision, the longest waiting first, each with its job."""
    kind = "moderation:revisions"
    rows = await revisions_repo.queue(
        db, limit=page.limit, after=page.after(kind, revisions_repo.RevisionPosition)
    )
    return page.page(rows, kind)


async def review(db: AsyncSession, *, revision_id: int) -> base.AnyRow:
    row = await revisions_repo.reviewed(db, revision_id=revision_id)
    if row is None:
        raise NotFound(REVISION_NOT_FOUND)
    return row


async def decide(
    db: AsyncSession,
    *,
    moderator: Caller,
    revision_id: int,
    payload: DecisionCreate,
    if_match: str | None,
) -> JobRevision:
    """Approve (apply it to the job) or reject a waiting edit, on the job's and then the
    revision's locked rows; the poster is mailed once it commits. 404 for no such edit,
    409 when it was decided already or no longer fits the job, 412 when it changed since
    If-Match's version, 422 for asking for changes (an edit is approved or rejected)."""
    moderation.check_decision(payload)
    if payload.decision == Decision.changes_requested:
        raise InvalidField(("body", "decision"), "An edit is approved or rejected")
    seen = await revisions_repo.peek(db, revision_id=revision_id)
    if seen is None:
        raise NotFound(REVISION_NOT_FOUND)
    # Rendered before anything is locked, from the edit as read; again in the rare case
    # that a later edit was merged in before the locks were taken.
    rendered = await _rendered(seen.changes) if payload.decision == Decision.approved else {}
    found = await jobs_repo.get_access(db, job_id=seen.job_id, lock="update")
    revision = await revisions_repo.get(db, revision_id=revision_id, lock="update")
    if found is None or revision is None:
        raise NotFound(REVISION_NOT_FOUND)
    if revision.decided_at is not None:
        raise Conflict(f"This edit was {revision.decision} already.")
    check_if_match(if_match, revision.updated_at)
    if found.job.status not in (JobStatus.published, JobStatus.pending):
        raise Conflict(f"The job is {found.job.status.value}: its edit is no longer asked for.")
    if payload.decision == Decision.approved:
        if revision.changes != seen.changes:
            rendered = await _rendered(revision.changes)
        changes = _typed(revision.changes)
        if not _salary_fits(found.job, changes):
            raise Conflict("This edit no longer fits the job (its salary range).")
        await jobs_repo.update(db, job=found.job, **changes, **rendered)
    decided = await revisions_repo.update(
        db,
        revision=revision,
        decision=payload.decision,
        reasons=[reason.value for reason in payload.reasons],
        note=payload.note,
        decided_by=moderator.id,
        decided_at=datetime.now(UTC),
    )
    await enqueue(db, NOTIFY_REVISION_DECISION, revision_id=decided.id)
    return decided
