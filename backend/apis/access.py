"""Who is calling, by role: the checks every route makes before its use case runs.

The contract's order: the caller's role (403) here, then whether the caller may see the
thing at all (404, revealing nothing) and its state (409) in the services.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.apis.deps import (
    Caller,
    DbSession,
    authenticate,
    bearer_scheme,
    reads_bearer_token,
)
from backend.core.cursor import MAX_ID
from backend.core.exceptions import Forbidden
from backend.db.models import Role

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def require_role(
    *roles: Role,
) -> Callable[[Request, AsyncSession], Awaitable[Caller]]:
    """A dependency: the current user, if their role (read from the database) is one of these."""

    @reads_bearer_token
    async def check(request: Request, db: DbSession) -> Caller:
        # One layer, not a dependency on CurrentUser (see `authenticate`).
        user = (await authenticate(request, db, await bearer_scheme(request))).user
        if user.role not in roles:
            raise Forbidden(
                f"Only {' or '.join(role.value for role in roles)} accounts may do this."
            )
        return user

    return check


EmployerOrAdmin = Annotated[Caller, Depends(require_role(Role.employer, Role.admin))]
# Also called by routes that open their session themselves (see `deps.reads`).
candidate_only = require_role(Role.candidate)
Candidate = Annotated[Caller, Depends(candidate_only)]
Admin = Annotated[Caller, Depends(require_role(Role.admin))]


async def optional_user(request: Request, db: AsyncSession) -> Caller | None:
    """The signed-in user when a token is sent (a bad one is still a 401), else None: for a
    public read that signs its caller in on the session it opened (mark the route with
    `reads_bearer_token`)."""
    token = await bearer_scheme(request)
    if not token:
        return None
    return (await authenticate(request, db, token)).user
