"""The mail of a rejection, in one of the board's templates that the employer chooses (and
can preview), with a message of their own if they like.

It is a mail of the candidate's application news (the kind they may turn off), sent by the
worker once per rejection, instead of the batched mail of their changes: the rejection's
event on the timeline holds the template and the message, so the task needs nothing else.
"""

from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import TooManyRequests
from backend.core.mailtemplates import RenderedMail, render
from backend.db.models import Application, ApplicationStatus
from backend.db.queue import SEND_REJECTION, enqueue
from backend.db.repository import application_events as events_repo
from backend.db.repository import applications as applications_repo
from backend.db.repository.applications import MailFacts
from backend.services import notifications, throttle


@dataclass(frozen=True, slots=True)
class Choice:
    """The template (one of the board's: see `schemas.pipeline.RejectionTemplate`) and the
    employer's own message, if any."""

    template: str
    message: str | None


def _mail_name(template: str) -> str:
    return f"rejection_{template}"


def _context(settings: Settings, facts: MailFacts, choice: Choice, name: str) -> dict[str, object]:
    return {
        "name": name,
        "job_title": facts.job_title,
        "company": facts.company,
        "message": choice.message,
        "link": f"{settings.frontend_url.rstrip('/')}/applications",
    }


async def ask_for_mail(db: AsyncSession, *, application: Application, event_id: int) -> None:
    """Have the worker send the mail of the rejection that event `event_id` recorded,
    within the candidate's share of mail (429, and nothing changed, past it)."""
    facts = await applications_repo.mail_facts(db, application_id=application.id)
    if facts is not None:
        wait = await throttle.take_mail_place(db, email=facts.email)
        if wait is not None:
            raise TooManyRequests(
                "The candidate was mailed often in the last hour; try again later.",
                retry_after=wait,
            )
    await enqueue(db, SEND_REJECTION, event_id=event_id)


async def preview(
    db: AsyncSession, settings: Settings, *, application_id: int, choice: Choice, masked: bool
) -> RenderedMail | None:
    """The mail as the candidate would get it now (without its unsubscribe link); with
    "Candidate <id>" for their name when the job's blind first pass hides it from the
    reader."""
    facts = await applications_repo.mail_facts(db, application_id=application_id)
    if facts is None:
        return None
    name = f"Candidate {application_id}" if masked else facts.name
    return render(_mail_name(choice.template), _context(settings, facts, choice, name))


async def mail(db: AsyncSession, settings: Settings, *, event_id: int) -> EmailMessage | None:
    """The mail of the rejection event `event_id` recorded; None when there is none to send
    (the event or application gone, the application no longer rejected, or a candidate who
    cannot be mailed or turned these mails off)."""
    event = await events_repo.moved_event(db, event_id=event_id)
    if event is None or event.detail is None:
        return None
    facts = await applications_repo.mail_facts(db, application_id=event.application_id)
    if facts is None or facts.status != ApplicationStatus.rejected or not facts.wants_it:
        return None
    choice = Choice(event.detail, event.note)
    return notifications.notification_mail(
        settings,
        _mail_name(choice.template),
        to=facts.email,
        user_id=facts.candidate_id,
        generation=facts.generation,
        kind=notifications.Kind.application_status,
        context=_context(settings, facts, choice, facts.name),
    )
