"""Optimistic concurrency: entity tags and `If-Match` (who may do what for a company is
backend.services.members)."""

from datetime import UTC, datetime, timedelta

from backend.core.exceptions import PreconditionFailed

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
