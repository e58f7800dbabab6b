"""Moderation: the queue, a review, decisions and companies' review policies."""

from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator

from backend.db.models.company import ReviewPolicy
from backend.db.models.moderation import (
    BAN_REASON_MAX_LENGTH,
    COMMENT_MAX_LENGTH,
    DECISION_NOTE_MAX_LENGTH,
    REPORT_NOTE_MAX_LENGTH,
    Decision,
    RejectionReason,
    ReportReason,
)
from backend.schemas.base import RequestModel, ResponseModel, Text, Timestamp
from backend.schemas.job import JobRead

DecisionNote = Annotated[Text, Field(max_length=DECISION_NOTE_MAX_LENGTH)]


def _unique(reasons: list[RejectionReason]) -> list[RejectionReason]:
    return list(dict.fromkeys(reasons))


class DecisionCreate(RequestModel):
    """A moderator's decision on a held job. A rejection names at least one reason; asking
    for changes says what to change in `note`; `other` among the reasons is said in `note`.
    The note is plain text, mailed to the poster as written."""

    decision: Decision
    reasons: Annotated[list[RejectionReason], Field(max_length=len(RejectionReason))] = Field(
        default_factory=list
    )
    note: DecisionNote = ""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "approved"},
                {
                    "decision": "rejected",
                    "reasons": ["scam"],
                    "note": "Asks candidates for a fee.",
                },
                {"decision": "changes_requested", "note": "Give the salary range."},
            ]
        }
    )


class DecisionRead(ResponseModel):
    """A decision as its job's owner sees it (the moderator unnamed)."""

    id: int
    decision: Decision
    reasons: list[RejectionReason]
    note: str
    created_at: Timestamp


class DecisionRecord(DecisionRead):
    """A decision as moderators see it: who took it."""

    moderator_id: int | None = Field(description="None once the account is gone")
    moderator_name: str | None


class PosterRead(ResponseModel):
    """Who posted a held job (its company's owner), and their record with the moderators."""

    id: int
    email: str
    full_name: str
    member_since: Timestamp
    email_verified_at: Timestamp | None
    approved_jobs: int
    rejected_jobs: int


class CompanyReviewed(ResponseModel):
    id: int
    name: str
    website: str | None
    review_policy: ReviewPolicy
    verified_domain: str | None = Field(
        description="The website's domain the company proved a mailbox at, if it did"
    )
    created_at: Timestamp


class SignalRead(ResponseModel):
    """A scam or spam signal the job raised when last asked to be published."""

    code: str
    holds: bool = Field(description="Whether it holds a job for review by itself")
    says: str


class QueuedJob(ResponseModel):
    """A job as moderators review it: the job, its company, its poster, the signals it
    raised, and how many people have an open report of it (reports that it is filled
    excepted)."""

    job: JobRead
    company: CompanyReviewed
    poster: PosterRead
    signals: list[SignalRead]
    open_reports: int


class ReportCreate(RequestModel):
    """A report of a public job: why, and optionally what a moderator should know (plain
    text, shown to moderators only; the job's owner never learns who reported it)."""

    reason: ReportReason
    note: Annotated[Text, Field(max_length=REPORT_NOTE_MAX_LENGTH)] = ""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "scam", "note": "Asks for a fee to send the contract."}]
        }
    )


class ReportRead(ResponseModel):
    id: int
    reason: ReportReason
    note: str
    created_at: Timestamp


class ReportRecord(ReportRead):
    """A report as moderators see it: by whom, where they were signed in."""

    reporter_email: str | None = Field(description="None for a report made signed out")


class JobReview(QueuedJob):
    """A job's review: what the queue shows, every decision on it, and its open reports."""

    decisions: list[DecisionRecord]
    reports: list[ReportRecord]


class ReviewPolicyUpdate(RequestModel):
    """`always`: every job of the company is held for review; `trusted`: none is;
    `default`: as its poster's record says."""

    review_policy: ReviewPolicy

    model_config = ConfigDict(json_schema_extra={"examples": [{"review_policy": "always"}]})


class BanCreate(RequestModel):
    """Why a domain is banned (plain text, for moderators)."""

    reason: Annotated[Text, Field(max_length=BAN_REASON_MAX_LENGTH)] = ""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Fake recruiters asking for fees."}]}
    )


class BannedDomainRead(ResponseModel):
    domain: str
    reason: str
    banned_by: int | None = Field(description="The moderator; None once the account is gone")
    created_at: Timestamp


class CommentCreate(RequestModel):
    """A comment in a job's thread: plain text, mailed to the other side as written."""

    body: Annotated[Text, Field(min_length=1, max_length=COMMENT_MAX_LENGTH)]

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"body": "Which city is this job in?"}]}
    )

    @field_validator("body")
    @classmethod
    def _not_blank(cls, body: str) -> str:
        if not body.strip():
            raise ValueError("must not be blank")
        return body


class CommentRead(ResponseModel):
    """A comment; a poster reads the moderators' unsigned (`author_name` null)."""

    id: int
    by_moderator: bool
    author_name: str | None
    body: str
    created_at: Timestamp


class RevisionRead(ResponseModel):
    """An edit of a published job held for review, as its owner sees it: what it changes
    (the fields as sent), and the decision once taken (the moderator unnamed)."""

    id: int
    job_id: int
    changes: dict[str, Any] = Field(description="The fields the edit changes, as sent")
    decision: Decision | None = Field(description="None while it waits")
    reasons: list[RejectionReason]
    note: str
    created_at: Timestamp
    updated_at: Timestamp
    decided_at: Timestamp | None


class RevisionRecord(RevisionRead):
    """An edit as moderators see it: the signals the edited job raises, and who decided."""

    decided_by: int | None
    signals: list[SignalRead]


class RevisionReview(ResponseModel):
    """An edit waiting for a decision (or decided), with the job as it is on the board."""

    revision: RevisionRecord
    job: JobRead
