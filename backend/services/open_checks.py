"""Jobs that are really open: every published job says when its employer last confirmed it.

OPEN_CHECK_DAYS after a job was last confirmed open (or published), an hourly run marks it
asked and mails its employer two links, "still open" and "filled" (one mail an owner a
batch, listing each of their jobs asked; at most OPEN_CHECKS_PER_RUN jobs a run); so does
the FILLED_REPORTS_TO_ASK-th person reporting it filled, at once. Each link is signed for the
job, the moment it was asked and the answer, under the owner's security generation: it
works once (an answer ends the question), and not after a security event, a change of
hands, or the job leaving the board. Unanswered OPEN_CHECK_GRACE_DAYS after it was asked,
the job closes, and its employer and its candidates are told. The owner may also confirm
it from the dashboard at any time. An answer settles the job's "filled" reports.

The runs take their jobs a batch at a time, locked and skipping what another run holds:
however many run at once, a job is asked once and closed once, and every mail is asked for
in the transaction that records why.
"""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.config import Settings
from backend.core.exceptions import BadRequest, Conflict, Forbidden, NotFound
from backend.core.ids import MAX_ID
from backend.core.mail import compose
from backend.core.mailtemplates import render
from backend.core.security import (
    OPEN_CHECK_PURPOSE,
    InvalidToken,
    create_link_token,
    decode_link_token,
)
from backend.db.models import Job, JobStatus
from backend.db.queue import NOTIFY_JOB_CLOSED, NOTIFY_OPEN_CHECK, enqueue_many
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import open_checks as open_checks_repo
from backend.db.repository import revisions as revisions_repo
from backend.db.repository import users as users_repo
from backend.db.repository.sessions import Caller
from backend.services import closing, members, webhooks
from backend.services.members import Need
from backend.services.rules import check_if_match

JOB_NOT_FOUND = "Job not found."
INVALID_LINK = "This link is invalid, expired or already answered."
# Jobs asked about (or closed) per transaction.
BATCH = 500


class Answer(StrEnum):
    open = "open"
    filled = "filled"


class Reason(StrEnum):
    """Why a mail about a job's open check is sent."""

    due = "due"  # OPEN_CHECK_DAYS since it was last confirmed
    reported = "reported"  # enough people reported it filled
    closed = "closed"  # unanswered: it closed


def confirmed(now: datetime) -> dict[str, Any]:
    """The columns of a job confirmed open (or published) at `now`."""
    return {"confirmed_open_at": now, "open_check_sent_at": None}


