"""Applications: candidates apply and follow theirs; job owners review them."""

import io
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from defusedcsv import csv
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.cursor import scope_of
from backend.core.exceptions import Conflict, Forbidden, InvalidField, NotFound
from backend.core.mailtemplates import RenderedMail
from backend.core.pagination import Paged, PageRequest, Positioned
from backend.db.hot import Reader
from backend.db.models import (
    Application,
    ApplicationStatus,
    EventKind,
    InterviewState,
    MemberRole,
    Role,
)
from backend.db.models.application import FINAL_STATUSES, RejectionReason
from backend.db.queue import (
    NOTIFY_NEW_APPLICANTS,
    NOTIFY_STATUS_CHANGES,
    SEND_INTERVIEW_INVITATION,
    enqueue,
)
from backend.db.repository import application_events as events_repo
from backend.db.repository import applications as applications_repo
from backend.db.repository import interviews as interviews_repo
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import pipelines as pipelines_repo
from backend.db.repository import users as users_repo
from backend.db.repository.applications import ApplicationRow
from backend.db.repository.base import AnyRow, IdPosition, Lock
from backend.db.repository.sessions import Caller
from backend.db.transactions import Transactions, own_transaction
from backend.services import (
    members,
    rejections,
    resumes,
    screening,
    stages,
    throttle,
    verification,
    webhooks,
)
from backend.services.jobs import JOB_NOT_FOUND
from backend.services.members import Need
from backend.services.rules import check_if_match
from backend.services.stages import Stage

APPLICATION_NOT_FOUND = "Application not found."

# The job's owner and admins move an application among these, in any order.
REVIEW_STATUSES = frozenset(
    {
        ApplicationStatus.reviewing,
        ApplicationStatus.interviewing,
        ApplicationStatus.offered,
        ApplicationStatus.hired,
        ApplicationStatus.rejected,
    }
)
CANDIDATE_STATUSES = frozenset({ApplicationStatus.withdrawn})


async def apply(
    db: AsyncSession,
    settings: Settings,
    *,
    candidate: Caller,
    job_id: int,
    cover_letter: str | None,
    resume_id: int | None = None,
    answers: dict[str, Any] | None = None,
) -> Application:
    """Apply to a job the public may see, once (a second time is a 409), with a confirmed
    address (else 403), answering its screening questions as they are now (422 otherwise,
    see `screening.answer`). The job's owner hears of it within NOTIFY_BATCH_MINUTES, in
    one mail with the other applications that arrive meanwhile.

    An answer the job rules out files the application as rejected at once, with the reason
    `knocked_out`, as an employer's rejection is filed (the candidate hears of it in the
    same batched mail)."""
    verification.require_confirmed(candidate, "apply to jobs")
    # Shared lock: a job being closed or deleted now waits for this application, or this
    # application sees it closed; never an application to a job that closed first.
    found = await jobs_repo.get_access(db, job_id=job_id, lock="share")
    if found is None or not found.public:
        raise NotFound(JOB_NOT_FOUND)
    if resume_id is not None:
        await resumes.to_send(db, candidate=candidate, resume_id=resume_id)
    answered = screening.answer(await screening.questions_now(db, job_id=job_id), answers or {})
    application = await applications_repo.create(
        db,
        job_id=job_id,
        candidate_id=candidate.id,
        cover_letter=cover_letter,
        resume_id=resume_id,
    )
    await events_repo.record(
        db, application_id=application.id, actor_id=candidate.id, kind=EventKind.submitted
    )
    if answered.answers:
        await pipelines_repo.save_answers(
            db, application_id=application.id, answers=answered.answers
        )
    if answered.knocked_out:
        rejected = stages.stage_of(
            await stages.of_job(db, job_id=job_id), ApplicationStatus.rejected, None
        )
        await _move(
            db,
            settings,
            actor_id=None,
            application=application,
            status=ApplicationStatus.rejected,
            stage=rejected,
            reason=RejectionReason.knocked_out,
        )
    # One waiting mail per job: when one is already scheduled, it will list this one too.
    await enqueue(
        db,
        NOTIFY_NEW_APPLICANTS,
        queueing_lock=f"new-applicants:{job_id}",
        delay=timedelta(minutes=settings.notify_batch_minutes),
        job_id=job_id,
    )
    await webhooks.emit(
        db,
        company_id=found.job.company_id,
        event_type=webhooks.EventType.application_created,
        items=lambda: _webhook_items(db, [application]),
    )
    return application


