"""The predicates every ownership and visibility decision is made of."""

from dataclasses import dataclass
from datetime import UTC, datetime

from backend.db.models import Application, Job, JobStatus, Role, User


def manages(user: User | None, owner_id: int) -> bool:
    """Whether `user` may manage what `owner_id` owns: the owner, or any admin."""
    return user is not None and (user.role == Role.admin or user.id == owner_id)


def is_publicly_visible(job: Job) -> bool:
    """Published and not expired: what everyone but the owner and admins may see."""
    return job.status == JobStatus.published and (
        job.expires_at is None or job.expires_at > datetime.now(UTC)
    )


@dataclass(frozen=True, slots=True)
class ApplicationAccess:
    """An application with the caller's relation to it."""

    application: Application
    is_candidate: bool
    manages: bool
