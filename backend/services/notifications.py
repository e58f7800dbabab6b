"""Mail that tells people what happened: what each mail says and to whom, whether they want
it, and turning a kind of mail off (from the settings, or one click in the mail itself).

The builders here run in the worker (`backend.tasks.handlers`); each returns the message to
send, or None when there is nothing to send (the user turned that kind off, the thing is
gone). Sending, and recording the send, is the worker's.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import calendar
from backend.core.config import Settings
from backend.core.exceptions import BadRequest, InvalidCredentials
from backend.core.mail import MESSAGE_ID_DOMAIN, compose
from backend.core.mailtemplates import render
from backend.core.security import (
    COMPANY_INVITATION_PURPOSE,
    UNSUBSCRIBE_PURPOSE,
    VERIFY_COMPANY_PURPOSE,
    VERIFY_EMAIL_PURPOSE,
    InvalidToken,
    create_link_token,
    decode_link_token,
    hash_opaque_token,
    new_opaque_token,
)
from backend.db.models import ApplicationStatus, InterviewState, User
from backend.db.repository import applications as applications_repo
from backend.db.repository import companies as companies_repo
from backend.db.repository import interviews as interviews_repo
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import moderation as moderation_repo
from backend.db.repository import password_resets as resets_repo
from backend.db.repository import users as users_repo
from backend.db.repository import webhooks as webhooks_repo
from backend.db.repository.sessions import Caller
from backend.schemas.notifications import NotificationSettings, NotificationSettingsUpdate
from backend.services import company_verification, members

INVALID_UNSUBSCRIBE = "This unsubscribe link is invalid, expired or already used."


class Kind(StrEnum):
    """The kinds of notification mail, each of which a user can turn off."""

    new_applicants = "new_applicants"
    application_status = "application_status"
    job_alerts = "job_alerts"
    job_expiry = "job_expiry"


def _column(kind: Kind) -> str:
    return f"notify_{kind.value}"


def _frontend(settings: Settings, path: str) -> str:
    return f"{settings.frontend_url.rstrip('/')}{path}"


def _message(
    settings: Settings,
    name: str,
    *,
    to: str,
    context: dict[str, Any],
    unsubscribe_token: str | None = None,
) -> EmailMessage:
    """A mail from its template. With `unsubscribe_token`, the reader's link opens the web
    app's unsubscribe page, and the RFC 8058 headers name the API's address, which mail
    clients POST to themselves."""
    page = header = None
    if unsubscribe_token is not None:
        page = _frontend(settings, f"/unsubscribe?token={unsubscribe_token}")
        api = settings.api_url.rstrip("/")
        header = f"{api}/api/v1/notifications/unsubscribe?token={unsubscribe_token}"
    mail = render(name, {**context, "unsubscribe_url": page})
    return compose(
        settings,
        to=to,
        subject=mail.subject,
        body=mail.text,
        html=mail.html,
        unsubscribe_url=header,
    )


def notification_mail(
    settings: Settings,
    name: str,
    *,
    to: str,
    user_id: int,
    generation: int,
    kind: Kind,
    context: dict[str, Any],
) -> EmailMessage:
    """A notification of `kind`: with its one-click unsubscribe link and headers, which work
    while the recipient's security generation is still `generation`."""
    token = create_link_token(
        settings,
        purpose=UNSUBSCRIBE_PURPOSE,
        user_id=user_id,
        subject=kind.value,
        generation=generation,
        expires_in=settings.unsubscribe_token_expire_days * 24 * 3600,
    )
    return _message(settings, name, to=to, context=context, unsubscribe_token=token)


def _still(user: User | None, generation: int | None) -> User | None:
    """The user, if active and still under the security generation a mail was asked under
    (None: asked for by an earlier version, which did not say)."""
    if user is None or not user.is_active:
        return None
    if generation is not None and generation != user.security_generation:
        return None  # a security event since: the link would be dead on arrival
    return user


