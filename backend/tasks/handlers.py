"""The tasks workers run, and the periodic ones.

Every task is safe to run again: procrastinate retries a failing task with exponential
backoff (`backend.tasks.worker.configure_retries`), and a task whose worker died is run
again by another. A mail is sent at most once per key once the SMTP server accepted it:
the send is recorded under the key (`sent_mails`), in the transaction that commits the
task's other changes, and a task finding its key recorded sends nothing. The one case left
is a worker dying (or its database going away) between the server's acceptance and that
commit, which sends that mail again, with the same Message-ID (`core.mail.message_id`) so
that receiving servers and clients can tell the copy.
"""

import functools
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Concatenate, ParamSpec

from procrastinate import JobContext
from procrastinate.exceptions import UniqueViolation
from procrastinate.jobs import Status
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.config import Settings
from backend.core.mail import Mailer, message_id
from backend.core.metrics import TASK_DURATION, TASK_RUNS
from backend.db.queue import (
    DELETE_STORED_FILE,
    DELIVER_WEBHOOKS,
    NOTIFY_JOB_CLOSED,
    NOTIFY_JOB_COMMENT,
    NOTIFY_JOB_DECISION,
    NOTIFY_JOB_EXPIRING,
    NOTIFY_JOB_REPORTED,
    NOTIFY_NEW_APPLICANTS,
    NOTIFY_OPEN_CHECK,
    NOTIFY_REVISION_DECISION,
    NOTIFY_STATUS_CHANGES,
    NOTIFY_WEBHOOK_DISABLED,
    READ_RESUME_TEXT,
    SEND_COMPANY_INVITATION,
    SEND_COMPANY_VERIFICATION,
    SEND_EMAIL_VERIFICATION,
    SEND_INTERVIEW_INVITATION,
    SEND_JOB_ALERT,
    SEND_JOB_ALERTS,
    SEND_PASSWORD_RESET,
    SEND_REJECTION,
    queue,
)
from backend.services import (
    alerts,
    file_store,
    housekeeping,
    job_expiry,
    mailing,
    moderation,
    notifications,
    open_checks,
    rejections,
    responsiveness,
    resumes,
    webhooks,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Resources:
    """What tasks work with: one set per worker, handed to tasks in their context."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    mailer: Mailer


RESOURCES = "resources"


def _resources(context: JobContext) -> Resources:
    resources: Resources = context.additional_context[RESOURCES]
    return resources


P = ParamSpec("P")
Task = Callable[Concatenate[JobContext, P], Coroutine[Any, Any, None]]


def measured(function: Task[P]) -> Task[P]:
    """Count the task's runs by outcome and time them (`jobboard_task_runs_total`,
    `jobboard_task_duration_seconds`)."""

    @functools.wraps(function)
    async def run(context: JobContext, /, *args: P.args, **kwargs: P.kwargs) -> None:
        name = context.job.task_name
        started = time.perf_counter()
        try:
            await function(context, *args, **kwargs)
        except Exception:
            TASK_RUNS.labels(name, "failed").inc()
            raise
        finally:
            TASK_DURATION.labels(name).observe(time.perf_counter() - started)
        TASK_RUNS.labels(name, "succeeded").inc()

    return run


def _key(context: JobContext) -> str:
    """The send key of a task's one mail: the task itself (a retry keeps its id)."""
    return f"{context.job.task_name}:{context.job.id}"


async def send_once(
    db: AsyncSession,
    resources: Resources,
    key: str,
    message: EmailMessage,
    *,
    same_on_retry: bool = True,
) -> None:
    """Send under `key` (`mailing.send_once`), with a Message-ID the same on every try
    unless the mail differs between tries in what matters (`same_on_retry=False`)."""
    await mailing.send_once(
        db,
        resources.mailer,
        key=key,
        message=message,
        message_id=message_id(resources.settings, key) if same_on_retry else None,
    )


