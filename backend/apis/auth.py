"""Registration, sign-in and the session lifecycle: refresh, logout, password reset, and
confirming email addresses."""

from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from backend.apis.deps import (
    ClientAddress,
    CurrentPrincipal,
    CurrentUser,
    DbSession,
    HasherDep,
    SettingsDep,
    TransactionsDep,
)
from backend.apis.openapi import problem_responses
from backend.core.config import Settings
from backend.core.exceptions import Forbidden, InvalidField, NotAuthenticated
from backend.schemas.auth import (
    Accepted,
    EmailVerification,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    TokenPair,
)
from backend.schemas.user import UserCreate, UserRead
from backend.services import auth as auth_service
from backend.services import throttle, verification

router = APIRouter(prefix="/auth", tags=["auth"])

REFRESH_COOKIE = "refresh_token"
REFRESH_COOKIE_PATH = "/api/v1/auth"
RESET_ACCEPTED = "If the email belongs to an account, a reset link is on its way."


def _set_refresh_cookie(
    response: Response, settings: Settings, tokens: auth_service.IssuedTokens
) -> None:
    """Hand the refresh token to browsers in a cookie that scripts cannot read."""
    response.set_cookie(
        REFRESH_COOKIE,
        tokens.refresh_token,
        # The database hands back its own time zone; cookies speak GMT.
        expires=tokens.refresh_expires_at.astimezone(UTC),
        path=REFRESH_COOKIE_PATH,
        httponly=True,
        secure=not settings.is_development,
        samesite="strict",
    )


def _token_pair(
    response: Response, settings: Settings, tokens: auth_service.IssuedTokens
) -> TokenPair:
    _set_refresh_cookie(response, settings, tokens)
    return TokenPair(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
    )


def rate_limit(kind: str) -> Callable[[Request, ClientAddress], Awaitable[None]]:
    """A route dependency allowing ADDRESS_RATE_LIMIT_PER_MINUTE requests per client address,
    counted before the route's work, so that a request that then fails counts all the same."""

    async def limit(request: Request, address: ClientAddress) -> None:
        state = request.app.state
        await throttle.count_request(state.sessionmaker, state.settings, kind=kind, address=address)

    return limit


def _cookie_token(request: Request) -> str | None:
    """The refresh-token cookie, accepted only from a same-site JSON request.

    Cross-site form posts cannot send `application/json` without a CORS preflight, and
    browsers label cross-site requests with `Sec-Fetch-Site`.
    """
    cookie = request.cookies.get(REFRESH_COOKIE)
    if not cookie:
        return None
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" or request.headers.get("sec-fetch-site") == "cross-site":
        raise Forbidden("The refresh-token cookie is accepted only with a same-site JSON request.")
    return cookie


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=problem_responses(409, 413, 429),
    dependencies=[Depends(rate_limit(throttle.REGISTER_ADDRESS))],
)
async def register(payload: UserCreate, db: DbSession, hasher: HasherDep) -> UserRead:
    """Create an account: a candidate by default, or an employer."""
    user = await auth_service.register(db, hasher, payload)
    return UserRead.model_validate(user)


async def password_grant(request: Request) -> None:
    """`grant_type`, when sent at all, is `password` (an empty one is no grant type)."""
    form = await request.form()
    if "grant_type" in form and form["grant_type"] != "password":
        raise InvalidField(("body", "grant_type"), 'must be "password" or left out')


@router.post(
    "/token",
    dependencies=[Depends(password_grant)],
    response_model=TokenPair,
    responses=problem_responses(401, 403, 429),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "example": {
                        "username": "ada@example.com",
                        "password": "correct horse battery staple",
                    }
                }
            }
        }
    },
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    address: ClientAddress,
    response: Response,
    db: DbSession,
    transactions: TransactionsDep,
    hasher: HasherDep,
    settings: SettingsDep,
) -> TokenPair:
    """Sign in with email (as `username`) and password: an access and a refresh token.

    The refresh token also comes as an HttpOnly cookie for browser clients.
    """
    tokens = await auth_service.sign_in(
        db,
        transactions,
        hasher,
        settings,
        email=form.username,
        password=form.password,
        address=address,
    )
    return _token_pair(response, settings, tokens)


@router.post("/refresh", response_model=TokenPair, responses=problem_responses(401, 403))
async def refresh(
    request: Request,
    response: Response,
    db: DbSession,
    transactions: TransactionsDep,
    settings: SettingsDep,
    payload: RefreshRequest | None = None,
) -> TokenPair:
    """Spend a refresh token (from the body, else the cookie) for a new pair.

    A refresh token works once. Presenting a spent one again ends its whole session.
    """
    presented = (payload.refresh_token if payload else None) or _cookie_token(request)
    if not presented:
        raise NotAuthenticated("No refresh token was presented.")
    tokens = await auth_service.refresh(db, transactions, settings, refresh_token=presented)
    return _token_pair(response, settings, tokens)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401))
async def logout(
    principal: CurrentPrincipal,
    request: Request,
    db: DbSession,
    payload: RefreshRequest | None = None,
) -> Response:
    """End the session of the presented access token; its tokens stop working at once."""
    presented = (payload.refresh_token if payload else None) or request.cookies.get(REFRESH_COOKIE)
    await auth_service.logout(
        db, user=principal.user, session_id=principal.session_id, refresh_token=presented
    )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, httponly=True, samesite="strict"
    )
    return response


@router.post(
    "/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401)
)
async def logout_everywhere(user: CurrentUser, db: DbSession) -> Response:
    """Sign out everywhere: every session of the account ends, this one included, and so
    does every mailed link still pending (confirmation, reset and unsubscribe links)."""
    await auth_service.logout_everywhere(db, user=user)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, httponly=True, samesite="strict"
    )
    return response


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=problem_responses(429),
    dependencies=[Depends(rate_limit(throttle.RESET_ADDRESS))],
)
async def request_password_reset(payload: PasswordResetRequest, db: DbSession) -> Accepted:
    """Mail a single-use reset link if the email belongs to an active account (to an
    unconfirmed address, its confirmation link instead).

    The answer is the same whether or not it does, and whether or not the address already
    had its five asked-for mails this hour; the mail is sent by a worker.
    """
    await auth_service.request_password_reset(db, email=payload.email)
    return Accepted(detail=RESET_ACCEPTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400),
)
async def confirm_password_reset(
    payload: PasswordResetConfirm, db: DbSession, hasher: HasherDep
) -> Response:
    """Set a new password with a reset token; every session of the account ends."""
    await auth_service.confirm_password_reset(
        db, hasher, token=payload.token, new_password=payload.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 409),
)
async def verify_email(
    payload: EmailVerification, db: DbSession, settings: SettingsDep
) -> Response:
    """Confirm an email address with the token of a mailed link (no sign-in needed).

    A link for a new address (asked for with `PATCH /users/me`) makes it the account's
    address. A tampered, expired or already used link is a 400 and changes nothing.
    """
    await verification.confirm(db, settings, token=payload.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=problem_responses(401, 409, 429),
    dependencies=[Depends(rate_limit(throttle.VERIFY_ADDRESS))],
)
async def resend_verification(
    user: CurrentUser, db: DbSession, transactions: TransactionsDep, settings: SettingsDep
) -> Accepted:
    """Mail a new confirmation link for the signed-in user's address (at most 5 an hour
    per account, and per address together with every other asked-for mail); 409 when it is
    already confirmed."""
    await throttle.count_confirmation_request(transactions, settings, user_id=user.id)
    await verification.resend(db, user=user)
    return Accepted(detail=f"A confirmation link is on its way to {user.email}.")