async def list_for_job(
    db: AsyncSession, *, user: Caller, job_id: int, page: PageRequest, q: str | None = None
) -> Paged[AnyRow]:
    """A job's applications, newest first, those whose résumé matches `q` if given: its
    owner and admins (404 for anyone else)."""
    _, role = await members.job_access(db, user, job_id)
    members.required(role, Need.read, not_found=JOB_NOT_FOUND)
    kind, scope = f"applications:job:{job_id}", scope_of(q)
    rows = await applications_repo.list_for_job(
        db, job_id=job_id, limit=page.limit, after=page.after(kind, IdPosition, scope), q=q
    )
    return page.page(rows, kind, scope)


async def list_for_owner(
    db: AsyncSession, *, user: Caller, page: PageRequest, q: str | None = None
) -> Paged[AnyRow]:
    """The applications to the jobs of the caller's companies, newest first, those whose
    résumé matches `q` if given."""
    kind, scope = "applications:owner", scope_of(q)
    rows = await applications_repo.list_for_owner(
        db, member_id=user.id, limit=page.limit, after=page.after(kind, IdPosition, scope), q=q
    )
    return page.page(rows, kind, scope)


async def list_mine(db: Reader, *, candidate: Caller, page: PageRequest) -> Paged[ApplicationRow]:
    """The candidate's own applications, newest first."""
    kind = "applications:mine"
    rows = await applications_repo.list_for_candidate(
        db, candidate_id=candidate.id, limit=page.limit, after=page.after(kind, IdPosition)
    )
    return page.page(rows, kind)


class Visible(NamedTuple):
    application: Application
    # The statuses the caller may set (none for a viewer of the company).
    allowed: set[ApplicationStatus]
    # Whether the caller is of the employer's side (a member of the job's company, or an
    # admin): they read notes, reasons and names.
    employer: bool
    company_id: int


async def _visible(
    db: AsyncSession,
    *,
    user: Caller,
    application_id: int,
    lock: Lock = None,
    viewing: bool = False,
) -> Visible:
    """An application its candidate, a member of its job's company or an admin may see
    (404 for others), and what this caller may do to it. `viewing`: the caller opens it,
    which the first time the employer's side does is recorded on its timeline."""
    admin = user.role == Role.admin
    found = await applications_repo.get_access(
        db, application_id=application_id, lock=lock, member_id=None if admin else user.id
    )
    if found is None:
        raise NotFound(APPLICATION_NOT_FOUND)
    allowed: set[ApplicationStatus] = set()
    role = MemberRole.owner if admin else found.member_role
    if role is not None and role != MemberRole.viewer:
        allowed |= REVIEW_STATUSES
    employer = role is not None
    if found.application.candidate_id == user.id:
        allowed |= CANDIDATE_STATUSES
    if not allowed and not employer:
        raise NotFound(APPLICATION_NOT_FOUND)
    if viewing and employer and found.application.viewed_at is None:
        await events_repo.mark_viewed(db, application_id=application_id, actor_id=user.id)
    return Visible(found.application, allowed, employer, found.company_id)


async def get(db: AsyncSession, *, user: Caller, application_id: int) -> Application:
    visible = await _visible(db, user=user, application_id=application_id, viewing=True)
    return visible.application


