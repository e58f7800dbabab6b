"""Confirmed email addresses: the mailed link, resending it, changing one's address, and
what an unconfirmed account may not do."""

import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.security import (
    UNSUBSCRIBE_PURPOSE,
    VERIFY_EMAIL_PURPOSE,
    create_access_token,
    create_link_token,
)
from backend.db.models import Company, User
from tests.conftest import ClientFactory, Sent
from tests.factories import DEFAULT_PASSWORD, Actors, assert_problem, bearer, job_body, token_for
from tests.mailbox import link_token, text_of, to
from tests.tasks import waiting

API = "/api/v1"
VERIFY = f"{API}/auth/verify-email"
RESEND = f"{API}/auth/verify-email/resend"
ME = f"{API}/users/me"


@pytest.fixture
async def mail_client(make_client: ClientFactory, tmp_path: Path) -> httpx.AsyncClient:
    return await make_client(
        mail_backend="file",
        mail_file_dir=tmp_path,
        frontend_url="https://jobs.example",
        rate_limits_enabled=False,
    )


async def register(
    client: httpx.AsyncClient, email: str, role: str = "candidate"
) -> dict[str, str]:
    """A new account, signed in: its Authorization header."""
    response = await client.post(
        f"{API}/auth/register",
        json={"email": email, "password": DEFAULT_PASSWORD, "full_name": "New", "role": role},
    )
    assert response.status_code == 201, response.text
    return bearer(await token_for(client, email))


async def confirmation_token(sent: Sent, address: str) -> str:
    mails = [mail for mail in await sent() if mail["To"] == address]
    assert mails, f"no mail to {address}"
    return link_token(mails[-1], "/verify-email")


