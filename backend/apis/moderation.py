"""Moderation: the queue of jobs held for review, a job's review, decisions, companies'
review policies and banned domains (moderators and admins); under each job, its decisions
for its owner, reports for anyone, and the thread between its owner and the moderators."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from backend.apis.access import EmployerOrAdmin, IdPath, Moderator, optional_user
from backend.apis.deps import (
    ClientAddress,
    CurrentUser,
    DbSession,
    IfMatch,
    SettingsDep,
    TransactionsDep,
    reads_bearer_token,
)
from backend.apis.openapi import problem_responses, with_etag
from backend.apis.pagination import PageDep, to_page
from backend.db.models.company import DOMAIN_MAX_LENGTH
from backend.schemas.job import JobRead
from backend.schemas.moderation import (
    BanCreate,
    BannedDomainRead,
    CommentCreate,
    CommentRead,
    CompanyReviewed,
    DecisionCreate,
    DecisionRead,
    DecisionRecord,
    JobReview,
    PosterRead,
    QueuedJob,
    ReportCreate,
    ReportRead,
    ReportRecord,
    ReviewPolicyUpdate,
    RevisionRead,
    RevisionRecord,
    RevisionReview,
    SignalRead,
)
from backend.schemas.pagination import Page
from backend.services import moderation as moderation_service
from backend.services import revisions as revisions_service
from backend.services import signals as signals_service
from backend.services.rules import etag

router = APIRouter(prefix="/moderation", tags=["moderation"], responses=problem_responses(401, 403))
# Under a job: its decisions for its owner, reports for anyone, and its thread.
owners = APIRouter(tags=["moderation"])


def _queued(row: Any) -> QueuedJob:
    """A row of the queue (backend.services.moderation.queue) as the wire shows it."""
    return QueuedJob(
        job=JobRead.model_validate(row),
        company=CompanyReviewed(
            id=row.company_id,
            name=row.company_name,
            website=row.company_website,
            review_policy=row.company_review_policy,
            verified_domain=row.company_verified_domain,
            created_at=row.company_created_at,
        ),
        poster=PosterRead(
            id=row.poster_id,
            email=row.poster_email,
            full_name=row.poster_name,
            member_since=row.poster_since,
            email_verified_at=row.poster_verified_at,
            approved_jobs=row.approved,
            rejected_jobs=row.rejected,
        ),
        signals=[
            SignalRead(code=code, holds=rule.holds, says=rule.says)
            for code, rule in signals_service.described(row.signals)
        ],
        open_reports=row.open_reports,
    )


async def _review(db: DbSession, job_id: int, response: Response) -> JobReview:
    review = await moderation_service.review(db, job_id=job_id)
    response.headers["ETag"] = etag(review.job.updated_at)
    return JobReview(
        **dict(_queued(review.job)),
        decisions=[DecisionRecord.model_validate(row) for row in review.decisions],
        reports=[ReportRecord.model_validate(row) for row in review.reports],
    )


@router.get("/jobs", name="queue", response_model=Page[QueuedJob])
async def queue(moderator: Moderator, page: PageDep, db: DbSession) -> Page[QueuedJob]:
    """The jobs held for review, the longest held first, each with its company, its poster
    and the poster's record."""
    paged = await moderation_service.queue(db, page=page)
    return Page(items=[_queued(row) for row in paged.items], next_cursor=paged.next_cursor)


@router.get(
    "/jobs/{job_id}",
    name="review",
    response_model=JobReview,
    responses={**problem_responses(404), **with_etag()},
)
async def review(
    job_id: IdPath, moderator: Moderator, db: DbSession, response: Response
) -> JobReview:
    """A job in any status as moderators review it, with every decision on it. Its ETag is
    the job's version: send it in `If-Match` with a decision to decide on what was read."""
    return await _review(db, job_id, response)