async def password_reset_mail(
    db: AsyncSession, settings: Settings, *, user_id: int, generation: int | None
) -> EmailMessage | None:
    """A new single-use reset link for an active account with a confirmed address, under
    the security generation it was asked under (its hash stored with `db`)."""
    user = _still(await users_repo.get(db, user_id=user_id), generation)
    if user is None or user.email_verified_at is None:
        return None
    token = new_opaque_token()
    await resets_repo.create(
        db,
        user_id=user.id,
        generation=user.security_generation,
        token_hash=hash_opaque_token(token),
        expires_at=datetime.now(UTC) + timedelta(minutes=settings.reset_token_expire_minutes),
    )
    context = {
        "name": user.full_name,
        "minutes": settings.reset_token_expire_minutes,
        "link": _frontend(settings, f"/reset-password?token={token}"),
    }
    return _message(settings, "password_reset", to=user.email, context=context)


async def verification_mail(
    db: AsyncSession, settings: Settings, *, user_id: int, email: str, generation: int | None
) -> EmailMessage | None:
    """A link that confirms `email` for the user (their address, or the one they asked to
    change to), under the security generation it was asked under; None when there is
    nothing left to confirm. It carries nothing the account chose (not its name): the
    address may not be the asker's."""
    user = _still(await users_repo.get(db, user_id=user_id), generation)
    if user is None:
        return None
    if email.lower() == user.email.lower() and user.email_verified_at is not None:
        return None
    token = create_link_token(
        settings,
        purpose=VERIFY_EMAIL_PURPOSE,
        user_id=user.id,
        subject=email,
        generation=user.security_generation,
        expires_in=settings.verification_token_expire_hours * 3600,
    )
    context = {
        "email": email,
        "hours": settings.verification_token_expire_hours,
        "link": _frontend(settings, f"/verify-email?token={token}"),
    }
    return _message(settings, "verify_email", to=email, context=context)


async def company_verification_mail(
    db: AsyncSession,
    settings: Settings,
    *,
    company_id: int,
    user_id: int,
    email: str,
    generation: int | None,
) -> EmailMessage | None:
    """A link that verifies a company at `email`'s domain, mailed to that address; None
    when it would no longer work (backend.services.company_verification)."""
    pending = await company_verification.still_pending(
        db,
        await companies_repo.get(db, company_id=company_id),
        await users_repo.get(db, user_id=user_id),
        email=email,
        generation=generation,
    )
    if pending is None:
        return None
    token = create_link_token(
        settings,
        purpose=VERIFY_COMPANY_PURPOSE,
        user_id=pending.account.id,
        subject=company_verification.link_subject(pending.company.id, email),
        generation=pending.account.security_generation,
        expires_in=settings.verification_token_expire_hours * 3600,
    )
    context = {
        "company": pending.company.name,
        "domain": pending.domain,
        "email": email,
        "hours": settings.verification_token_expire_hours,
        "link": _frontend(settings, f"/verify-company?token={token}"),
    }
    return _message(settings, "verify_company", to=email, context=context)


async def company_invitation_mail(
    db: AsyncSession,
    settings: Settings,
    *,
    invitation_id: int,
    sends: int,
    inviter_id: int,
    generation: int | None,
) -> EmailMessage | None:
    """The link of an invitation to join a company, mailed to the invited address; None
    when it would no longer work (backend.services.members)."""
    found = await members.still_mailable(
        db, invitation_id=invitation_id, sends=sends, inviter_id=inviter_id, generation=generation
    )
    if found is None:
        return None
    days = max(
        1, math.ceil((found.invitation.expires_at - datetime.now(UTC)).total_seconds() / 86400)
    )
    token = create_link_token(
        settings,
        purpose=COMPANY_INVITATION_PURPOSE,
        user_id=found.inviter.id,
        subject=members.link_subject(found.invitation.id, found.invitation.sends),
        generation=found.inviter.security_generation,
        expires_in=days * 86400,
    )
    context = {
        "company": found.company.name,
        "inviter": found.inviter.full_name,
        "email": found.invitation.email,
        "role": found.invitation.role.value,
        "days": days,
        "link": _frontend(settings, f"/invitations/accept?token={token}"),
    }
    return _message(settings, "company_invitation", to=found.invitation.email, context=context)


