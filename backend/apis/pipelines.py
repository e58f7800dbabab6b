"""A job's pipeline and screening questions, an application's answers, and the preview of a
rejection's mail."""

from fastapi import APIRouter, Request, Response

from backend.apis.access import IdPath, optional_user
from backend.apis.deps import CurrentUser, DbSession, IfMatch, SettingsDep, reads_bearer_token
from backend.apis.openapi import problem_responses, with_etag
from backend.db.models import ApplicationStatus
from backend.schemas.pipeline import (
    AnswerRead,
    AnswersRead,
    MailPreview,
    PipelineRead,
    PipelineWrite,
    QuestionsRead,
    QuestionsWrite,
    RejectionMail,
    StageRead,
)
from backend.services import applications as applications_service
from backend.services import rejections, screening, stages
from backend.services.stages import Pipeline, StageChange

router = APIRouter(tags=["applications"])


def _pipeline(pipeline: Pipeline, response: Response) -> PipelineRead:
    response.headers["ETag"] = pipeline.etag
    return PipelineRead(
        stages=[
            StageRead(
                key=stage.key,
                name=stage.name,
                status=stage.status,
                applications=pipeline.counts[stage.key],
            )
            for stage in pipeline.stages
        ]
    )


@router.get(
    "/jobs/{job_id}/stages",
    name="read-stages",
    response_model=PipelineRead,
    responses={**problem_responses(401, 404), **with_etag()},
)
async def read_stages(
    job_id: IdPath, user: CurrentUser, db: DbSession, response: Response
) -> PipelineRead:
    """The job's pipeline: its stages in order, each with its status and how many
    applications it holds. Its owner and admins."""
    return _pipeline(await stages.read(db, user=user, job_id=job_id), response)


@router.put(
    "/jobs/{job_id}/stages",
    name="set-stages",
    response_model=PipelineRead,
    responses={**problem_responses(401, 404, 409, 412), **with_etag()},
)
async def set_stages(
    job_id: IdPath,
    payload: PipelineWrite,
    user: CurrentUser,
    db: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> PipelineRead:
    """Replace the job's pipeline, in the order given: rename a stage (by its key), add one
    (no key, a status), reorder, leave out one that holds no application (409 otherwise).
    Every status but `withdrawn` keeps a stage. Its owner and admins."""
    changes = [
        StageChange(s.key, s.name, None if s.status is None else ApplicationStatus(s.status))
        for s in payload.stages
    ]
    pipeline = await stages.replace(
        db, user=user, job_id=job_id, changes=changes, if_match=if_match
    )
    return _pipeline(pipeline, response)


@router.get(
    "/jobs/{job_id}/questions",
    name="read-questions",
    response_model=QuestionsRead,
    responses=problem_responses(401, 404),
)
@reads_bearer_token
async def read_questions(job_id: IdPath, request: Request, db: DbSession) -> QuestionsRead:
    """The screening questions applying to the job asks: anyone who may see the job; the
    knock-out answers only for its owner and admins."""
    user = await optional_user(request, db)
    return QuestionsRead(questions=await screening.read(db, user=user, job_id=job_id))


@router.put(
    "/jobs/{job_id}/questions",
    name="set-questions",
    response_model=QuestionsRead,
    responses=problem_responses(401, 404),
)
async def set_questions(
    job_id: IdPath, payload: QuestionsWrite, user: CurrentUser, db: DbSession
) -> QuestionsRead:
    """Replace the job's screening questions (up to 20; none to ask nothing): its owner and
    admins. Applications already made keep what they answered."""
    questions = await screening.replace(db, user=user, job_id=job_id, questions=payload.questions)
    return QuestionsRead(questions=questions)


@router.get(
    "/applications/{application_id}/answers",
    name="read-answers",
    response_model=AnswersRead,
    responses=problem_responses(401, 404),
)
async def read_answers(application_id: IdPath, user: CurrentUser, db: DbSession) -> AnswersRead:
    """The job's screening questions as they were asked when the candidate applied, with
    the candidate's answers: its candidate, the job's owner and admins (who also read which
    answers knocked it out)."""
    answers, reviewer = await applications_service.answers(
        db, user=user, application_id=application_id
    )
    read = [AnswerRead.model_validate(answer) for answer in answers]
    if not reviewer:
        read = [answer.model_copy(update={"knocked_out": None}) for answer in read]
    return AnswersRead(answers=read)


@router.post(
    "/applications/{application_id}/rejection-preview",
    name="preview-rejection",
    response_model=MailPreview,
    responses=problem_responses(401, 403, 404),
)
async def preview_rejection(
    application_id: IdPath,
    payload: RejectionMail,
    user: CurrentUser,
    db: DbSession,
    settings: SettingsDep,
) -> MailPreview:
    """The mail a rejection with this template and message would send the candidate (its
    subject, text and HTML), without sending or changing anything: the job's owner and
    admins (its candidate 403)."""
    rendered = await applications_service.preview_rejection(
        db,
        settings,
        user=user,
        application_id=application_id,
        choice=rejections.Choice(payload.template.value, payload.message),
    )
    return MailPreview(subject=rendered.subject, text=rendered.text, html=rendered.html)