@queue.task(name=SEND_PASSWORD_RESET, pass_context=True)
@measured
async def send_password_reset(
    context: JobContext, *, user_id: int, generation: int | None = None
) -> None:
    """A new reset link, made under the security generation it was asked under (None: a
    task asked for by an earlier version, under the account's generation now); its token is
    stored only if the mail went out."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        if not await mailing.claim(db, key=_key(context)):
            return  # sent by an earlier run: no second link
        message = await notifications.password_reset_mail(
            db, resources.settings, user_id=user_id, generation=generation
        )
        if message is not None:
            # Each try makes a new link (the token is stored with the send's record): a
            # copy from a try whose record was lost holds a dead link, so it must not
            # share the working one's Message-ID.
            await send_once(db, resources, _key(context), message, same_on_retry=False)


@queue.task(name=SEND_EMAIL_VERIFICATION, pass_context=True)
@measured
async def send_email_verification(
    context: JobContext, *, user_id: int, email: str, generation: int | None = None
) -> None:
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        message = await notifications.verification_mail(
            db, resources.settings, user_id=user_id, email=email, generation=generation
        )
        if message is not None:
            await send_once(db, resources, _key(context), message)


@queue.task(name=SEND_COMPANY_VERIFICATION, pass_context=True)
@measured
async def send_company_verification(
    context: JobContext, *, company_id: int, user_id: int, email: str, generation: int
) -> None:
    """Mail a link that verifies a company to an address at its website's domain."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        message = await notifications.company_verification_mail(
            db,
            resources.settings,
            company_id=company_id,
            user_id=user_id,
            email=email,
            generation=generation,
        )
        if message is not None:
            await send_once(db, resources, _key(context), message)


@queue.task(name=SEND_COMPANY_INVITATION, pass_context=True)
@measured
async def send_company_invitation(
    context: JobContext, *, invitation_id: int, sends: int, inviter_id: int, generation: int
) -> None:
    """Mail the link of an invitation to join a company to the invited address."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        message = await notifications.company_invitation_mail(
            db,
            resources.settings,
            invitation_id=invitation_id,
            sends=sends,
            inviter_id=inviter_id,
            generation=generation,
        )
        if message is not None:
            await send_once(db, resources, _key(context), message)


@queue.task(name=DELIVER_WEBHOOKS, pass_context=True)
@measured
async def deliver_webhooks(context: JobContext, *, endpoint_id: int) -> None:
    """Post an endpoint's due webhooks, in order (backend.services.webhooks); asked for
    under the endpoint's lock, so one run at a time does."""
    resources = _resources(context)
    await webhooks.deliver(resources.sessionmaker, resources.settings, endpoint_id=endpoint_id)


@queue.task(name=NOTIFY_WEBHOOK_DISABLED, pass_context=True)
@measured
async def notify_webhook_disabled(
    context: JobContext, *, endpoint_id: int, user_id: int, disabled_at: str
) -> None:
    """Tell an owner that the company's failing endpoint was switched off."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        message = await notifications.webhook_disabled_mail(
            db,
            resources.settings,
            endpoint_id=endpoint_id,
            user_id=user_id,
            disabled_at=disabled_at,
        )
        if message is not None:
            await send_once(db, resources, _key(context), message)


@queue.task(name=NOTIFY_NEW_APPLICANTS, pass_context=True)
@measured
async def notify_new_applicants(context: JobContext, *, job_id: int) -> None:
    """One mail to a job's owner listing every application not told of yet (the request
    that applied scheduled this NOTIFY_BATCH_MINUTES later, and others joined it)."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        mail = await notifications.new_applicants_mail(db, resources.settings, job_id=job_id)
        if mail.through_id is None:
            return
        if mail.message is not None:  # else the owner turned these off
            key = f"new-applicants:{job_id}:{mail.through_id}"
            await send_once(db, resources, key, mail.message)
        await notifications.applicants_told(db, job_id=job_id, through_id=mail.through_id)