@router.post(
    "/jobs/{job_id}/decisions",
    name="decide",
    status_code=status.HTTP_201_CREATED,
    response_model=JobReview,
    responses={**problem_responses(404, 409, 412), **with_etag(201)},
)
async def decide(
    job_id: IdPath,
    payload: DecisionCreate,
    moderator: Moderator,
    db: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> JobReview:
    """Approve a held job (published now), reject it with reasons (for good), or send it
    back to its owner as a draft with a note saying what to change. The poster is mailed.
    A job not held (decided already, withdrawn) is a 409; one changed since `If-Match`'s
    version, a 412."""
    await moderation_service.decide(
        db, moderator=moderator, job_id=job_id, payload=payload, if_match=if_match
    )
    return await _review(db, job_id, response)


@router.put(
    "/companies/{company_id}/review-policy",
    name="set-review-policy",
    response_model=CompanyReviewed,
    responses=problem_responses(404),
)
async def set_review_policy(
    company_id: IdPath, payload: ReviewPolicyUpdate, moderator: Moderator, db: DbSession
) -> CompanyReviewed:
    """Hold every job of a company for review (`always`), none (`trusted`), or as its
    poster's record says (`default`)."""
    company = await moderation_service.set_policy(
        db, company_id=company_id, policy=payload.review_policy
    )
    return CompanyReviewed.model_validate(company)


@owners.get(
    "/jobs/{job_id:int}/decisions",
    name="job-decisions",
    response_model=list[DecisionRead],
    responses=problem_responses(401, 403, 404),
)
async def job_decisions(job_id: IdPath, user: EmployerOrAdmin, db: DbSession) -> list[DecisionRead]:
    """The moderators' decisions on one of the caller's jobs, oldest first (what was
    decided, the reasons and the note; not who)."""
    rows = await moderation_service.decisions_for_owner(db, user=user, job_id=job_id)
    return [DecisionRead.model_validate(row) for row in rows]


@owners.post(
    "/jobs/{job_id:int}/reports",
    name="report-job",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportRead,
    responses=problem_responses(401, 403, 404, 409, 429),
)
@reads_bearer_token
async def report_job(
    job_id: IdPath,
    payload: ReportCreate,
    request: Request,
    db: DbSession,
    transactions: TransactionsDep,
    settings: SettingsDep,
    address: ClientAddress,
) -> ReportRead:
    """Report a public job (anyone, signed in or not; not its owner, 403): scam, spam,
    discriminatory, wrong information, or already filled. Enough reports from different
    people hold the job for a moderator's review; the job's owner never learns who
    reported it. Once per job until a moderator decides on it (409); at most
    REPORTS_PER_HOUR an hour per account, or per address signed out (429)."""
    user = await optional_user(request, db)
    made = await moderation_service.report(
        db,
        transactions,
        settings,
        user=user,
        address=address,
        job_id=job_id,
        payload=payload,
    )
    return ReportRead.model_validate(made)


DomainPath = Annotated[str, Path(min_length=1, max_length=DOMAIN_MAX_LENGTH)]


@router.get("/banned-domains", name="banned-domains", response_model=Page[BannedDomainRead])
async def banned_domains(
    moderator: Moderator, page: PageDep, db: DbSession
) -> Page[BannedDomainRead]:
    """The banned domains, in alphabetical order."""
    paged = await moderation_service.banned_domains(db, page=page)
    return to_page(paged, BannedDomainRead.model_validate)


@router.put(
    "/banned-domains/{domain}",
    name="ban-domain",
    response_model=BannedDomainRead,
    responses=problem_responses(422),
)
async def ban_domain(
    domain: DomainPath, payload: BanCreate, moderator: Moderator, db: DbSession
) -> BannedDomainRead:
    """Refuse every job asked to be published by a poster whose address is on this
    registrable domain, or for a company whose website is (403). Banning it again changes
    the reason."""
    row = await moderation_service.ban_domain(
        db, moderator=moderator, domain=domain, reason=payload.reason
    )
    return BannedDomainRead.model_validate(row)


@router.delete(
    "/banned-domains/{domain}",
    name="unban-domain",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 422),
)
async def unban_domain(domain: DomainPath, moderator: Moderator, db: DbSession) -> Response:
    """Lift a domain's ban; 404 when it is not banned."""
    await moderation_service.unban_domain(db, domain=domain)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@owners.get(
    "/jobs/{job_id:int}/comments",
    name="job-comments",
    response_model=list[CommentRead],
    responses=problem_responses(401, 404),
)
async def job_comments(job_id: IdPath, user: CurrentUser, db: DbSession) -> list[CommentRead]:
    """The job's thread between its poster and the moderators, oldest first: its owner and
    moderators; 404 for anyone else. The poster reads moderators' comments unsigned."""
    moderates, rows = await moderation_service.thread(db, user=user, job_id=job_id)
    return [
        CommentRead(
            id=row.id,
            by_moderator=row.by_moderator,
            author_name=row.author_name if moderates or not row.by_moderator else None,
            body=row.body,
            created_at=row.created_at,
        )
        for row in rows
    ]