async def webhook_disabled_mail(
    db: AsyncSession, settings: Settings, *, endpoint_id: int, user_id: int, disabled_at: str
) -> EmailMessage | None:
    """Tell an owner that the company's endpoint was switched off for failing; None when
    it is on again (or gone) or they are no longer an owner."""
    endpoint = await webhooks_repo.endpoint(db, endpoint_id=endpoint_id)
    owner = await users_repo.get(db, user_id=user_id)
    if (
        endpoint is None
        or endpoint.disabled_at is None
        or endpoint.disabled_at != datetime.fromisoformat(disabled_at)
        or owner is None
        or not owner.is_active
        or owner.email_verified_at is None
        or not await members.allows(db, owner, endpoint.company_id, members.Need.own)
    ):
        return None
    company = await companies_repo.get(db, company_id=endpoint.company_id)
    if company is None:
        return None
    last = await webhooks_repo.last_error(db, endpoint_id=endpoint_id)
    since = endpoint.failing_since or endpoint.disabled_at
    context = {
        "name": owner.full_name,
        "company": company.name,
        "host": urlsplit(endpoint.url).hostname or endpoint.url,
        "url": endpoint.url,
        "since": since.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "error": last or "no answer",
        "link": _frontend(settings, "/dashboard"),
    }
    return _message(settings, "webhook_disabled", to=owner.email, context=context)


@dataclass(frozen=True, slots=True)
class ApplicantsMail:
    message: EmailMessage | None
    # The newest application the mail tells of (None: nothing was pending).
    through_id: int | None


async def new_applicants_mail(
    db: AsyncSession, settings: Settings, *, job_id: int
) -> ApplicantsMail:
    """The mail to a job's owner listing its applications they have not been told of."""
    pending = await applications_repo.pending_for_owner(db, job_id=job_id)
    notice = await jobs_repo.owner_notice(db, job_id=job_id)
    if not pending or notice is None:
        return ApplicantsMail(message=None, through_id=None)
    through_id = pending[-1].application_id
    if not notice.wants_it:
        return ApplicantsMail(message=None, through_id=through_id)
    context = {
        "name": notice.name,
        "job_title": notice.job_title,
        "applicants": [
            {"name": p.name, "applied_at": p.applied_at.strftime("%Y-%m-%d %H:%M UTC")}
            for p in pending
        ],
        "link": _frontend(settings, f"/dashboard/jobs/{job_id}"),
    }
    message = notification_mail(
        settings,
        "new_applicants",
        to=notice.email,
        user_id=notice.owner_id,
        generation=notice.generation,
        kind=Kind.new_applicants,
        context=context,
    )
    return ApplicantsMail(message=message, through_id=through_id)


async def applicants_told(db: AsyncSession, *, job_id: int, through_id: int) -> None:
    """The job's owner knows of its applications up to `through_id`."""
    await applications_repo.mark_owner_notified(db, job_id=job_id, through_id=through_id)


@dataclass(frozen=True, slots=True)
class StatusMail:
    message: EmailMessage | None
    # The applications the mail covers (told of, or with nothing new to tell).
    application_ids: list[int]


async def status_changes_mail(
    db: AsyncSession, settings: Settings, *, candidate_id: int
) -> StatusMail:
    """The one mail to a candidate listing their applications whose status changed since
    they were last told (an application moved back to what they were told is left out),
    with those applications locked until `db` commits (`candidate_told`)."""
    pending = await applications_repo.lock_status_changes(db, candidate_id=candidate_id)
    ids = [change.application_id for change in pending]
    news = [
        change
        for change in pending
        if change.status != ApplicationStatus.withdrawn
        and change.status != (change.status_told or ApplicationStatus.submitted)
    ]
    recipient = await applications_repo.status_recipient(db, candidate_id=candidate_id)
    if not news or recipient is None or not recipient.wants_it:
        return StatusMail(message=None, application_ids=ids)
    context = {
        "name": recipient.name,
        "changes": [
            {"job_title": c.job_title, "company": c.company, "status": c.status.value} for c in news
        ],
        "link": _frontend(settings, "/applications"),
    }
    message = notification_mail(
        settings,
        "application_status",
        to=recipient.email,
        user_id=candidate_id,
        generation=recipient.generation,
        kind=Kind.application_status,
        context=context,
    )
    return StatusMail(message=message, application_ids=ids)