@queue.task(name=NOTIFY_STATUS_CHANGES, pass_context=True)
@measured
async def notify_status_changes(context: JobContext, *, candidate_id: int) -> None:
    """One mail to a candidate listing each application whose status changed since their
    last one (the change that asked for this waited NOTIFY_BATCH_MINUTES, and others joined
    it)."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        mail = await notifications.status_changes_mail(
            db, resources.settings, candidate_id=candidate_id
        )
        if mail.message is not None:
            await send_once(db, resources, _key(context), mail.message)
        await notifications.candidate_told(db, application_ids=mail.application_ids)


@queue.task(name="notify_application_status", pass_context=True)
@measured
async def notify_application_status(
    context: JobContext, *, application_id: int, status: str
) -> None:
    """A task of the version before batching, which a rolling upgrade may find queued: its
    change joins the candidate's batch, sent now."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        candidate_id = await notifications.status_changed(db, application_id=application_id)
        if candidate_id is None:
            return
        mail = await notifications.status_changes_mail(
            db, resources.settings, candidate_id=candidate_id
        )
        if mail.message is not None:
            await send_once(db, resources, _key(context), mail.message)
        await notifications.candidate_told(db, application_ids=mail.application_ids)


@queue.task(name=NOTIFY_JOB_DECISION, pass_context=True)
@measured
async def notify_job_decision(context: JobContext, *, decision_id: int) -> None:
    """Tell a job's poster what a moderator decided on it."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        message = await notifications.job_decision_mail(
            db, resources.settings, decision_id=decision_id
        )
        if message is not None:
            await send_once(db, resources, f"job-decision:{decision_id}", message)


@queue.task(name=NOTIFY_JOB_REPORTED, pass_context=True)
@measured
async def notify_job_reported(context: JobContext, *, job_id: int, held_at: str) -> None:
    """Tell a job's owner that reports took it off the board for review."""
    resources = _resources(context)
    held = datetime.fromisoformat(held_at)
    async with resources.sessionmaker() as db, db.begin():
        message = await notifications.job_reported_mail(
            db, resources.settings, job_id=job_id, held_at=held
        )
        if message is not None:
            await send_once(db, resources, f"job-reported:{job_id}:{held.isoformat()}", message)


@queue.task(name=NOTIFY_REVISION_DECISION, pass_context=True)
@measured
async def notify_revision_decision(context: JobContext, *, revision_id: int) -> None:
    """Tell a job's poster what a moderator decided on their edit of it."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        message = await notifications.revision_decision_mail(
            db, resources.settings, revision_id=revision_id
        )
        if message is not None:
            await send_once(db, resources, f"revision-decision:{revision_id}", message)


@queue.task(name=NOTIFY_JOB_CLOSED, pass_context=True)
@measured
async def notify_job_closed(context: JobContext, *, job_id: int) -> None:
    """Tell each candidate whose application to a job was under way that it closed: once
    an application, however often the job is closed again."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        mails = await notifications.job_closed_mails(db, resources.settings, job_id=job_id)
        for application_id, message in mails:
            await send_once(db, resources, f"job-closed:{application_id}", message)


@queue.task(name=NOTIFY_JOB_COMMENT, pass_context=True)
@measured
async def notify_job_comment(context: JobContext, *, comment_id: int) -> None:
    """Mail a comment in a job's thread to the other side: each recipient once, and none
    past COMMENT_MAILS_PER_HOUR comment mails an hour."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        mails = await notifications.job_comment_mails(db, resources.settings, comment_id=comment_id)
        for user_id, message in mails:
            key = f"job-comment:{comment_id}:{user_id}"
            if await mailing.claim(db, key=key) and await moderation.comment_mail_place(
                db, user_id=user_id
            ):
                await send_once(db, resources, key, message)


@queue.task(name=READ_RESUME_TEXT, pass_context=True)
@measured
async def read_resume_text(context: JobContext, *, resume_id: int) -> None:
    """Read a new résumé's text, so that the employers it is sent to can search it."""
    resources = _resources(context)
    await resumes.read_text(resources.sessionmaker, resources.settings, resume_id=resume_id)