@owners.post(
    "/jobs/{job_id:int}/comments",
    name="comment-job",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentRead,
    responses=problem_responses(401, 404, 429),
)
async def comment_job(
    job_id: IdPath,
    payload: CommentCreate,
    user: CurrentUser,
    db: DbSession,
    settings: SettingsDep,
) -> CommentRead:
    """Write in the job's thread (its owner, or a moderator; 404 for anyone else); the
    other side is mailed: the poster, or the moderators who decided or wrote on the job.
    At most COMMENTS_PER_HOUR an hour (429)."""
    made = await moderation_service.comment(
        db, settings, user=user, job_id=job_id, body=payload.body
    )
    return CommentRead(
        id=made.id,
        by_moderator=made.by_moderator,
        author_name=user.full_name,
        body=made.body,
        created_at=made.created_at,
    )


# --- edits of published jobs held for review (backend.services.revisions)


def _signals(codes: list[str]) -> list[SignalRead]:
    return [
        SignalRead(code=code, holds=rule.holds, says=rule.says)
        for code, rule in signals_service.described(codes)
    ]


def _revision_review(row: Any) -> RevisionReview:
    """An edit with its job (backend.services.revisions.queue and review) as the wire
    shows it."""
    revision = row[0]
    record = RevisionRecord.model_validate(
        {
            **RevisionRead.model_validate(revision).model_dump(),
            "decided_by": revision.decided_by,
            "signals": _signals(revision.signals),
        }
    )
    return RevisionReview(revision=record, job=JobRead.model_validate(row))


@router.get("/revisions", name="revisions", response_model=Page[RevisionReview])
async def revisions_queue(
    moderator: Moderator, page: PageDep, db: DbSession
) -> Page[RevisionReview]:
    """Edits of published jobs waiting for a decision, the longest waiting first, each with
    the job as it is on the board."""
    paged = await revisions_service.queue(db, page=page)
    return to_page(paged, _revision_review)


@router.get(
    "/revisions/{revision_id}",
    name="revision",
    response_model=RevisionReview,
    responses={**problem_responses(404), **with_etag()},
)
async def revision_review(
    revision_id: IdPath, moderator: Moderator, db: DbSession, response: Response
) -> RevisionReview:
    """One edit, waiting or decided, with its job. Its ETag is the edit's version: send it
    in `If-Match` with a decision to decide on what was read."""
    row = await revisions_service.review(db, revision_id=revision_id)
    response.headers["ETag"] = etag(row[0].updated_at)
    return _revision_review(row)


@router.post(
    "/revisions/{revision_id}/decisions",
    name="decide-revision",
    status_code=status.HTTP_201_CREATED,
    response_model=RevisionReview,
    responses={**problem_responses(404, 409, 412), **with_etag(201)},
)
async def decide_revision(
    revision_id: IdPath,
    payload: DecisionCreate,
    moderator: Moderator,
    db: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> RevisionReview:
    """Approve an edit (applied to the job) or reject it with reasons (the job stays as it
    was); the poster is mailed. 409 when it was decided already or no longer fits the job;
    412 when a later edit was merged in since `If-Match`'s version; 422 for
    `changes_requested`."""
    await revisions_service.decide(
        db, moderator=moderator, revision_id=revision_id, payload=payload, if_match=if_match
    )
    row = await revisions_service.review(db, revision_id=revision_id)
    response.headers["ETag"] = etag(row[0].updated_at)
    return _revision_review(row)


@owners.get(
    "/jobs/{job_id:int}/revisions",
    name="job-revisions",
    response_model=list[RevisionRead],
    responses=problem_responses(401, 404),
)
async def job_revisions(job_id: IdPath, user: CurrentUser, db: DbSession) -> list[RevisionRead]:
    """A job's edits held for review, the newest first, waiting or decided: its owner's,
    admins' and moderators' (404 for anyone else)."""
    found = await revisions_service.of_job(db, user=user, job_id=job_id)
    return [RevisionRead.model_validate(revision) for revision in found]


@owners.delete(
    "/jobs/{job_id:int}/revision",
    name="withdraw-revision",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404),
)
async def withdraw_revision(job_id: IdPath, user: CurrentUser, db: DbSession) -> Response:
    """Take back the job's edit waiting for review (its owner or an admin); 404 when none
    waits."""
    await revisions_service.withdraw(db, user=user, job_id=job_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
