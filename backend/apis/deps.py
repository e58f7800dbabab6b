"""Request dependencies: settings, the unit of work, and who is calling."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import psycopg
from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.exceptions import InvalidCredentials, NotAuthenticated
from backend.core.ids import MAX_ID
from backend.core.security import InvalidToken, PasswordHasher, decode_access_token
from backend.db.hot import HotConnections
from backend.db.hot import Reader as Reader  # re-exported for the routers
from backend.db.replica import ReadReplica
from backend.db.repository import sessions as sessions_repo
from backend.db.repository.sessions import Caller as Caller  # re-exported for the routers
from backend.db.transactions import Transactions, written
from backend.schemas.api_key import Scope
from backend.services import api_keys

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 (a path, not a secret)

# How a signed-in caller sends their access token: `Authorization: Bearer <token>`.
# auto_error=False: a missing token is our NotAuthenticated, rendered as a problem.
bearer_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)

Dependency = TypeVar("Dependency", bound=Callable[..., object])
_READ_THE_TOKEN: set[Callable[..., object]] = set()


def reads_bearer_token(dependency: Dependency) -> Dependency:
    """Mark a dependency that signs its caller in with the bearer token (`authenticate`).

    The token is read by calling `bearer_scheme` from `authenticate`, not by declaring the
    scheme as a FastAPI dependency: each dependency costs FastAPI a layer of solving on every
    request (30 us, see BENCHMARKS.md), on every signed-in route and on every job page. What
    the dependency did for the OpenAPI document (the operation's `security` and the scheme in
    `components`) is done from this mark instead (`router.include_routes`,
    `openapi.install_openapi`).
    """
    _READ_THE_TOKEN.add(dependency)
    return dependency


def reads_the_token(call: object) -> bool:
    """Whether `call` is a dependency marked by `reads_bearer_token`."""
    return call in _READ_THE_TOKEN


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


# Safe methods only read: their statements run in autocommit, without BEGIN and COMMIT.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent, rolled back on any
    error. What must outlive a failed request is written with `own_transaction`."""
    state = request.app.state
    reading = request.method in READ_ONLY_METHODS
    factory = state.read_sessionmaker if reading else state.sessionmaker
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        if not reading or written(session):
            await session.commit()
        # A read in autocommit has nothing to commit: closing the session (on leaving this
        # block) hands its connection back.


async def get_transactions(request: Request) -> Transactions:
    """Where services open a transaction of their own (see `own_transaction`)."""
    transactions: Transactions = request.app.state.sessionmaker
    return transactions


async def client_address(request: Request) -> str:
    """The caller's address; proxy headers count only from FORWARDED_ALLOW_IPS peers."""
    return request.client.host if request.client else "unknown"


SettingsDep = Annotated[Settings, Depends(get_settings)]
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]
TransactionsDep = Annotated[Transactions, Depends(get_transactions)]
ClientAddress = Annotated[str, Depends(client_address)]
# Optimistic concurrency: the ETag of the version the client read (RFC 9110 13.1.1).
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1024,
        description="The `ETag` of the version you read: the change is refused with 412 if "
        "the resource changed since. Leave it out to change it whatever its version.",
    ),
]
# scope="function": the commit runs when the endpoint returns, before the response leaves,
# so a failed commit is the client's error response and never follows a 2xx.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]


async def get_public_read_db(request: Request) -> AsyncIterator[AsyncSession]:
    """For public reads (GET routes) that tolerate a little lag: the read replica while it
    keeps up and the caller is anonymous. A signed-in caller reads the primary, so what
    they just wrote is there and a session they ended is over everywhere.

    A session of its own rather than one on top of `get_db`'s: each generator dependency
    costs FastAPI an exit-stack entry on every request. A route takes this or `DbSession`,
    never both (`tests/test_dependencies.py`), so a request holds one connection at most.
    """
    replica = _public_replica(request)
    if replica is None:
        async with request.app.state.read_sessionmaker() as session:
            yield session  # reads in autocommit: nothing to commit or roll back
        return
    async with replica.sessionmaker() as session:
        try:
            yield session
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            replica.mark_down(exc)  # this request is a 503; the next ones read the primary
            raise