async def stored(db: AsyncSession, email: str) -> User | None:
    return (await db.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def test_registration_mails_a_link_that_confirms_the_address(
    mail_client: httpx.AsyncClient, sent: Sent, db: AsyncSession
) -> None:
    headers = await register(mail_client, "new@example.com")
    me = (await mail_client.get(ME, headers=headers)).json()
    assert me["email_verified"] is False
    assert me["email_verified_at"] is None
    (mail,) = await sent()
    assert mail["To"] == "new@example.com"
    assert mail["Subject"] == "Confirm your email address"
    assert "https://jobs.example/verify-email?token=" in text_of(mail)
    assert mail["List-Unsubscribe"] is None  # asked for, not a notification

    confirmed = await mail_client.post(VERIFY, json={"token": link_token(mail, "/verify-email")})
    assert confirmed.status_code == 204, confirmed.text
    me = (await mail_client.get(ME, headers=headers)).json()
    assert me["email_verified"] is True
    assert me["email_verified_at"].endswith("Z")


async def test_a_registration_that_fails_asks_for_no_mail(
    mail_client: httpx.AsyncClient, sent: Sent, db: AsyncSession
) -> None:
    await register(mail_client, "taken@example.com")
    await sent()
    again = await mail_client.post(
        f"{API}/auth/register",
        json={"email": "taken@example.com", "password": DEFAULT_PASSWORD, "full_name": "X"},
    )
    assert_problem(again, 409)
    assert await waiting(db) == []
    assert len(await sent()) == 1


async def test_an_unconfirmed_candidate_cannot_apply_until_confirmed(
    mail_client: httpx.AsyncClient, sent: Sent, actors: Actors, company: Company
) -> None:
    job = await mail_client.post(
        f"{API}/jobs",
        json=job_body(company.id, status="published"),
        headers=actors.employer.headers,
    )
    assert job.status_code == 201, job.text
    candidate = await register(mail_client, "eager@example.com")
    url = f"{API}/jobs/{job.json()['id']}/applications"
    refused = assert_problem(await mail_client.post(url, json={}, headers=candidate), 403)
    assert "Confirm your email address before you apply" in str(refused["detail"])
    assert "/auth/verify-email/resend" in str(refused["detail"])

    token = await confirmation_token(sent, "eager@example.com")
    assert (await mail_client.post(VERIFY, json={"token": token})).status_code == 204
    assert (await mail_client.post(url, json={}, headers=candidate)).status_code == 201


async def test_an_unconfirmed_employer_drafts_but_cannot_publish(
    mail_client: httpx.AsyncClient, sent: Sent
) -> None:
    employer = await register(mail_client, "boss@example.com", role="employer")
    company = await mail_client.post(f"{API}/companies", json={"name": "Co"}, headers=employer)
    assert company.status_code == 201
    company_id = company.json()["id"]
    published = await mail_client.post(
        f"{API}/jobs", json=job_body(company_id, status="published"), headers=employer
    )
    assert "publish jobs" in str(assert_problem(published, 403)["detail"])
    draft = await mail_client.post(f"{API}/jobs", json=job_body(company_id), headers=employer)
    assert draft.status_code == 201
    job_url = f"{API}/jobs/{draft.json()['id']}"
    assert_problem(
        await mail_client.patch(job_url, json={"status": "published"}, headers=employer), 403
    )
    edited = await mail_client.patch(job_url, json={"title": "Renamed"}, headers=employer)
    assert edited.status_code == 200
    assert edited.json()["status"] == "draft"

    token = await confirmation_token(sent, "boss@example.com")
    assert (await mail_client.post(VERIFY, json={"token": token})).status_code == 204
    now_published = await mail_client.patch(job_url, json={"status": "published"}, headers=employer)
    assert now_published.status_code == 200
    assert now_published.json()["status"] == "published"


async def test_a_link_works_once(
    mail_client: httpx.AsyncClient, sent: Sent, db: AsyncSession
) -> None:
    await register(mail_client, "once@example.com")
    token = await confirmation_token(sent, "once@example.com")
    assert (await mail_client.post(VERIFY, json={"token": token})).status_code == 204
    user = await stored(db, "once@example.com")
    assert user is not None
    first = user.email_verified_at
    again = assert_problem(await mail_client.post(VERIFY, json={"token": token}), 400)
    assert again["detail"] == "This confirmation link is invalid, expired or already used."
    await db.refresh(user)
    assert user.email_verified_at == first


def _tampered(token: str) -> str:
    header, claims, signature = token.split(".")
    return f"{header}.{claims}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"


@pytest.mark.parametrize("kind", ["tampered", "expired", "unsubscribe", "access", "junk"])
async def test_a_bad_link_is_400_and_confirms_nothing(
    mail_client: httpx.AsyncClient, sent: Sent, db: AsyncSession, app: FastAPI, kind: str
) -> None:
    await register(mail_client, "careful@example.com")
    user = await stored(db, "careful@example.com")
    assert user is not None
    settings: Settings = app.state.settings
    token = {
        "tampered": _tampered(await confirmation_token(sent, "careful@example.com")),
        "expired": create_link_token(
            settings,
            purpose=VERIFY_EMAIL_PURPOSE,
            user_id=user.id,
            subject=user.email,
            generation=0,
            expires_in=60,
            now=int(time.time()) - 3600,
        ),
        "unsubscribe": create_link_token(
            settings,
            purpose=UNSUBSCRIBE_PURPOSE,
            user_id=user.id,
            subject=user.email,
            generation=0,
            expires_in=3600,
        ),
        "access": create_access_token(
            settings, user_id=user.id, session_id=__import__("uuid").uuid4()
        ).token,
        "junk": "not-a-token",
    }[kind]
    assert_problem(await mail_client.post(VERIFY, json={"token": token}), 400)
    await db.refresh(user)
    assert user.email_verified_at is None


async def test_resend_mails_a_new_link_and_is_limited(
    mail_client: httpx.AsyncClient, sent: Sent
) -> None:
    headers = await register(mail_client, "slow@example.com")
    answers = [await mail_client.post(RESEND, headers=headers) for _ in range(6)]
    # The address's five asked-for mails an hour: the registration's and four resent.
    assert [answer.status_code for answer in answers] == [202] * 4 + [429] * 2
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert answers[0].json()["detail"] == "A confirmation link is on its way to slow@example.com."
    mails = await sent()
    assert len(mails) == 1 + 4  # registration's and the four resent
    # Any of them confirms the address; then the rest are spent.
    tokens = [link_token(mail, "/verify-email") for mail in mails]
    assert (await mail_client.post(VERIFY, json={"token": tokens[3]})).status_code == 204
    assert_problem(await mail_client.post(VERIFY, json={"token": tokens[0]}), 400)


async def test_resend_once_confirmed_is_409(
    mail_client: httpx.AsyncClient, sent: Sent, db: AsyncSession
) -> None:
    headers = await register(mail_client, "done@example.com")
    token = await confirmation_token(sent, "done@example.com")
    assert (await mail_client.post(VERIFY, json={"token": token})).status_code == 204
    assert_problem(await mail_client.post(RESEND, headers=headers), 409)
    assert await waiting(db) == []


async def test_resend_needs_a_sign_in(mail_client: httpx.AsyncClient) -> None:
    assert_problem(await mail_client.post(RESEND), 401)


# --- changing one's address


async def confirmed_account(client: httpx.AsyncClient, sent: Sent, email: str) -> dict[str, str]:
    headers = await register(client, email)
    token = await confirmation_token(sent, email)
    assert (await client.post(VERIFY, json={"token": token})).status_code == 204
    return headers


async def test_a_new_address_takes_effect_once_confirmed(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    headers = await confirmed_account(mail_client, sent, "old@example.com")
    changed = await mail_client.patch(
        ME,
        json={"email": "new@example.com", "current_password": DEFAULT_PASSWORD},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "old@example.com"  # not yet
    await sent()
    assert to(tmp_path, "old@example.com")[-1]["Subject"] == "Confirm your email address"
    (mail,) = to(tmp_path, "new@example.com")
    token = link_token(mail, "/verify-email")
    assert (await mail_client.post(VERIFY, json={"token": token})).status_code == 204
    # A security event: the session that asked for it ended too.
    assert_problem(await mail_client.get(ME, headers=headers), 401)
    headers = bearer(await token_for(mail_client, "new@example.com"))
    me = (await mail_client.get(ME, headers=headers)).json()
    assert me["email"] == "new@example.com"
    assert me["email_verified"] is True
    # Signing in uses the new address; the link is spent.
    assert (
        await mail_client.post(
            f"{API}/auth/token", data={"username": "new@example.com", "password": DEFAULT_PASSWORD}
        )
    ).status_code == 200
    assert_problem(await mail_client.post(VERIFY, json={"token": token}), 400)


async def test_a_link_older_than_the_last_security_event_is_400(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path, app: FastAPI, db: AsyncSession
) -> None:
    headers = await confirmed_account(mail_client, sent, "first@example.com")
    user = await stored(db, "first@example.com")
    assert user is not None
    # A link for another address, made under the generation before the account's last
    # security event (signing out everywhere).
    stale = create_link_token(
        app.state.settings,
        purpose=VERIFY_EMAIL_PURPOSE,
        user_id=user.id,
        subject="elsewhere@example.com",
        generation=0,
        expires_in=3600,
        now=int(time.time()) - 60,
    )
    assert (await mail_client.post(f"{API}/auth/logout-all", headers=headers)).status_code == 204
    assert_problem(await mail_client.post(VERIFY, json={"token": stale}), 400)
    headers = bearer(await token_for(mail_client, "first@example.com"))
    assert (await mail_client.get(ME, headers=headers)).json()["email"] == "first@example.com"


async def test_a_new_address_taken_meanwhile_is_409(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    headers = await confirmed_account(mail_client, sent, "mover@example.com")
    await mail_client.patch(
        ME,
        json={"email": "wanted@example.com", "current_password": DEFAULT_PASSWORD},
        headers=headers,
    )
    await sent()
    (mail,) = to(tmp_path, "wanted@example.com")
    await register(mail_client, "wanted@example.com")
    assert_problem(
        await mail_client.post(VERIFY, json={"token": link_token(mail, "/verify-email")}), 409
    )
    assert (await mail_client.get(ME, headers=headers)).json()["email"] == "mover@example.com"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"email": "x@example.com"}, 422, "current_password"),
        ({"email": "x@example.com", "current_password": "wrong password!"}, 400, None),
        ({"email": "me@example.com", "current_password": DEFAULT_PASSWORD}, 409, None),
        ({"email": "other@example.com", "current_password": DEFAULT_PASSWORD}, 409, None),
        ({"email": "not an email", "current_password": DEFAULT_PASSWORD}, 422, "email"),
    ],
)
async def test_an_address_change_that_cannot_be_asked_for_mails_nothing(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    body: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    await register(mail_client, "other@example.com")
    headers = await confirmed_account(mail_client, sent, "me@example.com")
    problem = assert_problem(await mail_client.patch(ME, json=body, headers=headers), status)
    if field is not None:
        errors = problem["errors"]
        assert isinstance(errors, list)
        assert [error["loc"][-1] for error in errors] == [field]
    assert await waiting(db) == []
    assert (await mail_client.get(ME, headers=headers)).json()["email"] == "me@example.com"
