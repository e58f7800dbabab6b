"""Every mailed link is bound to the account's state when it was asked for: a security event
(a password change or reset, an address change, signing out everywhere, deactivation)
ends every link still pending, and every session."""

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company
from tests.conftest import ClientFactory, Sent
from tests.factories import (
    DEFAULT_PASSWORD,
    Actors,
    assert_problem,
    bearer,
    job_body,
    session_headers,
    sign_in,
    token_for,
)
from tests.mailbox import link_token, reset_token, to

API = "/api/v1"
ME = f"{API}/users/me"
VERIFY = f"{API}/auth/verify-email"
RESET = f"{API}/auth/password-reset"
CONFIRM_RESET = f"{API}/auth/password-reset/confirm"
CHANGE_PASSWORD = f"{API}/users/me/password"
LOGOUT_ALL = f"{API}/auth/logout-all"
UNSUBSCRIBE = f"{API}/notifications/unsubscribe"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def mail_client(make_client: ClientFactory, tmp_path: Path) -> httpx.AsyncClient:
    return await make_client(
        mail_backend="file",
        mail_file_dir=tmp_path,
        frontend_url="https://jobs.example",
        api_url="https://api.jobs.example",
        rate_limits_enabled=False,
    )


async def confirmed(client: httpx.AsyncClient, sent: Sent, email: str) -> dict[str, str]:
    """A new account whose address is confirmed, signed in: its Authorization header."""
    registered = await client.post(
        f"{API}/auth/register",
        json={"email": email, "password": DEFAULT_PASSWORD, "full_name": "Owner"},
    )
    assert registered.status_code == 201, registered.text
    (mail,) = [m for m in await sent() if m["To"] == email]
    answer = await client.post(VERIFY, json={"token": link_token(mail, "/verify-email")})
    assert answer.status_code == 204, answer.text
    return bearer(await token_for(client, email))


async def ask_change(client: httpx.AsyncClient, headers: dict[str, str], email: str) -> None:
    answer = await client.patch(
        ME, json={"email": email, "current_password": DEFAULT_PASSWORD}, headers=headers
    )
    assert answer.status_code == 200, answer.text


async def change_link(sent: Sent, tmp_path: Path, address: str) -> str:
    await sent()
    return link_token(to(tmp_path, address)[-1], "/verify-email")


async def reset_link(client: httpx.AsyncClient, sent: Sent, tmp_path: Path, email: str) -> str:
    assert (await client.post(RESET, json={"email": email})).status_code == 202
    await sent()
    return reset_token(to(tmp_path, email)[-1])