@queue.task(name=SEND_INTERVIEW_INVITATION, pass_context=True)
@measured
async def send_interview_invitation(
    context: JobContext, *, interview_id: int, sequence: int
) -> None:
    """Mail the invitation to an interview, as version `sequence` of it (once per version;
    nothing when it changed again since: the newer version has its own task)."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        message = await notifications.interview_mail(
            db, resources.settings, interview_id=interview_id, sequence=sequence
        )
        if message is not None:
            await send_once(db, resources, f"interview:{interview_id}:{sequence}", message)


@queue.task(name=DELETE_STORED_FILE, pass_context=True)
@measured
async def delete_stored_file(context: JobContext, *, key: str) -> None:
    """Delete a file of the object store whose row is gone (nothing for the database
    store, which dropped it with the row)."""
    store = file_store.store_for(_resources(context).settings)
    if isinstance(store, file_store.S3Store):
        await store.delete_now(key)


@queue.task(name=SEND_REJECTION, pass_context=True)
@measured
async def send_rejection(context: JobContext, *, event_id: int) -> None:
    """Mail the candidate the rejection that timeline event `event_id` recorded, in the
    template the employer chose: once."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        message = await rejections.mail(db, resources.settings, event_id=event_id)
        if message is not None:
            await send_once(db, resources, f"rejection:{event_id}", message)


@queue.task(name=SEND_JOB_ALERTS, pass_context=True)
@measured
async def send_job_alerts(context: JobContext, *, saved_search_ids: list[int]) -> None:
    """Mail the new matches of those of the saved searches that are due, found together,
    each mail in a transaction of its own that moves its search's window on: once per
    window, however many runs race, and a retry after a failed mail sends none of those
    that went out before it again."""
    await _send_alerts(_resources(context), saved_search_ids)


@queue.task(name=SEND_JOB_ALERT, pass_context=True)
@measured
async def send_job_alert(context: JobContext, *, saved_search_id: int) -> None:
    """One saved search's alert (a task an earlier release asked for)."""
    await _send_alerts(_resources(context), [saved_search_id])


async def _send_alerts(resources: Resources, saved_search_ids: list[int]) -> None:
    async with resources.sessionmaker() as db:
        async with db.begin():
            due = await alerts.due_alerts(db, resources.settings, saved_search_ids=saved_search_ids)
        for alert in due:
            # Its window moved on in this transaction is the mail's claim and its record:
            # another run waits on the saved search's row, then finds the window moved.
            async with db.begin():
                if await alerts.claim(db, alert=alert):
                    await mailing.send(
                        resources.mailer,
                        message=alert.message,
                        message_id=message_id(resources.settings, alert.key),
                    )


@queue.task(name=NOTIFY_JOB_EXPIRING, pass_context=True)
@measured
async def notify_job_expiring(context: JobContext, *, job_id: int, expires_at: str) -> None:
    """Tell a job's owner that it expires at `expires_at` (unless that changed meanwhile)."""
    resources = _resources(context)
    expiry = datetime.fromisoformat(expires_at)
    async with resources.sessionmaker() as db, db.begin():
        message = await job_expiry.notice_mail(
            db, resources.settings, job_id=job_id, expires_at=expiry
        )
        if message is not None:
            key = f"job-expiring:{job_id}:{expiry.isoformat()}"
            await send_once(db, resources, key, message)


@queue.task(name=NOTIFY_OPEN_CHECK, pass_context=True)
@measured
async def notify_open_check(
    context: JobContext, *, owner_id: int, jobs: list[list[Any]], reason: str
) -> None:
    """Ask an owner whether their jobs are still open, or tell them which closed unanswered
    (leaving out what was answered or changed meanwhile)."""
    resources = _resources(context)
    asked = [(int(job_id), datetime.fromisoformat(at)) for job_id, at in jobs]
    async with resources.sessionmaker() as db, db.begin():
        message = await open_checks.mail(
            db,
            resources.settings,
            owner_id=owner_id,
            jobs=asked,
            reason=open_checks.Reason(reason),
        )
        if message is not None:
            await send_once(db, resources, _key(context), message)


# Periodic tasks: each runs once per period however many workers run (procrastinate
# defers one job per period and task, under a lock).


@queue.periodic(cron="*/10 * * * *")
@queue.task(name="schedule_job_alerts", queueing_lock="schedule_job_alerts", pass_context=True)
@measured
async def schedule_job_alerts(context: JobContext, timestamp: int) -> None:
    """Ask for the alerts of every saved search that is due (a task for each thousand, so
    that every worker takes a share)."""
    resources = _resources(context)
    count = await alerts.schedule_due(resources.sessionmaker)
    if count:
        logger.info("job alerts due: %d", count)


