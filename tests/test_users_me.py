"""GET and PATCH /api/v1/users/me, and the bearer-token checks every protected route shares."""

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.security import InvalidToken, create_access_token, decode_access_token
from backend.db.models import Role, User, UserSession
from tests.factories import assert_problem, bearer, create_user, token_for
from tests.tokens import b64, claims_of, forge

URL = "/api/v1/users/me"


def without(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda claims: {k: v for k, v in claims.items() if k != name}


def replaced(**values: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda claims: {**claims, **values}


# Each case turns a valid token's claims into a bad token.
BAD_TOKENS: dict[str, Callable[[dict[str, Any]], str]] = {
    "garbage": lambda c: "not-a-token",
    "two parts": lambda c: "abc.def",
    "empty segments": lambda c: "..",
    "oversized": lambda c: forge({**c, "pad": "x" * 5000}),
    "non-ascii": lambda c: forge(c) + "é",
    "tampered payload": lambda c: (
        forge(c).split(".")[0] + "." + b64(b'{"sub":"1"}') + "." + forge(c).split(".")[2]
    ),
    "wrong key": lambda c: forge(c, key="another-secret-key-that-is-long-enough"),
    "alg none": lambda c: forge(c, header={"alg": "none", "typ": "JWT"}, sign_with=None),
    "alg None": lambda c: forge(c, header={"alg": "None", "typ": "JWT"}, sign_with=None),
    "alg none signed": lambda c: forge(c, header={"alg": "none", "typ": "JWT"}),
    "alg HS384": lambda c: forge(c, header={"alg": "HS384", "typ": "JWT"}, sign_with="HS384"),
    "alg HS512": lambda c: forge(c, header={"alg": "HS512", "typ": "JWT"}, sign_with="HS512"),
    "alg RS256": lambda c: forge(c, header={"alg": "RS256", "typ": "JWT"}),
    "alg HS": lambda c: forge(c, header={"alg": "HS", "typ": "JWT"}),
    "alg missing": lambda c: forge(c, header={"typ": "JWT"}),
    "crit header": lambda c: forge(c, header={"alg": "HS256", "typ": "JWT", "crit": ["exp"]}),
    "kid header": lambda c: forge(c, header={"alg": "HS256", "typ": "JWT", "kid": "1"}),
    "header not an object": lambda c: b64(b'["HS256"]') + "." + forge(c).split(".", 1)[1],
    "claims not an object": lambda c: forge([c]),  # type: ignore[arg-type]
    "expired": lambda c: forge(replaced(exp=int(time.time()) - 1)(c)),
    "issued in the future": lambda c: forge(replaced(iat=int(time.time()) + 3600)(c)),
    "wrong audience": lambda c: forge(replaced(aud="someone-else")(c)),
    "wrong issuer": lambda c: forge(replaced(iss="someone-else")(c)),
    "not an access token": lambda c: forge(replaced(type="refresh")(c)),
    "sub as integer": lambda c: forge(replaced(sub=int(c["sub"]))(c)),
    "sub not a number": lambda c: forge(replaced(sub="admin")(c)),
    "sub beyond bigint": lambda c: forge(replaced(sub="9" * 19)(c)),
    "sub of another user": lambda c: forge(replaced(sub=str(int(c["sub"]) + 1))(c)),
    "sid unknown": lambda c: forge(replaced(sid=str(uuid.uuid4()))(c)),
    "sid not a uuid": lambda c: forge(replaced(sid="session")(c)),
    "iat as string": lambda c: forge(replaced(iat=str(c["iat"]))(c)),
    "iat as null": lambda c: forge(replaced(iat=None)(c)),
    "exp as float": lambda c: forge(replaced(exp=c["exp"] + 0.5)(c)),
    "exp as string": lambda c: forge(replaced(exp=str(c["exp"]))(c)),
    **{
        f"no {claim}": (lambda name: lambda c: forge(without(name)(c)))(claim)
        for claim in ("exp", "iat", "sub", "iss", "aud", "jti", "sid", "type")
    },
}


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, db: AsyncSession, app: FastAPI) -> tuple[User, str]:
    # A second user, so that "sub of another user" names someone who exists.
    user = await create_user(db, app, full_name="Me")
    await create_user(db, app)
    return user, await token_for(client, user.email)


@pytest.mark.parametrize("case", BAD_TOKENS)
async def test_bad_token_is_401_invalid_token(
    client: httpx.AsyncClient, signed_in: tuple[User, str], case: str
) -> None:
    _, token = signed_in
    bad = BAD_TOKENS[case](claims_of(token))
    # Bytes, so that a non-ASCII token reaches the server as it is.
    response = await client.get(URL, headers={b"Authorization": f"Bearer {bad}".encode()})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert bad not in response.text


async def test_the_unaltered_forged_token_is_accepted(
    client: httpx.AsyncClient, signed_in: tuple[User, str]
) -> None:
    # Proves the table above fails for its own reason, not because forging is broken.
    user, token = signed_in
    response = await client.get(URL, headers=bearer(forge(claims_of(token))))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == user.id


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpw"}],
    ids=["no header", "empty", "no token", "basic"],
)
async def test_missing_token_is_401_bearer(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(URL, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_deactivated_user_token_stops_working(
    client: httpx.AsyncClient, db: AsyncSession, signed_in: tuple[User, str]
) -> None:
    user, token = signed_in
    await db.execute(update(User).where(User.id == user.id).values(is_active=False))
    response = await client.get(URL, headers=bearer(token))
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("column", ["revoked_at", "expires_at"])
async def test_ended_session_token_stops_working(
    client: httpx.AsyncClient, db: AsyncSession, signed_in: tuple[User, str], column: str
) -> None:
    user, token = signed_in
    await db.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id)
        .values({column: UserSession.created_at})
    )
    assert_problem(await client.get(URL, headers=bearer(token)), 401)


