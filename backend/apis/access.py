"""Who is calling, by role: the checks every route makes before its use case runs.

The contract's order: the caller's role (403) here, then whether the caller may see the
thing at all (404, revealing nothing) and its state (409) in the services.
"""

from collections.abc import Awaitable, Callable, Collection
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.apis.deps import (
    Caller,
    DbSession,
    Reader,
    authenticate,
    bearer_scheme,
    reads_bearer_token,
)
from backend.core.exceptions import Forbidden
from backend.core.ids import MAX_ID
from backend.db.models import Role

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


async def caller_in_role(request: Request, db: Reader, roles: Collection[Role]) -> Caller:
    """The current user, if their role (read from the database) is one of `roles`."""
    user = (await authenticate(request, db, await bearer_scheme(request))).user
    if user.role not in roles:
        raise Forbidden(f"Only {' or '.join(role.value for role in roles)} accounts may do this.")
    return user


def require_role(
    *roles: Role,
) -> Callable[[Request, AsyncSession], Awaitable[Caller]]:
    """A dependency: the current user, if their role (read from the database) is one of these."""

    @reads_bearer_token
    async def check(request: Request, db: DbSession) -> Caller:
        # One layer, not a dependency on CurrentUser (see `authenticate`).
        return await caller_in_role(request, db, roles)

    return check


EmployerOrAdmin = Annotated[Caller, Depends(require_role(Role.employer, Role.admin))]
Candidate = Annotated[Caller, Depends(require_role(Role.candidate))]


async def candidate_only(request: Request, db: Reader) -> Caller:
    """`Candidate`, for a route that opens its connection itself (see `deps.hot_reads`)."""
    return await caller_in_role(request, db, (Role.candidate,))


Admin = Annotated[Caller, Depends(require_role(Role.admin))]
# Decides on the jobs held for review: moderators and admins.
Moderator = Annotated[Caller, Depends(require_role(Role.moderator, Role.admin))]


async def optional_user(request: Request, db: Reader) -> Caller | None:
    """The signed-in user when a token is sent (a bad one is still a 401), else None: for a
    public read that signs its caller in on the session it opened (mark the route with
    `reads_bearer_token`)."""
    token = await bearer_scheme(request)
    if not token:
        return None
    return (await authenticate(request, db, token)).user