async def run(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> tuple[int, int]:
    """Close the jobs whose employer left the question unanswered past the grace period,
    then ask about the jobs due, at most OPEN_CHECKS_PER_RUN (a backlog, such as every job
    of a board that just upgraded, is asked over several runs); how many of each."""
    now = datetime.now(UTC)
    closed = asked = 0
    while True:
        async with sessionmaker() as db, db.begin():
            rows = await open_checks_repo.close_unanswered(
                db, asked_before=now - timedelta(days=settings.open_check_grace_days), limit=BATCH
            )
            # Closed, they drop the edits waiting for review (backend.services.revisions).
            await revisions_repo.delete_waiting_of(db, job_ids=[row.job_id for row in rows])
            await enqueue_many(db, NOTIFY_OPEN_CHECK, _mails(rows, Reason.closed))
            await enqueue_many(db, NOTIFY_JOB_CLOSED, [{"job_id": row.job_id} for row in rows])
            await webhooks.jobs_closed(db, job_ids=[row.job_id for row in rows])
        closed += len(rows)
        if len(rows) < BATCH:
            break
    while asked < settings.open_checks_per_run:
        limit = min(BATCH, settings.open_checks_per_run - asked)
        async with sessionmaker() as db, db.begin():
            rows = await open_checks_repo.ask_due(
                db, confirmed_before=now - timedelta(days=settings.open_check_days), limit=limit
            )
            await enqueue_many(db, NOTIFY_OPEN_CHECK, _mails(rows, Reason.due))
        asked += len(rows)
        if len(rows) < limit:
            break
    return asked, closed


def _mails(rows: list[open_checks_repo.Asked], reason: Reason) -> list[dict[str, Any]]:
    """One mail to each owner, naming their jobs of `rows`."""
    by_owner: dict[int, list[list[Any]]] = {}
    for row in rows:
        by_owner.setdefault(row.owner_id, []).append([row.job_id, row.asked_at.isoformat()])
    return [
        {"owner_id": owner_id, "jobs": jobs, "reason": reason.value}
        for owner_id, jobs in by_owner.items()
    ]


async def reported_filled(db: AsyncSession, settings: Settings, *, job: Job) -> None:
    """A person reported the job (locked by the caller) filled: once FILLED_REPORTS_TO_ASK
    people have, its employer is asked at once, unless a question waits already."""
    if job.open_check_sent_at is not None:
        return
    if await open_checks_repo.filled_reporters(db, job_id=job.id) < settings.filled_reports_to_ask:
        return
    asked_at = await open_checks_repo.ask_now(db, job_id=job.id)
    asked = open_checks_repo.Asked(job_id=job.id, asked_at=asked_at, owner_id=job.company.owner_id)
    await enqueue_many(db, NOTIFY_OPEN_CHECK, _mails([asked], Reason.reported))


def _subject(job_id: int, asked_at: datetime, answer: Answer) -> str:
    return f"{job_id} {asked_at.isoformat()} {answer.value}"


def _parsed(subject: str) -> tuple[int, datetime, Answer] | None:
    parts = subject.split(" ")
    if len(parts) != 3 or not parts[0].isascii() or not parts[0].isdigit() or len(parts[0]) > 19:
        return None
    try:
        asked_at = datetime.fromisoformat(parts[1])
        answer = Answer(parts[2])
    except ValueError:
        return None
    job_id = int(parts[0])
    if not 1 <= job_id <= MAX_ID or asked_at.tzinfo is None:
        return None
    return job_id, asked_at, answer


# The jobs a mail lists with their links; the rest are confirmed from the dashboard.
MAIL_JOBS = 20


async def mail(
    db: AsyncSession,
    settings: Settings,
    *,
    owner_id: int,
    jobs: list[tuple[int, datetime]],
    reason: Reason,
) -> EmailMessage | None:
    """The mail to an owner about the questions asked of their `jobs` (each with when it
    was asked): each job with its two links, or the jobs that closed unanswered. A job no
    longer so (answered, changed hands or status, or gone) is left out; None when none is
    left or the owner may not be mailed."""
    expected = JobStatus.closed if reason == Reason.closed else JobStatus.published
    notices = []
    for job_id, asked_at in jobs:
        notice = await open_checks_repo.notice(db, job_id=job_id)
        if (
            notice is not None
            and notice.owner_id == owner_id
            and notice.mailable
            and notice.asked_at == asked_at
            and notice.status == expected
        ):
            notices.append((job_id, asked_at, notice))
    if not notices:
        return None
    frontend = settings.frontend_url.rstrip("/")
    listed = []
    for job_id, asked_at, notice in notices[:MAIL_JOBS]:
        confirmed = notice.confirmed_since or asked_at
        item: dict[str, Any] = {
            "title": notice.job_title,
            "company": notice.company,
            "confirmed_on": confirmed.astimezone(UTC).strftime("%Y-%m-%d"),
            "link": f"{frontend}/dashboard/jobs/{job_id}",
        }
        if reason != Reason.closed:
            for answer in Answer:
                token = create_link_token(
                    settings,
                    purpose=OPEN_CHECK_PURPOSE,
                    user_id=owner_id,
                    subject=_subject(job_id, asked_at, answer),
                    generation=notice.generation,
                    expires_in=(settings.open_check_grace_days + 1) * 86400,
                )
                item[f"{answer.value}_link"] = f"{frontend}/open-check?token={token}"
        listed.append(item)
    first_asked = min(asked_at for _, asked_at, _ in notices)
    deadline = first_asked + timedelta(days=settings.open_check_grace_days)
    owner = notices[0][2]
    context: dict[str, Any] = {
        "name": owner.name,
        "jobs": listed,
        "more": len(notices) - len(listed),
        "reported": reason == Reason.reported,
        "deadline": deadline.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "dashboard": f"{frontend}/dashboard",
    }
    rendered = render(
        "job_closed_unconfirmed" if reason == Reason.closed else "job_open_check", context
    )
    return compose(
        settings, to=owner.email, subject=rendered.subject, body=rendered.text, html=rendered.html
    )


async def answer(db: AsyncSession, settings: Settings, *, token: str) -> Job:
    """Answer a job's open question with the token of a mailed link, on the job's locked
    row: "open" confirms it, "filled" closes it. A tampered, expired or used link, or one
    the job or its owner moved past, is a 400 and changes nothing."""
    try:
        claims = decode_link_token(settings, token, purpose=OPEN_CHECK_PURPOSE)
    except InvalidToken:
        raise BadRequest(INVALID_LINK) from None
    parsed = _parsed(claims.subject)
    if parsed is None:
        raise BadRequest(INVALID_LINK)
    job_id, asked_at, said = parsed
    found = await jobs_repo.get_access(db, job_id=job_id, lock="update")
    owner = await users_repo.get(db, user_id=claims.user_id)
    if (
        found is None
        or owner is None
        or not owner.is_active
        or owner.security_generation != claims.generation
        or found.owner_id != owner.id
        or found.job.status != JobStatus.published
        or found.job.open_check_sent_at != asked_at
    ):
        raise BadRequest(INVALID_LINK)
    return await _settle(db, settings, job=found.job, still_open=said == Answer.open)


async def confirm(db: AsyncSession, *, user: Caller, job_id: int, if_match: str | None) -> Job:
    """Its owner (or an admin) confirms a published job still open, from the dashboard: 404
    for a job the caller cannot see, 403 for another employer's public job, 409 for a job
    not published, 412 for a stale If-Match."""
    found, role = await members.job_access(db, user, job_id, lock="update")
    if found is None:
        raise NotFound(JOB_NOT_FOUND)
    if role is None:
        if found.public:
            raise Forbidden("This job belongs to another employer.")
        raise NotFound(JOB_NOT_FOUND)
    members.check(role, Need.work)
    check_if_match(if_match, found.job.updated_at)
    if found.job.status != JobStatus.published:
        raise Conflict(f"A {found.job.status.value} job is not on the board to confirm.")
    await open_checks_repo.resolve_filled_reports(db, job_id=found.job.id)
    return await jobs_repo.update(db, job=found.job, **confirmed(datetime.now(UTC)))


async def _settle(db: AsyncSession, settings: Settings, *, job: Job, still_open: bool) -> Job:
    await open_checks_repo.resolve_filled_reports(db, job_id=job.id)
    now = datetime.now(UTC)
    if still_open:
        return await jobs_repo.update(db, job=job, **confirmed(now))
    await closing.closed(db, settings, job_id=job.id)
    await revisions_repo.delete_waiting(db, job_id=job.id)
    before = job.status
    job = await jobs_repo.update(db, job=job, status=JobStatus.closed, open_check_sent_at=None)
    await webhooks.job_changed(db, job=job, before=before)
    return job


__all__ = ["Answer", "Reason", "answer", "confirm", "confirmed", "mail", "reported_filled", "run"]