async def test_read_me(client: httpx.AsyncClient, signed_in: tuple[User, str]) -> None:
    user, token = signed_in
    response = await client.get(URL, headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "id": user.id,
        "email": user.email,
        "full_name": "Me",
        "role": "candidate",
        "is_active": True,
        "created_at": response.json()["created_at"],
        "email_verified_at": response.json()["email_verified_at"],
        "email_verified": True,
    }
    assert response.json()["email_verified_at"].endswith("Z")
    assert "password" not in response.text
    assert "$bcrypt" not in response.text


@pytest.mark.parametrize(
    "payload",
    [
        {"full_name": ""},
        {"full_name": None},
        {"full_name": "x" * 201},
        {"role": "admin"},
        {"is_active": False},
        {"email": "new@example.com"},
        {"id": 1},
        {"password": "new password"},
    ],
)
async def test_patch_me_rejects_bad_or_forbidden_fields(
    client: httpx.AsyncClient, db: AsyncSession, signed_in: tuple[User, str], payload: object
) -> None:
    user, token = signed_in
    response = await client.patch(URL, json=payload, headers=bearer(token))
    assert_problem(response, 422)
    await db.refresh(user)
    assert (user.full_name, user.role, user.is_active) == ("Me", Role.candidate, True)


async def test_patch_me_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.patch(URL, json={"full_name": "X"}), 401)


async def test_patch_me_changes_full_name(
    client: httpx.AsyncClient, signed_in: tuple[User, str]
) -> None:
    _, token = signed_in
    response = await client.patch(URL, json={"full_name": "Ada King"}, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Ada King"
    assert (await client.get(URL, headers=bearer(token))).json()["full_name"] == "Ada King"


async def test_empty_patch_changes_nothing(
    client: httpx.AsyncClient, signed_in: tuple[User, str]
) -> None:
    _, token = signed_in
    response = await client.patch(URL, json={}, headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["full_name"] == "Me"


async def test_an_accepted_token_stops_working_when_it_expires(
    client: httpx.AsyncClient, signed_in: tuple[User, str]
) -> None:
    # Verified claims are kept per token: its expiry must still end it on time.
    _, token = signed_in
    expires = int(time.time()) + 2
    short = forge(replaced(exp=expires)(claims_of(token)))
    assert (await client.get(URL, headers=bearer(short))).status_code == 200
    assert (await client.get(URL, headers=bearer(short))).status_code == 200
    await asyncio.sleep(expires + 1 - time.time())  # into the second after `exp`
    assert_problem(await client.get(URL, headers=bearer(short)), 401)


def test_a_token_accepted_under_one_key_is_refused_under_another(settings: Settings) -> None:
    token = create_access_token(settings, user_id=1, session_id=uuid.uuid4()).token
    assert decode_access_token(settings, token).user_id == 1
    rotated = settings.model_copy(
        update={"secret_key": SecretStr("a-rotated-secret-key-that-is-long-enough")}
    )
    with pytest.raises(InvalidToken):
        decode_access_token(rotated, token)
    other_audience = settings.model_copy(update={"jwt_audience": "another-audience"})
    with pytest.raises(InvalidToken):
        decode_access_token(other_audience, token)
