"""Interviews: the employer's side proposes one for an application, the candidate gets an
invitation (an .ics file) by mail and accepts or declines; a change or a cancellation
sends the invitation again, its sequence raised.

Every change is decided on the locked interview, so of an answer and a cancellation at
once one comes first and the other finds it changed (409). Each invitation mail counts
against the candidate's address's share of mail (`throttle.take_mail_place`): an
employer cannot make the board mail a candidate more than a few times an hour (429).
"""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.exceptions import Conflict, Forbidden, InvalidField, NotFound, TooManyRequests
from backend.db.models import Application, EventKind, Interview, InterviewState
from backend.db.models.application import FINAL_STATUSES
from backend.db.queue import SEND_INTERVIEW_INVITATION, enqueue
from backend.db.repository import application_events as events_repo
from backend.db.repository import interviews as interviews_repo
from backend.db.repository import users as users_repo
from backend.db.repository.sessions import Caller
from backend.services import applications, throttle
from backend.services.rules import check_if_match

INTERVIEW_NOT_FOUND = "Interview not found."


def _in_the_future(starts_at: datetime) -> None:
    if starts_at <= datetime.now(UTC):
        raise InvalidField(("body", "starts_at"), "must be in the future")


async def _mail(db: AsyncSession, interview: Interview, candidate_id: int) -> None:
    """Ask for the invitation of the interview as it now is, within the candidate's share
    of mail (429, and nothing changed, past it)."""
    candidate = await users_repo.get(db, user_id=candidate_id)
    if candidate is not None:
        wait = await throttle.take_mail_place(db, email=candidate.email)
        if wait is not None:
            raise TooManyRequests(
                "The candidate was mailed often in the last hour; try again later.",
                retry_after=wait,
            )
    await enqueue(
        db, SEND_INTERVIEW_INVITATION, interview_id=interview.id, sequence=interview.sequence
    )


async def _record(db: AsyncSession, interview: Interview, user: Caller, detail: str) -> None:
    await events_repo.record(
        db,
        application_id=interview.application_id,
        actor_id=user.id,
        kind=EventKind.interview,
        detail=detail,
    )


async def propose(
    db: AsyncSession,
    *,
    user: Caller,
    application_id: int,
    starts_at: datetime,
    minutes: int,
    location: str,
    note: str,
) -> Interview:
    """Propose an interview (the job's owner or an admin) for an application still under
    way (409 once it is final), at a time to come (422 otherwise)."""
    application = await applications.for_review(
        db, user=user, application_id=application_id, lock="share"
    )
    if application.status in FINAL_STATUSES:
        raise Conflict(f"The application is already {application.status.value}.")
    _in_the_future(starts_at)
    interview = await interviews_repo.create(
        db,
        application_id=application_id,
        proposed_by=user.id,
        starts_at=starts_at,
        minutes=minutes,
        location=location,
        note=note,
    )
    await _mail(db, interview, application.candidate_id)
    await _record(db, interview, user, "proposed")
    return interview


async def _locked(
    db: AsyncSession, *, user: Caller, interview_id: int
) -> tuple[Interview, Application, bool]:
    """The interview, locked, and its application, if the caller may see it (404
    otherwise), and whether the caller is of the employer's side."""
    interview = await interviews_repo.get(db, interview_id=interview_id, lock="update")
    if interview is None:
        raise NotFound(INTERVIEW_NOT_FOUND)
    try:
        application, reviewer = await applications.seen_by(
            db, user=user, application_id=interview.application_id
        )
    except NotFound:
        raise NotFound(INTERVIEW_NOT_FOUND) from None
    return interview, application, reviewer


async def change(
    db: AsyncSession,
    *,
    user: Caller,
    interview_id: int,
    starts_at: datetime | None,
    minutes: int | None,
    location: str | None,
    note: str | None,
    if_match: str | None = None,
) -> Interview:
    """Move or change an interview (the employer's side; its candidate 403): it waits for
    the candidate's answer again, and they get the updated invitation. 409 once cancelled;
    412 for a stale `If-Match` (an answer or another change since it was read)."""
    interview, application, reviewer = await _locked(db, user=user, interview_id=interview_id)
    if not reviewer:
        raise Forbidden("Only the job's owner and admins change an interview.")
    await applications.for_review(db, user=user, application_id=application.id)  # not a viewer
    check_if_match(if_match, interview.updated_at)
    if interview.state == InterviewState.cancelled:
        raise Conflict("The interview is cancelled.")
    values: dict[str, object] = {}
    if starts_at is not None:
        _in_the_future(starts_at)
        values["starts_at"] = starts_at
    for name, value in (("minutes", minutes), ("location", location), ("note", note)):
        if value is not None:
            values[name] = value
    if not values:
        return interview
    values.update(sequence=interview.sequence + 1, state=InterviewState.proposed.value)
    await interviews_repo.update(db, interview=interview, **values)
    await _mail(db, interview, application.candidate_id)
    await _record(db, interview, user, "changed")
    return interview


async def cancel(db: AsyncSession, *, user: Caller, interview_id: int) -> Interview:
    """Cancel an interview (the employer's side; its candidate 403); the candidate's
    calendar is told. 409 when it is cancelled already."""
    interview, application, reviewer = await _locked(db, user=user, interview_id=interview_id)
    if not reviewer:
        raise Forbidden("Only the job's owner and admins cancel an interview.")
    await applications.for_review(db, user=user, application_id=application.id)  # not a viewer
    if interview.state == InterviewState.cancelled:
        raise Conflict("The interview is cancelled already.")
    await interviews_repo.update(
        db,
        interview=interview,
        sequence=interview.sequence + 1,
        state=InterviewState.cancelled.value,
    )
    await _mail(db, interview, application.candidate_id)
    await _record(db, interview, user, "cancelled")
    return interview


async def answer(db: AsyncSession, *, user: Caller, interview_id: int, accept: bool) -> Interview:
    """The candidate accepts or declines a proposed interview (the employer's side 403);
    409 once it is cancelled, or answered already (a change asks again)."""
    interview, application, _ = await _locked(db, user=user, interview_id=interview_id)
    if application.candidate_id != user.id:
        raise Forbidden("Only the candidate answers an interview.")
    if interview.state != InterviewState.proposed:
        raise Conflict(f"The interview is {interview.state} already.")
    state = InterviewState.accepted if accept else InterviewState.declined
    await interviews_repo.update(db, interview=interview, state=state.value)
    await _record(db, interview, user, state.value)
    return interview


async def for_application(
    db: AsyncSession, *, user: Caller, application_id: int
) -> list[Interview]:
    """An application's interviews: its candidate, the job's owner, admins."""
    await applications.seen_by(db, user=user, application_id=application_id)
    return await interviews_repo.for_application(db, application_id=application_id)
