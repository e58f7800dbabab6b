"""POST /users/me/password, /auth/password-reset and /auth/password-reset/confirm."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import PasswordResetToken, User
from tests.conftest import ClientFactory, Sent
from tests.factories import DEFAULT_PASSWORD, assert_problem, bearer, create_user, sign_in
from tests.mailbox import reset_token

CHANGE = "/api/v1/users/me/password"
RESET = "/api/v1/auth/password-reset"
CONFIRM = "/api/v1/auth/password-reset/confirm"
ME = "/api/v1/users/me"
NEW_PASSWORD = "a brand new passphrase"


async def access_token(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> str:
    response = await sign_in(client, email, password)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
async def user(db: AsyncSession, app: FastAPI) -> User:
    return await create_user(db, app, email="Reset.Me@Example.com", full_name="Reset Me")


@pytest.fixture
async def mail_client(make_client: ClientFactory, tmp_path: Path) -> httpx.AsyncClient:
    return await make_client(
        mail_backend="file", mail_file_dir=tmp_path, frontend_url="https://jobs.example/"
    )


# --- change password


async def test_change_needs_a_token(client: httpx.AsyncClient) -> None:
    body = {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    assert_problem(await client.post(CHANGE, json=body), 401)


async def test_wrong_current_password_is_400_and_changes_nothing(
    client: httpx.AsyncClient, user: User
) -> None:
    token = await access_token(client, user.email)
    response = await client.post(
        CHANGE,
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=bearer(token),
    )
    assert_problem(response, 400)
    assert (await sign_in(client, user.email)).status_code == 200
    assert_problem(await sign_in(client, user.email, NEW_PASSWORD), 401)


@pytest.mark.parametrize(
    "body",
    [
        {"current_password": DEFAULT_PASSWORD, "new_password": "Zq9!"},
        {"current_password": DEFAULT_PASSWORD, "new_password": "Zq9!" * 65},
        {"current_password": DEFAULT_PASSWORD},
        {"new_password": NEW_PASSWORD},
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD, "role": "admin"},
    ],
)
async def test_invalid_change_body_is_422_without_passwords(
    client: httpx.AsyncClient, user: User, body: dict[str, str]
) -> None:
    token = await access_token(client, user.email)
    response = await client.post(CHANGE, json=body, headers=bearer(token))
    assert_problem(response, 422)
    for value in body.values():
        assert value not in response.text
    assert (await sign_in(client, user.email)).status_code == 200


async def test_change_ends_every_other_session(client: httpx.AsyncClient, user: User) -> None:
    current = await access_token(client, user.email)
    other = await access_token(client, user.email)
    response = await client.post(
        CHANGE,
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(current),
    )
    assert response.status_code == 204, response.text
    assert (await client.get(ME, headers=bearer(current))).status_code == 200
    assert_problem(await client.get(ME, headers=bearer(other)), 401)
    assert_problem(await sign_in(client, user.email), 401)
    assert (await sign_in(client, user.email, NEW_PASSWORD)).status_code == 200


# --- request a reset


@pytest.mark.parametrize("email", ["not-an-email", "", "a" * 400 + "@example.com"])
async def test_reset_request_with_invalid_email_is_422(
    sent: Sent, mail_client: httpx.AsyncClient, tmp_path: Path, email: str
) -> None:
    assert_problem(await mail_client.post(RESET, json={"email": email}), 422)
    assert await sent() == []


async def test_reset_request_answers_the_same_for_unknown_and_known_emails(
    sent: Sent, mail_client: httpx.AsyncClient, tmp_path: Path, user: User
) -> None:
    unknown = await mail_client.post(RESET, json={"email": "nobody@example.com"})
    known = await mail_client.post(RESET, json={"email": "reset.me@example.com"})
    assert unknown.status_code == known.status_code == 202
    assert unknown.content == known.content
    mails = await sent()
    assert len(mails) == 1
    assert mails[0]["To"] == user.email
    assert mails[0]["Subject"] == "Reset your password"
    body = mails[0].get_body(preferencelist=("plain",))
    assert body is not None
    assert "https://jobs.example/reset-password?token=" in body.get_content()


async def test_deactivated_account_gets_no_mail(
    sent: Sent, mail_client: httpx.AsyncClient, tmp_path: Path, db: AsyncSession, app: FastAPI
) -> None:
    inactive = await create_user(db, app, is_active=False)
    response = await mail_client.post(RESET, json={"email": inactive.email})
    assert response.status_code == 202
    assert await sent() == []


async def test_reset_token_is_stored_only_as_a_hash(
    sent: Sent, mail_client: httpx.AsyncClient, tmp_path: Path, db: AsyncSession, user: User
) -> None:
    await mail_client.post(RESET, json={"email": user.email})
    token = reset_token((await sent())[0])
    stored = (await db.execute(select(PasswordResetToken.token_hash))).scalars().all()
    assert len(stored) == 1
    assert token.encode() not in stored
    assert len(token) >= 43


# --- confirm a reset


@pytest.mark.parametrize("token", ["unknown", "x" * 512])
async def test_unknown_reset_token_is_400(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "body",
    [
        {"token": "t", "new_password": "Zq9!"},
        {"token": "", "new_password": NEW_PASSWORD},
        {"token": "x" * 513, "new_password": NEW_PASSWORD},
        {"new_password": NEW_PASSWORD},
        {"token": "t", "new_password": NEW_PASSWORD, "email": "a@example.com"},
    ],
)
async def test_invalid_confirm_body_is_422(client: httpx.AsyncClient, body: dict[str, str]) -> None:
    response = await client.post(CONFIRM, json=body)
    assert_problem(response, 422)
    assert "Zq9!" not in response.text


async def test_reset_flow_end_to_end(
    sent: Sent, mail_client: httpx.AsyncClient, tmp_path: Path, user: User
) -> None:
    sessions = [await access_token(mail_client, user.email) for _ in range(2)]
    assert (
        await mail_client.post(RESET, json={"email": "RESET.ME@example.com"})
    ).status_code == 202
    token = reset_token((await sent())[0])

    response = await mail_client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.text

    # Every session ended; only the new password works.
    for session_token in sessions:
        assert_problem(await mail_client.get(ME, headers=bearer(session_token)), 401)
    assert_problem(await sign_in(mail_client, user.email), 401)
    assert (await sign_in(mail_client, user.email, NEW_PASSWORD)).status_code == 200

    # Single use.
    again = await mail_client.post(CONFIRM, json={"token": token, "new_password": "another one!"})
    assert_problem(again, 400)
    assert (await sign_in(mail_client, user.email, NEW_PASSWORD)).status_code == 200


async def test_expired_reset_token_is_400(
    sent: Sent, mail_client: httpx.AsyncClient, tmp_path: Path, db: AsyncSession, user: User
) -> None:
    await mail_client.post(RESET, json={"email": user.email})
    token = reset_token((await sent())[0])
    await db.execute(
        update(PasswordResetToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    response = await mail_client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert_problem(response, 400)
    assert (await sign_in(mail_client, user.email)).status_code == 200


async def test_a_new_password_spends_older_reset_links(
    sent: Sent, mail_client: httpx.AsyncClient, tmp_path: Path, user: User
) -> None:
    await mail_client.post(RESET, json={"email": user.email})
    await mail_client.post(RESET, json={"email": user.email})
    first, second = (reset_token(message) for message in await sent())
    ok = await mail_client.post(CONFIRM, json={"token": second, "new_password": NEW_PASSWORD})
    assert ok.status_code == 204
    stale = await mail_client.post(CONFIRM, json={"token": first, "new_password": "sneaky pass"})
    assert_problem(stale, 400)


async def test_reset_link_of_a_since_deactivated_account_is_400(
    sent: Sent, mail_client: httpx.AsyncClient, tmp_path: Path, db: AsyncSession, user: User
) -> None:
    await mail_client.post(RESET, json={"email": user.email})
    token = reset_token((await sent())[0])
    await db.execute(update(User).where(User.id == user.id).values(is_active=False))
    response = await mail_client.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert_problem(response, 400)
