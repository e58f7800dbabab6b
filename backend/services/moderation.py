"""Moderation: which jobs are held for review, the moderators' queue, and their decisions.

A job its owner asks to publish is held (`pending`) unless its company is trusted by a
moderator or verified (backend.services.company_verification), or its poster (the
company's owner) has had MODERATION_FIRST_JOBS jobs approved and none rejected; a company
set to "always review" is held whatever its poster's record. Admins and moderators are
never held. A moderator approves a held job (it is published),
rejects it with reasons (for good), or sends it back as a draft with a note saying what to
change; each decision is recorded and mailed to the poster, and answers the job's open
reports. Anyone may report a public job; enough reports from different people hold it for
review too. Each job has a thread between its poster and the moderators, each comment
mailed to the other side. Moderators ban domains; publications are limited a day per
account and per domain.

Every decision locks the job's row and is taken on what the job is then: of two
moderators deciding at once, or a decision and its owner's change, withdrawal or deletion,
exactly one is first; the other finds the job no longer held (409), changed since the
version it was shown (412, with If-Match), or gone (404).
"""

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import idna
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import Conflict, Forbidden, InvalidField, NotFound, TooManyRequests
from backend.core.metrics import THROTTLED
from backend.core.pagination import Paged, PageRequest
from backend.db.models import (
    Company,
    Decision,
    Job,
    JobStatus,
    MemberRole,
    RejectionReason,
    ReportReason,
    ReviewPolicy,
    Role,
)
from backend.db.queue import NOTIFY_JOB_COMMENT, NOTIFY_JOB_DECISION, NOTIFY_JOB_REPORTED, enqueue
from backend.db.repository import base
from backend.db.repository import companies as companies_repo
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import members as members_repo
from backend.db.repository import moderation as moderation_repo
from backend.db.repository import revisions as revisions_repo
from backend.db.repository import throttle as throttle_repo
from backend.db.repository.moderation import Record
from backend.db.repository.sessions import Caller
from backend.db.transactions import Transactions, release
from backend.schemas.moderation import DecisionCreate, ReportCreate
from backend.services import members, open_checks, signals, throttle, webhooks
from backend.services.members import READ_ONLY
from backend.services.rules import check_if_match

JOB_NOT_FOUND = "Job not found."
COMPANY_NOT_FOUND = "Company not found."
MODERATORS = frozenset({Role.moderator, Role.admin})
# What publications are counted under (`count_publication`), a day at a time.
POST_ACCOUNT = "post_account"
POST_DOMAIN = "post_domain"
POST_WINDOW_SECONDS = 24 * 3600


async def needs_review(
    db: AsyncSession, settings: Settings, *, company: Company, raised: list[str]
) -> bool:
    """Whether a job of `company` asked to be published with these signals is held."""
    (held_back,) = await needs_review_each(db, settings, company=company, raised_each=[raised])
    return held_back


async def needs_review_each(
    db: AsyncSession, settings: Settings, *, company: Company, raised_each: list[list[str]]
) -> list[bool]:
    """For jobs of `company` asked to be published with these signals, each: whether it is
    held (the poster's record read once)."""
    if company.review_policy == ReviewPolicy.trusted:
        return [False for _ in raised_each]
    if company.review_policy == ReviewPolicy.always:
        return [True for _ in raised_each]
    by_signals = [
        settings.moderation_signals_hold and signals.holding(raised) for raised in raised_each
    ]
    if all(by_signals) or company.verified or settings.moderation_first_jobs == 0:
        return by_signals
    record = await moderation_repo.record_of(db, poster_id=company.owner_id)
    by_record = record.rejected > 0 or record.approved < settings.moderation_first_jobs
    return [held_back or by_record for held_back in by_signals]


def held(now: datetime) -> dict[str, Any]:
    """The columns of a job its owner asked to publish, held for review."""
    return {"status": JobStatus.pending, "submitted_at": now}


async def publication(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    company: Company,
    asked: signals.Asked,
) -> dict[str, Any]:
    """The columns of a job `user` asks to publish: published now, or held for review, with
    the signals it raised (backend.services.signals); admins and moderators publish at
    once."""
    await clear(db, settings, user=user, company=company, count=1)
    (columns,) = await publications(db, settings, user=user, company=company, asked=[asked])
    return columns


