"""The predicates every ownership decision is made of, and optimistic concurrency."""

from datetime import UTC, datetime, timedelta

from backend.core.exceptions import PreconditionFailed
from backend.db.models import Role, User
from backend.db.repository.sessions import Caller

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def manages(user: Caller | User | None, owner_id: int) -> bool:
    """Whether `user` may manage what `owner_id` owns: the owner, or any admin."""
    return user is not None and (user.role == Role.admin or user.id == owner_id)


def etag(updated_at: datetime) -> str:
    """The entity tag of a company, job or application: its last change, to the microsecond."""
    return f'"{(updated_at - _EPOCH) // timedelta(microseconds=1):x}"'


def check_if_match(if_match: str | None, updated_at: datetime) -> None:
    """412 unless `If-Match` is absent, `*`, or names the current entity tag (RFC 9110 13.1.1).

    Called on the row locked for the change, so that no other write can come between the
    check and the change.
    """
    if if_match is None or if_match.strip() == "*":
        return
    current = etag(updated_at)
    # Strong comparison: a weak tag (W/"...") never matches.
    if current not in (tag.strip() for tag in if_match.split(",")):
        raise PreconditionFailed()