async def timeline(
    db: AsyncSession, *, user: Caller, application_id: int, page: PageRequest
) -> tuple[Paged[AnyRow], bool, int | None]:
    """An application's events, oldest first; whether the caller is of the employer's
    side (who reads notes, reasons and names; the candidate reads neither); and the
    candidate's id when the job's blind first pass hides their name from the caller."""
    application, _, private, _ = await _visible(
        db, user=user, application_id=application_id, viewing=True
    )
    kind = f"timeline:{application_id}"
    rows = await events_repo.page(
        db,
        application_id=application_id,
        limit=page.limit,
        after=page.after(kind, IdPosition, scope_of(private)),
        private=private,
    )
    hidden = private and await masked_for(db, user=user, application=application)
    unnamed = application.candidate_id if hidden else None
    return page.page(rows, kind, scope_of(private)), private, unnamed


async def for_review(
    db: AsyncSession, *, user: Caller, application_id: int, lock: Lock = None
) -> Application:
    """An application the caller reviews (the job's owner or an admin): 404 for anyone who
    may not see it, 403 for its candidate."""
    application, allowed, employer, _ = await _visible(
        db, user=user, application_id=application_id, lock=lock
    )
    if employer and not allowed & REVIEW_STATUSES:
        raise Forbidden(members.READ_ONLY)
    if not allowed & REVIEW_STATUSES:
        raise Forbidden("Only the job's owner and admins do this to an application.")
    return application


async def seen_by(
    db: AsyncSession, *, user: Caller, application_id: int
) -> tuple[Application, bool]:
    """An application its candidate or the employer's side may see (404 for others), and
    whether the caller is of the employer's side (a viewer of the company too: a use case
    that changes something asks `for_review`)."""
    application, _, employer, _ = await _visible(db, user=user, application_id=application_id)
    return application, employer


async def add_note(db: AsyncSession, *, user: Caller, application_id: int, note: str) -> AnyRow:
    """A private note of the employer's side on an application (its candidate: 403)."""
    await for_review(db, user=user, application_id=application_id)
    event_id = await events_repo.record(
        db, application_id=application_id, actor_id=user.id, kind=EventKind.note, note=note
    )
    row = await events_repo.get(db, event_id=event_id)
    assert row is not None  # written just now, in this transaction
    return row


async def _job_locked(db: AsyncSession, *, application_id: int) -> None:
    """Hold the lock of an application's job shared: a move into a stage by its key waits
    for a change of the job's pipeline, or the change waits for it (see stages.replace)."""
    job_id = await applications_repo.job_of(db, application_id=application_id)
    if job_id is not None:
        await jobs_repo.get_access(db, job_id=job_id, lock="share")


def _target(
    pipeline: tuple[Stage, ...], status: ApplicationStatus | None, stage: str | None
) -> tuple[ApplicationStatus, Stage | None]:
    """Where a move goes: the stage `stage` names (422 when the job has none such), or the
    first stage of `status` (None for `withdrawn`, which is outside the pipeline)."""
    if stage is not None:
        found = stages.find(pipeline, stage)
        if found is None:
            raise InvalidField(("body", "stage"), "no such stage in this job's pipeline")
        return found.status, found
    assert status is not None  # the schema asks for one of the two
    return status, stages.stage_of(pipeline, status, None)


def _with_a_rejection_only(
    status: ApplicationStatus, reason: RejectionReason | None, mail: rejections.Choice | None
) -> None:
    """422 for a reason or a mail with a move that is no rejection (a stage's status is
    known only once the stage is found)."""
    if status == ApplicationStatus.rejected:
        return
    if reason is not None:
        raise InvalidField(("body", "reason"), "a reason goes with a rejection only")
    if mail is not None:
        raise InvalidField(("body", "mail"), "a mail goes with a rejection only")