async def status_changed(db: AsyncSession, *, application_id: int) -> int | None:
    """An application changed in a way its candidate is to hear of (as the version before
    batching asked for each change); the candidate's id, or None when it is gone."""
    return await applications_repo.mark_candidate_pending(db, application_id=application_id)


async def candidate_told(db: AsyncSession, *, application_ids: list[int]) -> None:
    """The candidate knows these applications' current statuses."""
    if application_ids:
        await applications_repo.mark_candidate_told(db, application_ids=application_ids)


def settings_of(user: User | Caller) -> NotificationSettings:
    return NotificationSettings(**{kind.value: bool(getattr(user, _column(kind))) for kind in Kind})


async def read_settings(db: AsyncSession, *, user: Caller) -> NotificationSettings:
    account = await users_repo.get(db, user_id=user.id)
    if account is None:
        raise InvalidCredentials()
    return settings_of(account)


async def update_settings(
    db: AsyncSession, *, user: Caller, payload: NotificationSettingsUpdate
) -> NotificationSettings:
    """Turn kinds of mail on or off, on the locked account."""
    account = (await users_repo.lock(db, user_ids=[user.id])).get(user.id)
    if account is None:
        raise InvalidCredentials()
    changes = {
        _column(Kind(kind)): value
        for kind, value in payload.model_dump(exclude_unset=True).items()
        if value is not None
    }
    if changes:
        account = await users_repo.update(db, user=account, **changes)
    return settings_of(account)


async def unsubscribe(db: AsyncSession, settings: Settings, *, token: str) -> Kind:
    """Turn off the kind of mail an unsubscribe link was made for; a tampered or expired
    link, one made before the account's last security event, or one whose kind is already
    off, is a 400 and changes nothing."""
    try:
        claims = decode_link_token(settings, token, purpose=UNSUBSCRIBE_PURPOSE)
        kind = Kind(claims.subject)
    except (InvalidToken, ValueError):
        raise BadRequest(INVALID_UNSUBSCRIBE) from None
    account = (await users_repo.lock(db, user_ids=[claims.user_id])).get(claims.user_id)
    if (
        account is None
        or claims.generation != account.security_generation
        or not getattr(account, _column(kind))
    ):
        raise BadRequest(INVALID_UNSUBSCRIBE)
    await users_repo.update(db, user=account, **{_column(kind): False})
    return kind


async def job_closed_mails(
    db: AsyncSession, settings: Settings, *, job_id: int
) -> list[tuple[int, EmailMessage]]:
    """The mails telling each candidate whose application to a job was under way that the
    job closed (those who turned status mails off are not mailed): (application id, mail).
    None while the job is not closed (reopened meanwhile, or deleted)."""
    job = await applications_repo.closed_job(db, job_id=job_id)
    if job is None:
        return []
    title, company = job
    mails = []
    for notice in await applications_repo.under_way(db, job_id=job_id):
        if not notice.wants_it:
            continue
        message = notification_mail(
            settings,
            "job_closed",
            to=notice.email,
            user_id=notice.candidate_id,
            generation=notice.generation,
            kind=Kind.application_status,
            context={
                "name": notice.name,
                "job_title": title,
                "company": company,
                "link": _frontend(settings, "/applications"),
            },
        )
        mails.append((notice.application_id, message))
    return mails


async def job_comment_mails(
    db: AsyncSession, settings: Settings, *, comment_id: int
) -> list[tuple[int, EmailMessage]]:
    """The mails of a comment in a job's thread, one to each account on the other side
    (confirmed and active), with the comment as plain text: (recipient id, mail)."""
    notice = await moderation_repo.comment_notice(db, comment_id=comment_id)
    if notice is None:
        return []
    path = (
        f"/dashboard/jobs/{notice.job_id}"
        if notice.by_moderator
        else f"/moderation/jobs/{notice.job_id}"
    )
    return [
        (
            user_id,
            _message(
                settings,
                "job_comment",
                to=email,
                context={
                    "name": name,
                    "job_title": notice.job_title,
                    "by_moderator": notice.by_moderator,
                    "body": notice.body,
                    "link": _frontend(settings, path),
                },
            ),
        )
        for user_id, email, name in notice.recipients
    ]


