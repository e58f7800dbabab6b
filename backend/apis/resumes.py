"""Candidates' résumés and profiles."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status

from backend.apis.access import Candidate, IdPath
from backend.apis.deps import CurrentUser, DbSession, SettingsDep, TransactionsDep
from backend.apis.openapi import problem_responses
from backend.core.exceptions import ContentTooLarge
from backend.db.models.resume import FILE_NAME_MAX_LENGTH
from backend.db.transactions import release
from backend.schemas.pagination import Page
from backend.schemas.resume import ProfileRead, ProfileWrite, ResumeRead
from backend.services import profiles as profiles_service
from backend.services import resumes as resumes_service
from backend.services import verification

router = APIRouter(tags=["resumes"])

_UPLOAD_BODY = {
    "required": True,
    "description": f"The file itself, as the body ({resumes_service.ACCEPTED_KINDS}); its "
    "kind is read from its content, whatever `Content-Type` says",
    "content": {
        "application/octet-stream": {
            "schema": {"type": "string", "format": "binary"},
            "example": "Ada Lovelace\nBackend developer: Python, PostgreSQL\n",
        }
    },
}


async def read_upload(request: Request, limit: int) -> bytes:
    """The request's body, refused (413) as soon as it passes `limit` bytes: by its declared
    length before a byte is read, or while it streams in."""
    detail = f"The file is larger than {limit} bytes."
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ContentTooLarge(detail)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ContentTooLarge(detail)
    return bytes(body)


@router.post(
    "/users/me/resumes",
    name="upload",
    status_code=status.HTTP_201_CREATED,
    response_model=ResumeRead,
    responses=problem_responses(401, 403, 409, 413),
    openapi_extra={"requestBody": _UPLOAD_BODY},
)
async def upload_resume(
    request: Request,
    candidate: Candidate,
    db: DbSession,
    transactions: TransactionsDep,
    settings: SettingsDep,
    file_name: Annotated[
        str, Query(min_length=1, max_length=4 * FILE_NAME_MAX_LENGTH, description="As uploaded")
    ],
) -> ResumeRead:
    """Keep a résumé (candidates with a confirmed address, at most 10 kept): PDF, DOCX,
    ODT, RTF or UTF-8 text, at most RESUME_MAX_BYTES (413 past it), its kind read from its
    content; anything else, or a file its parser cannot open (an encrypted PDF, one of more
    than RESUME_MAX_PAGES pages) is a 422 and nothing is kept."""
    verification.require_confirmed(candidate, "upload résumés")
    # The file may take a while to arrive and to be read: hold no connection meanwhile.
    await release(db)
    data = await read_upload(request, settings.resume_max_bytes)
    inspection = await resumes_service.inspect(settings, data)
    resume = await resumes_service.store(
        db,
        transactions,
        settings,
        candidate=candidate,
        given_name=file_name,
        data=data,
        inspection=inspection,
    )
    return ResumeRead.model_validate(resume)


@router.get(
    "/users/me/resumes",
    name="list-mine",
    response_model=Page[ResumeRead],
    responses=problem_responses(401, 403),
)
async def list_resumes(candidate: Candidate, db: DbSession) -> Page[ResumeRead]:
    """The caller's résumés, newest first (all of them: at most 10)."""
    rows = await resumes_service.list_mine(db, candidate=candidate)
    return Page(items=[ResumeRead.model_validate(row) for row in rows], next_cursor=None)


@router.get(
    "/resumes/{resume_id}",
    name="read",
    response_model=ResumeRead,
    responses=problem_responses(401, 404),
)
async def read_resume(resume_id: IdPath, user: CurrentUser, db: DbSession) -> ResumeRead:
    """A résumé's details: its candidate, the owners of the companies whose jobs it was sent
    to, admins."""
    row, masked = await resumes_service.readable(db, user=user, resume_id=resume_id)
    resume = ResumeRead.model_validate(row)
    if masked:  # a blind first pass: the file's name may say who sent it
        return resume.model_copy(
            update={"file_name": resumes_service.masked_name(resume.id, resume.media_type)}
        )
    return resume


@router.get(
    "/resumes/{resume_id}/file",
    name="download",
    response_class=Response,
    responses={
        **problem_responses(409),
        200: {
            "description": "The file, as an attachment",
            "content": {kind: {} for kind in resumes_service.MEDIA_TYPES},
        },
        **problem_responses(401, 404),
    },
)
async def download_resume(
    resume_id: IdPath,
    user: CurrentUser,
    db: DbSession,
    transactions: TransactionsDep,
    settings: SettingsDep,
) -> Response:
    """The file, as an attachment (`Content-Disposition: attachment`, `nosniff`): to the
    same callers as the résumé's details."""
    found = await resumes_service.download(
        db, transactions, settings, user=user, resume_id=resume_id
    )
    fallback = found.file_name.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(found.file_name)}"
    media_type = found.media_type
    if media_type == "text/plain":
        media_type += "; charset=utf-8"
    return Response(
        found.content,
        media_type=media_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, no-store",
        },
    )


@router.delete(
    "/users/me/resumes/{resume_id}",
    name="remove",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def remove_resume(
    resume_id: IdPath, candidate: Candidate, db: DbSession, settings: SettingsDep
) -> Response:
    """Take a résumé off the caller's list; the employers it was sent to keep their copy."""
    await resumes_service.remove(db, settings, candidate=candidate, resume_id=resume_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/me/profile",
    name="read-my-profile",
    response_model=ProfileRead,
    responses=problem_responses(401, 403),
)
async def read_my_profile(candidate: Candidate, db: DbSession) -> ProfileRead:
    """The caller's profile (empty fields until first saved)."""
    return ProfileRead.model_validate(await profiles_service.read(db, user_id=candidate.id))


@router.put(
    "/users/me/profile",
    name="save-my-profile",
    response_model=ProfileRead,
    responses=problem_responses(401, 403),
)
async def save_my_profile(
    payload: ProfileWrite, candidate: Candidate, db: DbSession
) -> ProfileRead:
    """Replace the caller's profile with this one (a field left out is emptied)."""
    row = await profiles_service.save(db, candidate=candidate, values=payload.model_dump())
    return ProfileRead.model_validate(row)


@router.get(
    "/applications/{application_id}/profile",
    name="applicant-profile",
    response_model=ProfileRead,
    responses=problem_responses(401, 404),
)
async def applicant_profile(
    application_id: IdPath, user: CurrentUser, db: DbSession
) -> ProfileRead:
    """The profile of an application's candidate as it is now: the job's owner, admins, the
    candidate."""
    row, masked = await profiles_service.of_applicant(db, user=user, application_id=application_id)
    profile = ProfileRead.model_validate(row)
    if masked:  # the job's blind first pass: no name, no links
        return profile.model_copy(update={"full_name": f"Candidate {application_id}", "links": []})
    return profile