async def change_status(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    application_id: int,
    status: ApplicationStatus | None,
    if_match: str | None,
    stage: str | None = None,
    reason: RejectionReason | None = None,
    mail: rejections.Choice | None = None,
) -> Application:
    """Move an application to a status (into the first stage of it) or into a stage of its
    job's pipeline (and so to that stage's status); 403 for a status this caller may not
    set, 409 once it is final. A rejection may say why (`reason`, for the employer's side
    alone) and be mailed to the candidate with a template (`mail`). Each change is an event
    on the application's timeline.

    Decided on the locked row: of two conflicting changes at once (a hire and a
    withdrawal), the second sees the first's result and is refused.
    """
    if stage is not None:
        await _job_locked(db, application_id=application_id)
    application, allowed, employer, company_id = await _visible(
        db, user=user, application_id=application_id, lock="update"
    )
    pipeline = await stages.of_job(db, job_id=application.job_id)
    status, target = _target(pipeline, status, stage)
    if employer and not allowed:
        raise Forbidden(members.READ_ONLY)
    if status not in allowed:
        raise Forbidden(f"You may not set the status {status.value}.")
    check_if_match(if_match, application.updated_at)
    if status == application.status and (
        stage is None or target == stages.stage_of(pipeline, status, application.stage)
    ):
        return application
    if application.status in FINAL_STATUSES:
        raise Conflict(f"The application is already {application.status.value}.")
    _with_a_rejection_only(status, reason, mail)
    before = application.status.value
    await _move(
        db,
        settings,
        actor_id=user.id,
        application=application,
        status=status,
        stage=target,
        reason=reason,
        mail=mail,
    )
    await webhooks.emit(
        db,
        company_id=company_id,
        event_type=webhooks.EventType.application_withdrawn
        if status == ApplicationStatus.withdrawn
        else webhooks.EventType.application_moved,
        items=lambda: _webhook_items(db, [application], previous={application.id: before}),
    )
    if employer:
        await members.record(
            db,
            user=user,
            company_id=company_id,
            action="application_moved",
            application_id=application.id,
            job_id=application.job_id,
            status=status.value,
            stage=None if target is None else target.key,
        )
    return application


async def _move(
    db: AsyncSession,
    settings: Settings,
    *,
    actor_id: int | None,
    application: Application,
    status: ApplicationStatus,
    stage: Stage | None,
    reason: RejectionReason | None,
    mail: rejections.Choice | None = None,
) -> None:
    """Set a locked application's new status and stage and record it on its timeline.
    The candidate is told of a new status (not of a move between two stages of one, and
    not of their own withdrawal): in the next batched mail of their changes, or, for a
    rejection with `mail`, in that mail alone, sent by the worker."""
    stage_key = stage.key if stage is not None else application.stage
    event_id = await events_repo.record(
        db,
        application_id=application.id,
        actor_id=actor_id,
        kind=EventKind.moved,
        status=status,
        stage=stage.name if stage is not None else None,
        reason=reason.value if reason is not None else None,
        detail=mail.template if mail is not None else None,
        note=mail.message if mail is not None else None,
    )
    if status in FINAL_STATUSES:
        await _call_off_interviews(db, application=application, actor_id=actor_id)
    if status == application.status or status == ApplicationStatus.withdrawn:
        # Between two stages of one status, or the candidate's own doing: nothing to tell.
        await applications_repo.update(db, application=application, status=status, stage=stage_key)
        return
    if mail is not None:
        await rejections.ask_for_mail(db, application=application, event_id=event_id)
        await applications_repo.update(
            db,
            application=application,
            status=status,
            stage=stage_key,
            rejection_reason=reason.value if reason is not None else None,
            # The template's mail tells of it, instead of the batched one.
            candidate_notify_pending=False,
            status_told=status,
        )
        return
    await applications_repo.update(
        db,
        application=application,
        status=status,
        stage=stage_key,
        candidate_notify_pending=True,
        rejection_reason=reason.value if reason is not None else None,
    )
    # One waiting mail per candidate: when one is already scheduled, it will tell of this
    # change too (and of where the application ended, if it moves again meanwhile).
    await enqueue(
        db,
        NOTIFY_STATUS_CHANGES,
        queueing_lock=f"status-changes:{application.candidate_id}",
        delay=timedelta(minutes=settings.notify_batch_minutes),
        candidate_id=application.candidate_id,
    )


