"""Interviews for applications: proposed, changed and cancelled by the employer's side,
answered by the candidate."""

from fastapi import APIRouter, Response, status

from backend.apis.access import IdPath
from backend.apis.deps import CurrentUser, DbSession, IfMatch
from backend.apis.openapi import problem_responses, with_etag
from backend.schemas.interview import (
    InterviewAnswer,
    InterviewCreate,
    InterviewRead,
    InterviewUpdate,
)
from backend.schemas.pagination import Page
from backend.services import interviews as interviews_service
from backend.services.rules import etag

router = APIRouter(tags=["applications"])


@router.post(
    "/applications/{application_id}/interviews",
    name="propose-interview",
    status_code=status.HTTP_201_CREATED,
    response_model=InterviewRead,
    responses={**problem_responses(401, 403, 404, 409, 429), **with_etag(201)},
)
async def propose(
    application_id: IdPath,
    payload: InterviewCreate,
    user: CurrentUser,
    db: DbSession,
    response: Response,
) -> InterviewRead:
    """Propose an interview: the job's owner and admins, for an application still under
    way. The candidate is mailed an invitation (an .ics file) within moments."""
    interview = await interviews_service.propose(
        db,
        user=user,
        application_id=application_id,
        starts_at=payload.starts_at,
        minutes=payload.minutes,
        location=payload.location,
        note=payload.note,
    )
    response.headers["ETag"] = etag(interview.updated_at)
    return InterviewRead.model_validate(interview)


@router.get(
    "/applications/{application_id}/interviews",
    name="list-interviews",
    response_model=Page[InterviewRead],
    responses=problem_responses(401, 404),
)
async def list_interviews(
    application_id: IdPath, user: CurrentUser, db: DbSession
) -> Page[InterviewRead]:
    """An application's interviews, oldest first (all of them: one page): its candidate,
    the job's owner, admins."""
    found = await interviews_service.for_application(db, user=user, application_id=application_id)
    return Page(items=[InterviewRead.model_validate(i) for i in found], next_cursor=None)


@router.patch(
    "/interviews/{interview_id}",
    name="change-interview",
    response_model=InterviewRead,
    responses={**problem_responses(401, 403, 404, 409, 412, 429), **with_etag()},
)
async def change(
    interview_id: IdPath,
    payload: InterviewUpdate,
    user: CurrentUser,
    db: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> InterviewRead:
    """Move or change an interview: the job's owner and admins. It waits for the
    candidate's answer again, and they get the updated invitation. With `If-Match` (the
    ETag of its proposal or of its last change), 412 when it changed since (the candidate's
    answer included)."""
    interview = await interviews_service.change(
        db,
        user=user,
        interview_id=interview_id,
        starts_at=payload.starts_at,
        minutes=payload.minutes,
        location=payload.location,
        note=payload.note,
        if_match=if_match,
    )
    response.headers["ETag"] = etag(interview.updated_at)
    return InterviewRead.model_validate(interview)


@router.post(
    "/interviews/{interview_id}/cancel",
    name="cancel-interview",
    response_model=InterviewRead,
    responses=problem_responses(401, 403, 404, 409, 429),
)
async def cancel(interview_id: IdPath, user: CurrentUser, db: DbSession) -> InterviewRead:
    """Cancel an interview: the job's owner and admins; the candidate's calendar is told."""
    interview = await interviews_service.cancel(db, user=user, interview_id=interview_id)
    return InterviewRead.model_validate(interview)


@router.post(
    "/interviews/{interview_id}/answer",
    name="answer-interview",
    response_model=InterviewRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def answer(
    interview_id: IdPath, payload: InterviewAnswer, user: CurrentUser, db: DbSession
) -> InterviewRead:
    """Accept or decline a proposed interview: its candidate."""
    interview = await interviews_service.answer(
        db, user=user, interview_id=interview_id, accept=payload.accept
    )
    return InterviewRead.model_validate(interview)