async def test_a_pending_address_change_dies_with_the_owners_reset(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    victim = await confirmed(mail_client, sent, "victim@example.com")
    # Someone who knows the password asks to move the account to their address...
    await ask_change(mail_client, victim, "thief@example.com")
    stolen = await change_link(sent, tmp_path, "thief@example.com")
    # ...and the owner takes the account back with a reset.
    token = await reset_link(mail_client, sent, tmp_path, "victim@example.com")
    answer = await mail_client.post(
        CONFIRM_RESET, json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert answer.status_code == 204, answer.text

    assert_problem(await mail_client.post(VERIFY, json={"token": stolen}), 400)
    assert (await sign_in(mail_client, "victim@example.com", NEW_PASSWORD)).status_code == 200
    assert (await sign_in(mail_client, "thief@example.com", NEW_PASSWORD)).status_code == 401


async def test_a_pending_address_change_dies_with_a_password_change(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    owner = await confirmed(mail_client, sent, "owner@example.com")
    await ask_change(mail_client, owner, "thief@example.com")
    stolen = await change_link(sent, tmp_path, "thief@example.com")
    changed = await mail_client.post(
        CHANGE_PASSWORD,
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=owner,
    )
    assert changed.status_code == 204, changed.text
    assert_problem(await mail_client.post(VERIFY, json={"token": stolen}), 400)
    assert (await mail_client.get(ME, headers=owner)).json()["email"] == "owner@example.com"


async def test_a_reset_link_mailed_to_the_old_address_dies_with_the_change(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    headers = await confirmed(mail_client, sent, "before@example.com")
    old_reset = await reset_link(mail_client, sent, tmp_path, "before@example.com")
    await ask_change(mail_client, headers, "after@example.com")
    move = await change_link(sent, tmp_path, "after@example.com")
    assert (await mail_client.post(VERIFY, json={"token": move})).status_code == 204

    assert_problem(
        await mail_client.post(
            CONFIRM_RESET, json={"token": old_reset, "new_password": NEW_PASSWORD}
        ),
        400,
    )
    assert (await sign_in(mail_client, "after@example.com")).status_code == 200


async def test_of_two_address_change_links_only_one_ever_works(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    # Both links and the confirmation fall within one second: an exact comparison, not
    # one by whole seconds, is what ends the other link.
    headers = await confirmed(mail_client, sent, "twice@example.com")
    await ask_change(mail_client, headers, "first@example.com")
    await ask_change(mail_client, headers, "second@example.com")
    await sent()
    first = link_token(to(tmp_path, "first@example.com")[-1], "/verify-email")
    second = link_token(to(tmp_path, "second@example.com")[-1], "/verify-email")
    assert (await mail_client.post(VERIFY, json={"token": second})).status_code == 204
    assert_problem(await mail_client.post(VERIFY, json={"token": first}), 400)
    headers = bearer(await token_for(mail_client, "second@example.com"))
    assert (await mail_client.get(ME, headers=headers)).json()["email"] == "second@example.com"


async def test_an_address_change_ends_every_session(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    headers = await confirmed(mail_client, sent, "moving@example.com")
    other = bearer(await token_for(mail_client, "moving@example.com"))
    await ask_change(mail_client, headers, "moved@example.com")
    move = await change_link(sent, tmp_path, "moved@example.com")
    assert (await mail_client.post(VERIFY, json={"token": move})).status_code == 204
    assert_problem(await mail_client.get(ME, headers=headers), 401)
    assert_problem(await mail_client.get(ME, headers=other), 401)


async def test_signing_out_everywhere_ends_every_session_and_pending_link(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    headers = await confirmed(mail_client, sent, "everywhere@example.com")
    laptop = await sign_in(mail_client, "everywhere@example.com")
    refresh = laptop.json()["refresh_token"]
    await ask_change(mail_client, headers, "elsewhere@example.com")
    move = await change_link(sent, tmp_path, "elsewhere@example.com")
    reset = await reset_link(mail_client, sent, tmp_path, "everywhere@example.com")

    answer = await mail_client.post(LOGOUT_ALL, headers=headers)
    assert answer.status_code == 204, answer.text

    assert_problem(await mail_client.get(ME, headers=headers), 401)
    assert_problem(await mail_client.get(ME, headers=bearer(laptop.json()["access_token"])), 401)
    assert_problem(
        await mail_client.post(f"{API}/auth/refresh", json={"refresh_token": refresh}), 401
    )
    assert_problem(await mail_client.post(VERIFY, json={"token": move}), 400)
    assert_problem(
        await mail_client.post(CONFIRM_RESET, json={"token": reset, "new_password": NEW_PASSWORD}),
        400,
    )
    # The password itself still works: a new sign-in opens a new session.
    assert (await sign_in(mail_client, "everywhere@example.com")).status_code == 200


async def test_signing_out_everywhere_needs_a_sign_in(mail_client: httpx.AsyncClient) -> None:
    assert_problem(await mail_client.post(LOGOUT_ALL), 401)


async def test_an_unsubscribe_link_dies_with_a_security_event(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    tmp_path: Path,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
) -> None:
    job = await mail_client.post(
        f"{API}/jobs",
        json=job_body(company.id, status="published"),
        headers=actors.employer.headers,
    )
    assert job.status_code == 201, job.text
    await mail_client.post(
        f"{API}/jobs/{job.json()['id']}/applications", json={}, headers=actors.candidate.headers
    )
    (mail,) = await sent()  # to the employer, about the new applicant
    link = mail["List-Unsubscribe"].strip("<>").removeprefix("https://api.jobs.example")
    assert (await mail_client.post(LOGOUT_ALL, headers=actors.employer.headers)).status_code == 204
    assert_problem(await mail_client.post(link), 400)
    settings = await mail_client.get(
        f"{API}/users/me/notifications",
        headers=await session_headers(db, app, actors.employer.user),
    )
    assert settings.json()["new_applicants"] is True


async def test_deactivation_ends_pending_links(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path, actors: Actors
) -> None:
    headers = await confirmed(mail_client, sent, "leaving@example.com")
    me = (await mail_client.get(ME, headers=headers)).json()
    reset = await reset_link(mail_client, sent, tmp_path, "leaving@example.com")
    for active in (False, True):
        answer = await mail_client.patch(
            f"{API}/admin/users/{me['id']}",
            json={"is_active": active},
            headers=actors.admin.headers,
        )
        assert answer.status_code == 200, answer.text
    # Active again, but what was pending when it was turned off stays dead.
    assert_problem(
        await mail_client.post(CONFIRM_RESET, json={"token": reset, "new_password": NEW_PASSWORD}),
        400,
    )
    assert_problem(await mail_client.get(ME, headers=headers), 401)