async def _call_off_interviews(
    db: AsyncSession, *, application: Application, actor_id: int | None
) -> None:
    """An application that reached a final status has no interview to come: each one still
    proposed or accepted is cancelled, recorded on the timeline, and its cancellation
    mailed (an .ics of method CANCEL, so the candidate's calendar drops it) while the
    candidate's address has a place in its share of mail (else the interview is cancelled
    unmailed: the decision is not held up by the mail)."""
    interviews = await interviews_repo.still_on(db, application_id=application.id)
    if not interviews:
        return
    candidate = await users_repo.get(db, user_id=application.candidate_id)
    for interview in interviews:
        await interviews_repo.update(
            db,
            interview=interview,
            sequence=interview.sequence + 1,
            state=InterviewState.cancelled.value,
        )
        await events_repo.record(
            db,
            application_id=application.id,
            actor_id=actor_id,
            kind=EventKind.interview,
            detail="cancelled",
        )
        if (
            candidate is not None
            and await throttle.take_mail_place(db, email=candidate.email) is None
        ):
            await enqueue(
                db,
                SEND_INTERVIEW_INVITATION,
                interview_id=interview.id,
                sequence=interview.sequence,
            )


async def change_many(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    job_id: int,
    application_ids: list[int],
    status: ApplicationStatus | None,
    stage: str | None = None,
    reason: RejectionReason | None = None,
    mail: rejections.Choice | None = None,
) -> list[Application]:
    """Move several applications to a job at once, to a status or into a stage, all or
    nothing: the job's owner and admins (404 for anyone else), to a reviewer's status (403
    for another); 422 when an id is not an application to this job; 409, and nothing
    moved, when one of them is final (already where it is sent is no change); 429, and
    nothing moved, when a rejection's mail would reach a candidate mailed too often. The
    rows are locked in id order, so two such moves at once never wait for each other in a
    circle; each change is recorded as one move is.
    """
    found, role = await members.job_access(db, user, job_id, lock="share")
    members.required(role, Need.work, not_found=JOB_NOT_FOUND)
    assert found is not None  # a role comes with its job
    pipeline = await stages.of_job(db, job_id=job_id)
    status, target = _target(pipeline, status, stage)
    if status not in REVIEW_STATUSES:
        raise Forbidden(f"You may not set the status {status.value}.")
    _with_a_rejection_only(status, reason, mail)
    wanted = sorted(set(application_ids))
    locked = await applications_repo.lock_for_job(db, job_id=job_id, application_ids=wanted)
    by_id = {application.id: application for application in locked}
    for index, application_id in enumerate(application_ids):
        if application_id not in by_id:
            raise InvalidField(("body", "application_ids", index), "not an application to this job")

    def arrived(application: Application) -> bool:
        if application.status != status:
            return False
        return stage is None or target == stages.stage_of(pipeline, status, application.stage)

    changing = [by_id[key] for key in wanted if not arrived(by_id[key])]
    final = [application for application in changing if application.status in FINAL_STATUSES]
    if final:
        listed = ", ".join(f"{a.id} ({a.status.value})" for a in final)
        raise Conflict(f"Nothing was moved: these applications are final already: {listed}.")
    before = {application.id: application.status.value for application in changing}
    for application in changing:
        await _move(
            db,
            settings,
            actor_id=user.id,
            application=application,
            status=status,
            stage=target,
            reason=reason,
            mail=mail,
        )
    await webhooks.emit(
        db,
        company_id=found.job.company_id,
        event_type=webhooks.EventType.application_moved,
        items=lambda: _webhook_items(db, changing, previous=before),
    )
    if changing:
        await members.record(
            db,
            user=user,
            company_id=found.job.company_id,
            action="applications_moved",
            job_id=job_id,
            application_ids=[application.id for application in changing],
            status=status.value,
            stage=None if target is None else target.key,
        )
    return [by_id[key] for key in wanted]


# Applications read at once while a job's export streams (each batch a short transaction).
EXPORT_BATCH = 500
EXPORT_HEADER = (
    "application_id",
    "applied_at",
    "status",
    "stage",
    "name",
    "email",
    "headline",
    "resume",
    "viewed_at",
    "rejection_reason",
    "cover_letter",
)