@queue.periodic(cron="23 * * * *")
@queue.task(
    name="schedule_expiry_notices", queueing_lock="schedule_expiry_notices", pass_context=True
)
@measured
async def schedule_expiry_notices(context: JobContext, timestamp: int) -> None:
    """Ask for a mail to the owner of each published job that expires within
    job_expiry.EXPIRY_NOTICE and was not noticed for that date."""
    count = await job_expiry.schedule_notices(_resources(context).sessionmaker)
    if count:
        logger.info("expiry notices due: %d", count)


@queue.periodic(cron="41 * * * *")
@queue.task(name="schedule_open_checks", queueing_lock="schedule_open_checks", pass_context=True)
@measured
async def schedule_open_checks(context: JobContext, timestamp: int) -> None:
    """Close the jobs whose employer did not say within the grace period whether they are
    still open, and ask about those due (backend.services.open_checks)."""
    resources = _resources(context)
    asked, closed = await open_checks.run(resources.sessionmaker, resources.settings)
    if asked or closed:
        logger.info("open checks: %d asked, %d closed unanswered", asked, closed)


@queue.periodic(cron="17 * * * *")
@queue.task(name="purge", queueing_lock="purge", pass_context=True)
@measured
async def purge(context: JobContext, timestamp: int) -> None:
    """Delete what has ended: sessions, reset tokens, throttle counts, old send records, and
    the files of uploads to an object store whose rows never committed."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        removed = await housekeeping.purge(db, resources.settings)
    store = file_store.store_for(resources.settings)
    removed["unkept uploads"] = await store.sweep(resources.sessionmaker)
    logger.info("purged %s", ", ".join(f"{count} {what}" for what, count in removed.items()))


@queue.periodic(cron="37 3 * * *")
@queue.task(
    name="compute_responsiveness", queueing_lock="compute_responsiveness", pass_context=True
)
@measured
async def compute_responsiveness(context: JobContext, timestamp: int) -> None:
    """Each company's median time to a first answer and share answered within 30 days
    (backend.services.responsiveness), daily."""
    resources = _resources(context)
    async with resources.sessionmaker() as db, db.begin():
        written, dropped = await responsiveness.recompute(db)
    logger.info("responsiveness: %d companies written, %d dropped", written, dropped)


@queue.periodic(cron="* * * * *")
@queue.task(
    name="schedule_webhook_deliveries",
    queueing_lock="schedule_webhook_deliveries",
    pass_context=True,
)
@measured
async def schedule_webhook_deliveries(context: JobContext, timestamp: int) -> None:
    """Ask for a run for every webhook endpoint whose next delivery is due, each minute."""
    count = await webhooks.schedule_due(_resources(context).sessionmaker)
    if count:
        logger.info("webhook endpoints due: %d", count)


# Every ten seconds (croniter takes seconds as a sixth field, last).
@queue.periodic(cron="* * * * * */10")
@queue.task(name="retry_stalled_tasks", queueing_lock="retry_stalled_tasks", pass_context=True)
@measured
async def retry_stalled_tasks(context: JobContext, timestamp: int) -> None:
    """Run again the tasks of workers that died mid-task (killed, or their machine lost)."""
    manager = context.app.job_manager
    seconds = _resources(context).settings.worker_stalled_seconds
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=seconds)
    for job in stalled:
        try:
            await manager.retry_job(job)
        except UniqueViolation:
            # A task under the same queueing lock waits already (asked for while this one
            # ran): it does what this one would have, so this one ends here, and with it
            # the lock it held, which kept the waiting one from running.
            await manager.finish_job(job, status=Status.ABORTED, delete_job=False)
            logger.warning(
                "task %s of a stalled worker ended: one under its queueing lock waits", job.id
            )
            continue
        logger.warning("task %s of a stalled worker queued again", job.id)


def task_names() -> list[str]:
    return sorted(queue.tasks)


__all__: list[Any] = ["RESOURCES", "Resources", "send_once", "task_names"]
