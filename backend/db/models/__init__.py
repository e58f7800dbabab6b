"""Every model, imported here so that Alembic and the mappers see them all."""

from backend.db.base import Base
from backend.db.models.api_key import ApiKey
from backend.db.models.application import (
    Application,
    ApplicationAnswers,
    ApplicationEvent,
    ApplicationStatus,
    EventKind,
    Interview,
    InterviewState,
    JobReviewSetting,
)
from backend.db.models.auth_records import AuthAttempt, PasswordResetToken, RefreshToken
from backend.db.models.company import Company, CompanyResponsiveness, ReviewPolicy
from backend.db.models.idempotency import IdempotencyKey
from backend.db.models.job import (
    EmploymentType,
    Job,
    JobExpiryNotice,
    JobStatus,
    JobTitle,
    Workplace,
)
from backend.db.models.mail import QUEUE_PREFIX, SentMail, belongs_to_queue
from backend.db.models.member import (
    CompanyActivity,
    CompanyInvitation,
    CompanyMember,
    MemberRole,
)
from backend.db.models.moderation import (
    BannedDomain,
    Decision,
    JobComment,
    JobDecision,
    JobReport,
    JobRevision,
    RejectionReason,
    ReportReason,
)
from backend.db.models.resume import (
    CandidateProfile,
    PendingUpload,
    Resume,
    StoredFile,
    TextState,
)
from backend.db.models.saved_job import SavedJob
from backend.db.models.saved_search import AlertFrequency, SavedSearch
from backend.db.models.search_outbox import SearchOutboxEntry
from backend.db.models.session import UserSession
from backend.db.models.user import Role, User
from backend.db.models.webhook import (
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "QUEUE_PREFIX",
    "AlertFrequency",
    "ApiKey",
    "Application",
    "ApplicationAnswers",
    "ApplicationEvent",
    "ApplicationStatus",
    "AuthAttempt",
    "BannedDomain",
    "Base",
    "CandidateProfile",
    "Company",
    "CompanyActivity",
    "CompanyInvitation",
    "CompanyMember",
    "CompanyResponsiveness",
    "Decision",
    "DeliveryState",
    "EmploymentType",
    "EventKind",
    "IdempotencyKey",
    "Interview",
    "InterviewState",
    "Job",
    "JobComment",
    "JobDecision",
    "JobExpiryNotice",
    "JobReport",
    "JobReviewSetting",
    "JobRevision",
    "JobStatus",
    "JobTitle",
    "MemberRole",
    "PasswordResetToken",
    "PendingUpload",
    "RefreshToken",
    "RejectionReason",
    "ReportReason",
    "Resume",
    "ReviewPolicy",
    "Role",
    "SavedJob",
    "SavedSearch",
    "SearchOutboxEntry",
    "SentMail",
    "StoredFile",
    "TextState",
    "User",
    "UserSession",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "Workplace",
    "belongs_to_queue",
]