async def check_export(
    db: AsyncSession, *, user: Caller, job_id: int, need: Need = Need.read
) -> None:
    """Only the job's company's members (as `need` says) and admins export its
    applications or see its settings (404 for anyone else, 403 for a member whose role
    falls short)."""
    _, role = await members.job_access(db, user, job_id)
    members.required(role, need, not_found=JOB_NOT_FOUND)


async def export_csv(transactions: Transactions, *, job_id: int) -> AsyncIterator[str]:
    """A job's applications as CSV text, batch by batch: defusedcsv's writer, which puts a
    quote before any field a spreadsheet would run as a formula (=, +, -, @ ...)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADER)
    after_id = 0
    pipeline: tuple[Stage, ...] | None = None
    while True:
        async with own_transaction(transactions) as db:
            if pipeline is None:
                pipeline = await stages.of_job(db, job_id=job_id)
            rows = await applications_repo.export_batch(
                db, job_id=job_id, after_id=after_id, limit=EXPORT_BATCH
            )
        for row in rows:
            hidden = row.masked  # by the job's blind first pass
            stage = stages.stage_of(pipeline, row.status, row.stage)
            writer.writerow(
                (
                    row.id,
                    _instant(row.created_at),
                    row.status.value,
                    "" if stage is None else stage.name,
                    MASKED_NAME.format(application_id=row.id) if hidden else row.full_name,
                    "" if hidden else row.email,
                    row.headline or "",
                    "" if hidden else row.file_name or "",
                    _instant(row.viewed_at),
                    row.rejection_reason or "",
                    row.cover_letter or "",
                )
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < EXPORT_BATCH:
            return
        after_id = rows[-1].id


def _instant(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class StageCount:
    key: str
    name: str
    status: ApplicationStatus
    applications: int


@dataclass(frozen=True, slots=True)
class JobCounts:
    id: int
    total: int
    by_status: dict[str, int]
    by_stage: list[StageCount]


async def counts_for_owner(
    db: AsyncSession, *, user: Caller, page: PageRequest
) -> Paged[JobCounts]:
    """How many applications each of the caller's jobs has, in all, by status and by stage
    of its pipeline: the jobs that have any, newest first."""
    kind = "applicant-counts"
    jobs, counts = await applications_repo.counts_for_owner(
        db, member_id=user.id, limit=page.limit, after=page.after(kind, IdPosition)
    )
    pipelines = {job.id: stages.parse(job.job_stages) for job in jobs.items}
    by_job: dict[int, dict[str, int]] = {}
    in_stage: dict[int, dict[str, int]] = {}
    for job_id, status, stored, count in counts:
        statuses = by_job.setdefault(job_id, {})
        statuses[status.value] = statuses.get(status.value, 0) + count
        stage = stages.stage_of(pipelines[job_id], status, stored)
        if stage is not None:
            held = in_stage.setdefault(job_id, {})
            held[stage.key] = held.get(stage.key, 0) + count
    rows = []
    for job in jobs.items:
        statuses = by_job.get(job.id, {})
        held = in_stage.get(job.id, {})
        by_stage = [
            StageCount(s.key, s.name, s.status, held.get(s.key, 0)) for s in pipelines[job.id]
        ]
        rows.append(
            JobCounts(
                id=job.id, total=sum(statuses.values()), by_status=statuses, by_stage=by_stage
            )
        )
    return page.page(Positioned(rows, jobs.position), kind)


MASKED_NAME = "Candidate {application_id}"


async def review_settings(db: AsyncSession, *, user: Caller, job_id: int) -> bool:
    """Whether a job's first pass is blind: its owner and admins (404 for others)."""
    await check_export(db, user=user, job_id=job_id)
    return await applications_repo.blind(db, job_id=job_id)


async def set_review_settings(db: AsyncSession, *, user: Caller, job_id: int, blind: bool) -> bool:
    """Make a job's first pass blind or not: its company's recruiters and owners, admins
    (404 for others)."""
    await check_export(db, user=user, job_id=job_id, need=Need.work)
    await applications_repo.set_blind(db, job_id=job_id, blind=blind)
    return blind