async def publications(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    company: Company,
    asked: Sequence[signals.Asked],
) -> list[dict[str, Any]]:
    """The columns of each of the jobs `user` asks to publish together, once `clear` let
    them all through: each compared with the board and with those before it
    (`signals.signals_of_each`)."""
    now = datetime.now(UTC)
    published: dict[str, Any] = {"status": JobStatus.published, "published_at": now} | (
        open_checks.confirmed(now)
    )
    if user.role in MODERATORS:
        return [published | {"signals": []} for _ in asked]
    raised_each = await signals.signals_of_each(
        db,
        poster_id=company.owner_id,
        poster_email=user.email,
        website=company.website,
        verified=company.verified,
        asked=asked,
    )
    held_each = await needs_review_each(db, settings, company=company, raised_each=raised_each)
    return [
        (held(now) if held_back else published) | {"signals": raised}
        for raised, held_back in zip(raised_each, held_each, strict=True)
    ]


async def clear(
    db: AsyncSession, settings: Settings, *, user: Caller, company: Company, count: int
) -> None:
    """Before `count` jobs of `company` are asked to be published by `user`: 403 when the
    poster's address or the company's website is banned, 429 past the day's publications
    (`count_publication`); nothing for moderators and admins."""
    if user.role in MODERATORS or count == 0:
        return
    await check_not_banned(db, email=user.email, website=company.website)
    await count_publication(db, settings, user=user, count=count)


async def queue(db: AsyncSession, *, page: PageRequest) -> Paged[base.AnyRow]:
    """The jobs held for review, the longest held first."""
    kind = "moderation:queue"
    rows = await moderation_repo.queue(
        db, limit=page.limit, after=page.after(kind, moderation_repo.QueuePosition)
    )
    return page.page(rows, kind)


@dataclass(frozen=True, slots=True)
class Review:
    """A job as a moderator reviews it, every decision on it so far, and its open reports."""

    job: base.AnyRow
    decisions: list[base.AnyRow]
    reports: list[base.AnyRow]


async def review(db: AsyncSession, *, job_id: int) -> Review:
    """A job in any status with its poster, company, record, decisions and open reports."""
    job = await moderation_repo.reviewed_job(db, job_id=job_id)
    if job is None:
        raise NotFound(JOB_NOT_FOUND)
    return Review(
        job=job,
        decisions=list(await moderation_repo.decisions(db, job_id=job_id)),
        reports=list(await moderation_repo.open_reports(db, job_id=job_id)),
    )