def _public_replica(request: Request) -> ReadReplica | None:
    """The replica a public read goes to, or None for the primary."""
    replica: ReadReplica | None = request.app.state.replica
    if replica is None or not replica.usable or "authorization" in request.headers:
        return None
    return replica


PublicReadDb = Annotated[AsyncSession, Depends(get_public_read_db, scope="function")]


@asynccontextmanager
async def public_hot_reads(request: Request) -> AsyncIterator[Reader]:
    """`hot_reads` for a public read: on the replica while it keeps up and the caller is
    anonymous (as `get_public_read_db`), else on the primary."""
    replica = _public_replica(request)
    if replica is None:
        async with hot_reads(request) as reader:
            yield reader
        return
    try:
        # Taking the connection is inside: a standby gone fails there first.
        async with replica.hot.connection() as connection:
            yield connection
    except (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
    ) as exc:
        replica.mark_down(exc)  # as `get_public_read_db`
        raise


def hot_reads(request: Request) -> AbstractAsyncContextManager[Reader]:
    """For a GET route whose reads are all hot reads (`backend.db.hot`), opened by the route
    itself (`async with hot_reads(request) as db:`): one pooled psycopg connection on the
    primary, without a session."""
    hot: HotConnections = request.app.state.hot
    return hot.connection()


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user and the session their token belongs to."""

    user: Caller
    session_id: uuid.UUID


async def authenticate(request: Request, db: Reader, token: str | None) -> Principal:
    """Turn the bearer token (read by `await bearer_scheme(request)`) into the active user
    and live session, in one query.

    Called by the dependencies below (each marked `reads_bearer_token`) rather than being one
    itself: each layer of dependencies costs FastAPI work on every request, so the signed-in
    routes resolve one besides the session.
    """
    if not token:
        raise NotAuthenticated()
    try:
        claims = decode_access_token(request.app.state.settings, token)
    except InvalidToken:
        raise InvalidCredentials() from None
    user = await sessions_repo.get_caller(db, user_id=claims.user_id, session_id=claims.session_id)
    if user is None:
        raise InvalidCredentials()
    return Principal(user=user, session_id=claims.session_id)


@reads_bearer_token
async def get_principal(request: Request, db: DbSession) -> Principal:
    return await authenticate(request, db, await bearer_scheme(request))


@reads_bearer_token
async def get_current_user(request: Request, db: DbSession) -> Caller:
    return (await authenticate(request, db, await bearer_scheme(request))).user


# How the OpenAPI document names a company's API key, on the routes that take one.
API_KEY_SCHEME = "ApiKey"
API_KEY_SECURITY: dict[str, Any] = {"security": [{API_KEY_SCHEME: []}]}


def key_or_user(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """The caller of a route of `/companies/{company_id}/...` or `/jobs/{job_id}/...` that
    a company's API key may call with `scope` (see services.api_keys): the key's company's
    owner, or the signed-in user as on every route."""

    @reads_bearer_token
    async def caller(request: Request, db: DbSession) -> Caller:
        token = await bearer_scheme(request)
        if token is None or not api_keys.is_key(token):
            return (await authenticate(request, db, token)).user
        ids = {}
        for name in ("company_id", "job_id"):
            value = request.path_params.get(name)
            if value is None:
                continue
            text = str(value)
            # One that cannot be an id names nothing: 404 once the key is checked.
            if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID:
                ids[name] = int(text)
        settings: Settings = request.app.state.settings
        # Before the request's session holds a connection: the key's own transaction.
        return await api_keys.caller_for(
            request.app.state.sessionmaker, settings, secret=token, scope=scope, **ids
        )

    return caller


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
CurrentUser = Annotated[Caller, Depends(get_current_user)]