async def reveal(db: AsyncSession, *, user: Caller, application_id: int) -> Application:
    """Show the employer's side who made an application a blind first pass hides: recorded
    on its timeline (once; revealing one already shown changes nothing)."""
    application = await for_review(db, user=user, application_id=application_id, lock="update")
    if await applications_repo.is_masked(db, application_id=application_id):
        await applications_repo.update(db, application=application, revealed_at=func.now())
        await events_repo.record(
            db, application_id=application_id, actor_id=user.id, kind=EventKind.revealed
        )
    return application


async def _webhook_items(
    db: AsyncSession, applications: list[Application], *, previous: dict[int, str] | None = None
) -> list[dict[str, Any]]:
    """What an application's webhook event says: its ids, status, the key of its stage in its job's
    pipeline (null once withdrawn) and, for a move, the status it left."""
    pipelines = await stages.of_jobs(db, job_ids=[a.job_id for a in applications])
    items = []
    for application in applications:
        stage = stages.stage_of(
            pipelines[application.job_id], application.status, application.stage
        )
        data: dict[str, Any] = {
            "application_id": application.id,
            "job_id": application.job_id,
            "status": application.status.value,
            "stage": None if stage is None else stage.key,
        }
        if previous is not None:
            data["previous_status"] = previous[application.id]
        items.append(data)
    return items


async def masked_for(db: AsyncSession, *, user: Caller, application: Application) -> bool:
    """Whether the caller sees the application masked: anyone but its candidate, while the
    job's blind first pass hides it."""
    if application.candidate_id == user.id:
        return False
    return await applications_repo.is_masked(db, application_id=application.id)


async def preview_rejection(
    db: AsyncSession,
    settings: Settings,
    *,
    user: Caller,
    application_id: int,
    choice: rejections.Choice,
) -> RenderedMail:
    """The rejection mail `choice` would send the candidate now: the employer's side (404
    for anyone who may not see the application, 403 for its candidate); nothing is sent or
    changed. While the job's blind first pass hides who applied, so does the preview."""
    application = await for_review(db, user=user, application_id=application_id)
    masked = await masked_for(db, user=user, application=application)
    rendered = await rejections.preview(
        db, settings, application_id=application_id, choice=choice, masked=masked
    )
    if rendered is None:  # removed since it was read, in this transaction: cannot be
        raise NotFound(APPLICATION_NOT_FOUND)
    return rendered


async def stage_shown(db: AsyncSession, *, user: Caller, application: Application) -> str | None:
    """The key of the stage an application is in, for the employer's side (None for its
    candidate, to whom the employer's stages are not shown, and once withdrawn)."""
    if application.candidate_id == user.id:
        return None
    pipeline = await stages.of_job(db, job_id=application.job_id)
    stage = stages.stage_of(pipeline, application.status, application.stage)
    return None if stage is None else stage.key


# Rows of applications, or applications: anything with `job_id`, `status` and `stage`.
StageLookup = Callable[[Any], str | None]


async def stage_lookup(db: AsyncSession, rows: Sequence[Any]) -> StageLookup:
    """For applications, the key of the stage each is in, from one read of their jobs'
    pipelines."""
    pipelines = await stages.of_jobs(db, job_ids=[row.job_id for row in rows])

    def key(row: Any) -> str | None:
        stage = stages.stage_of(pipelines[row.job_id], row.status, row.stage)
        return None if stage is None else stage.key

    return key


def listed_stage(row: Any) -> str | None:
    """The key of the stage a listed application is in (its row carries its job's stored
    stages as `job_stages`)."""
    stage = stages.stage_of(stages.parse(row.job_stages), row.status, row.stage)
    return None if stage is None else stage.key


async def answers(
    db: AsyncSession, *, user: Caller, application_id: int
) -> tuple[list[dict[str, Any]], bool]:
    """What the candidate answered to the job's screening questions, as they were asked;
    and whether the caller is of the employer's side (who reads which answers knocked it
    out). Its candidate and the employer's side (404 for anyone else)."""
    application, reviewer = await seen_by(db, user=user, application_id=application_id)
    stored = await pipelines_repo.answers(db, application_id=application.id)
    return list(stored or ()), reviewer