async def job_reported_mail(
    db: AsyncSession, settings: Settings, *, job_id: int, held_at: datetime
) -> EmailMessage | None:
    """The mail telling a job's owner that reports took it off the board for review (not
    who reported it, nor why); None once that is no longer so (decided, withdrawn, gone)
    or the owner may not be mailed."""
    notice = await jobs_repo.held_notice(db, job_id=job_id)
    if notice is None or not notice.may_mail or notice.submitted_at != held_at:
        return None
    context = {
        "name": notice.name,
        "job_title": notice.job_title,
        "link": _frontend(settings, f"/dashboard/jobs/{job_id}"),
    }
    return _message(settings, "job_reported", to=notice.email, context=context)


def _decision_mail(
    settings: Settings, notice: moderation_repo.DecisionNotice | None, name: str
) -> EmailMessage | None:
    """The mail `name` telling a poster what a moderator decided (what, the reasons and the
    note, as plain text); None when the job or the account is gone, the address is not
    confirmed now, or nothing is decided yet."""
    if notice is None or not notice.may_mail or notice.decision is None:
        return None
    context = {
        "name": notice.name,
        "job_title": notice.job_title,
        "decision": notice.decision.value,
        "reasons": [reason.replace("_", " ") for reason in notice.reasons],
        "note": notice.note.strip(),
        "link": _frontend(settings, f"/dashboard/jobs/{notice.job_id}"),
    }
    return _message(settings, name, to=notice.email, context=context)


async def revision_decision_mail(
    db: AsyncSession, settings: Settings, *, revision_id: int
) -> EmailMessage | None:
    """The mail telling a poster what a moderator decided on their edit of a published job."""
    notice = await moderation_repo.revision_notice(db, revision_id=revision_id)
    return _decision_mail(settings, notice, "revision_decision")


async def job_decision_mail(
    db: AsyncSession, settings: Settings, *, decision_id: int
) -> EmailMessage | None:
    """The mail telling a job's poster of a moderator's decision. Not a notification one
    turns off: it answers the poster's own request to publish."""
    notice = await moderation_repo.decision_notice(db, decision_id=decision_id)
    return _decision_mail(settings, notice, "job_decision")


async def interview_mail(
    db: AsyncSession, settings: Settings, *, interview_id: int, sequence: int
) -> EmailMessage | None:
    """The invitation to an interview as version `sequence` of it says (an .ics file of
    method REQUEST, or CANCEL once cancelled, attached), to a candidate who can be mailed;
    None when the interview is gone or has changed since (a newer version has its own
    mail), or its candidate cannot be mailed."""
    facts = await interviews_repo.invitation_facts(db, interview_id=interview_id)
    if facts is None or facts.sequence != sequence or not facts.mailable:
        return None
    cancelled = facts.state == InterviewState.cancelled
    starts = facts.starts_at.astimezone(UTC)
    message = _message(
        settings,
        "interview",
        to=facts.email,
        context={
            "name": facts.name,
            "job_title": facts.job_title,
            "company": facts.company,
            "when": f"{starts:%A %d %B %Y, %H:%M} UTC",
            "minutes": facts.minutes,
            "location": facts.location,
            "note": facts.note,
            "sequence": facts.sequence,
            "cancelled": cancelled,
            "link": _frontend(settings, "/applications"),
        },
    )
    invitation = calendar.Invitation(
        uid=f"interview-{facts.interview_id}@{MESSAGE_ID_DOMAIN}",
        sequence=facts.sequence,
        starts_at=facts.starts_at,
        minutes=facts.minutes,
        summary=f"Interview: {facts.job_title} at {facts.company}",
        location=facts.location,
        description=facts.note,
        organizer=settings.mail_from,
        organizer_name=facts.company,
        attendee=facts.email,
        cancelled=cancelled,
    )
    message.add_attachment(
        calendar.to_ics(invitation),
        subtype="calendar",
        filename="interview.ics",
        params={"method": calendar.method(invitation)},
    )
    return message