def address_key(settings: Settings, address: str) -> str:
    """What a signed-out reporter's address is kept as: a keyed digest, enough to tell two
    reports from one address apart from two addresses, not to recover the address."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, address.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


async def report(
    db: AsyncSession,
    transactions: Transactions,
    settings: Settings,
    *,
    user: Caller | None,
    address: str,
    job_id: int,
    payload: ReportCreate,
) -> base.AnyRow:
    """Report a public job (anyone, signed in or not; its owner cannot); the report.
    Counted against REPORTS_PER_HOUR first (429). A second open report of the job by the
    same account (or, signed out, address) is a 409. The report that brings the job's open
    reports (from different people, "filled" excepted) to REPORTS_TO_HOLD holds it for
    review, on its locked row: however many arrive at once, exactly that many are
    recorded, the later ones finding the job no longer public (404); its poster is told
    that it is under review (never who reported it, nor why). The report that brings
    its "filled" reports to FILLED_REPORTS_TO_ASK asks its employer whether it is still
    open (backend.services.open_checks)."""
    # The caller was read on the request's connection: handed back first, so that the
    # count's own transaction never waits for a second connection while holding one.
    await release(db)
    await throttle.count_report(
        transactions, settings, user_id=None if user is None else user.id, address=address
    )
    found = await jobs_repo.get_access(db, job_id=job_id, lock="update")
    if found is None or not found.public:
        raise NotFound(JOB_NOT_FOUND)
    if user is not None and await members_repo.role_of(
        db, company_id=found.job.company_id, user_id=user.id
    ):
        raise Forbidden("You cannot report your own job.")
    made = await moderation_repo.add_report(
        db,
        job_id=job_id,
        reporter_id=None if user is None else user.id,
        address_key=address_key(settings, address),
        reason=payload.reason,
        note=payload.note,
    )
    if made is None:
        raise Conflict("You have already reported this job; a moderator will look at it.")
    if payload.reason == ReportReason.filled:
        await open_checks.reported_filled(db, settings, job=found.job)
    else:
        reporters = await moderation_repo.open_report_count(db, job_id=job_id)
        if reporters >= settings.reports_to_hold:
            now = datetime.now(UTC)
            await jobs_repo.update(db, job=found.job, **held(now))
            await enqueue(db, NOTIFY_JOB_REPORTED, job_id=job_id, held_at=now.isoformat())
    return made


async def decisions_for_owner(db: AsyncSession, *, user: Caller, job_id: int) -> list[base.AnyRow]:
    """The decisions on a job, for its owner (and moderators): 404 for anyone else."""
    found, role = await members.job_access(db, user, job_id)
    if found is None or (role is None and user.role not in MODERATORS):
        raise NotFound(JOB_NOT_FOUND)
    return list(await moderation_repo.decisions(db, job_id=job_id))


def check_decision(payload: DecisionCreate) -> None:
    if payload.decision == Decision.approved and payload.reasons:
        raise InvalidField(("body", "reasons"), "An approval gives no reasons")
    if payload.decision == Decision.rejected and not payload.reasons:
        raise InvalidField(("body", "reasons"), "A rejection gives at least one reason")
    if payload.decision == Decision.changes_requested and not payload.note.strip():
        raise InvalidField(("body", "note"), "Say what to change")
    if RejectionReason.other in payload.reasons and not payload.note.strip():
        raise InvalidField(("body", "note"), "The reason 'other' is said in the note")


NEXT_STATUS = {
    Decision.approved: JobStatus.published,
    Decision.rejected: JobStatus.rejected,
    Decision.changes_requested: JobStatus.draft,
}


async def decide(
    db: AsyncSession,
    *,
    moderator: Caller,
    job_id: int,
    payload: DecisionCreate,
    if_match: str | None,
) -> tuple[Job, int]:
    """Decide on a held job, on its locked row; the job as it now is and the decision's id.
    Its poster is mailed (NOTIFY_JOB_DECISION) once the decision commits."""
    check_decision(payload)
    found = await jobs_repo.get_access(db, job_id=job_id, lock="update")
    if found is None:
        raise NotFound(JOB_NOT_FOUND)
    job = found.job
    check_if_match(if_match, job.updated_at)
    if job.status != JobStatus.pending:
        raise Conflict(f"This job is {job.status.value}, not held for review.")
    changes: dict[str, Any] = {"status": NEXT_STATUS[payload.decision]}
    if payload.decision == Decision.approved:
        now = datetime.now(UTC)
        changes |= open_checks.confirmed(now)
        if job.published_at is None:
            # A job reopened and held keeps its first publication, as a reopened one does.
            changes["published_at"] = now
    before = job.status
    await jobs_repo.update(db, job=job, **changes)
    await webhooks.job_changed(db, job=job, before=before)
    decision_id = await moderation_repo.record_decision(
        db,
        job_id=job.id,
        moderator_id=moderator.id,
        poster_id=found.owner_id,
        decision=payload.decision,
        reasons=[reason.value for reason in payload.reasons],
        note=payload.note,
    )
    await moderation_repo.resolve_reports(db, job_id=job.id)
    if payload.decision != Decision.approved:
        # Off the board for good or back to a draft: an edit waiting for review goes.
        await revisions_repo.delete_waiting(db, job_id=job.id)
    await enqueue(db, NOTIFY_JOB_DECISION, decision_id=decision_id)
    return job, decision_id


async def set_policy(db: AsyncSession, *, company_id: int, policy: ReviewPolicy) -> Company:
    """Whether a company's jobs are always held, never held, or as its poster's record
    says."""
    company = await companies_repo.get(db, company_id=company_id, lock="update")
    if company is None:
        raise NotFound(COMPANY_NOT_FOUND)
    return await companies_repo.update(db, company=company, review_policy=policy)


async def record_of(db: AsyncSession, *, poster_id: int) -> Record:
    return await moderation_repo.record_of(db, poster_id=poster_id)


BANNED = "Jobs from {domain} are not accepted on this board."
NOT_REGISTRABLE = "Give a registrable domain, such as example.com (not a subdomain or a suffix)"


def _domains(email: str, website: str | None) -> list[str]:
    """The registrable domains of a poster's address and of their company's website."""
    found = [signals.registrable(email.rpartition("@")[2])]
    if website:
        found.append(signals.registrable(urlsplit(website).hostname or ""))
    return [domain for domain in found if domain]


async def check_not_banned(db: AsyncSession, *, email: str, website: str | None) -> None:
    """403 when the poster's address or the company's website is on a banned domain."""
    banned = await moderation_repo.banned_among(db, domains=_domains(email, website))
    if banned is not None:
        raise Forbidden(BANNED.format(domain=banned))


async def count_publication(
    db: AsyncSession, settings: Settings, *, user: Caller, count: int = 1
) -> None:
    """Count `count` jobs `user` asks to publish (a batch's at once) against JOBS_PER_DAY
    for the account and JOBS_PER_DAY_PER_DOMAIN for the registrable domain of their
    address (unless a free mail service's, which strangers share), or 429 for them all; in
    the request's transaction, so that only what is published or held counts, and
    concurrent requests of one account take turns."""
    domain = user.email.rpartition("@")[2].lower()
    limits = [(POST_ACCOUNT, str(user.id), settings.jobs_per_day)]
    if not signals.is_free_mail(domain):
        registrable = signals.registrable(domain)
        if registrable is not None:
            limits.append((POST_DOMAIN, registrable, settings.jobs_per_day_per_domain))
    for kind, key, limit in limits:
        _, wait = await throttle_repo.take(
            db, kind=kind, key=key, limit=limit, window_seconds=POST_WINDOW_SECONDS, count=count
        )
        if wait is not None:
            THROTTLED.labels(kind).inc()
            raise TooManyRequests(
                "This account, or its address's domain, published as many jobs as a day allows.",
                retry_after=wait,
            )


def normal_domain(domain: str) -> str:
    """A domain as bans keep it: lower case, IDNA, registrable; else a 422."""
    try:
        ascii_domain = idna.encode(domain.strip().rstrip(".").lower(), uts46=True).decode()
    except idna.IDNAError:
        raise InvalidField(("path", "domain"), NOT_REGISTRABLE) from None
    if signals.registrable(ascii_domain) != ascii_domain:
        raise InvalidField(("path", "domain"), NOT_REGISTRABLE)
    return ascii_domain


async def ban_domain(
    db: AsyncSession, *, moderator: Caller, domain: str, reason: str
) -> base.AnyRow:
    return await moderation_repo.ban(
        db, domain=normal_domain(domain), reason=reason, banned_by=moderator.id
    )


async def unban_domain(db: AsyncSession, *, domain: str) -> None:
    if not await moderation_repo.unban(db, domain=normal_domain(domain)):
        raise NotFound("This domain is not banned.")


async def banned_domains(db: AsyncSession, *, page: PageRequest) -> Paged[base.AnyRow]:
    kind = "moderation:banned-domains"
    rows = await moderation_repo.banned_page(
        db, limit=page.limit, after=page.after(kind, moderation_repo.DomainPosition)
    )
    return page.page(rows, kind)


# The thread between a job's poster and the moderators.
COMMENT_ACCOUNT = "comment_account"
COMMENT_MAIL = "comment_mail"
COMMENT_WINDOW_SECONDS = 3600
# Comment mails one account gets an hour, whoever writes: past it, the thread has them.
COMMENT_MAILS_PER_HOUR = 6


async def _in_thread(db: AsyncSession, *, user: Caller, job_id: int, writing: bool = False) -> bool:
    """Whether `user` takes part in the job's thread as a moderator (else as a member of
    its company: viewers read it, recruiters and owners write too); 404 for anyone else,
    and for a job that is not there."""
    found, role = await members.job_access(db, user, job_id)
    if found is None:
        raise NotFound(JOB_NOT_FOUND)
    if user.role in MODERATORS:
        return True
    if role is None:
        raise NotFound(JOB_NOT_FOUND)
    if writing and role == MemberRole.viewer:
        raise Forbidden(READ_ONLY)
    return False


async def thread(db: AsyncSession, *, user: Caller, job_id: int) -> tuple[bool, list[base.AnyRow]]:
    """The job's thread, oldest first, for its owner or a moderator; and whether the
    reader moderates (a poster reads moderators' comments unsigned)."""
    moderates = await _in_thread(db, user=user, job_id=job_id)
    return moderates, list(await moderation_repo.comments(db, job_id=job_id))


async def comment(
    db: AsyncSession, settings: Settings, *, user: Caller, job_id: int, body: str
) -> base.AnyRow:
    """A comment in the job's thread by its owner or a moderator, mailed to the other side
    (NOTIFY_JOB_COMMENT); at most COMMENTS_PER_HOUR an hour per account (429)."""
    moderates = await _in_thread(db, user=user, job_id=job_id, writing=True)
    _, wait = await throttle_repo.take(
        db,
        kind=COMMENT_ACCOUNT,
        key=str(user.id),
        limit=settings.comments_per_hour,
        window_seconds=COMMENT_WINDOW_SECONDS,
    )
    if wait is not None:
        THROTTLED.labels(COMMENT_ACCOUNT).inc()
        raise TooManyRequests(retry_after=wait)
    made = await moderation_repo.add_comment(
        db, job_id=job_id, author_id=user.id, by_moderator=moderates, body=body
    )
    await enqueue(db, NOTIFY_JOB_COMMENT, comment_id=made.id)
    return made


async def comment_mail_place(db: AsyncSession, *, user_id: int) -> bool:
    """Count a comment mail to `user_id`, unless they had COMMENT_MAILS_PER_HOUR in the last
    hour (then no mail: the thread holds it)."""
    _, wait = await throttle_repo.take(
        db,
        kind=COMMENT_MAIL,
        key=str(user_id),
        limit=COMMENT_MAILS_PER_HOUR,
        window_seconds=COMMENT_WINDOW_SECONDS,
    )
    return wait is None
