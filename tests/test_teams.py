"""Company teams: members in roles, invitations by mailed link, leaving, removing and handing
over, a company that always keeps an owner, and the record of what members did."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    Company,
    CompanyInvitation,
    CompanyMember,
    MemberRole,
    Role,
    User,
)
from backend.db.repository import members as members_repo
from backend.services.throttle import MAIL_TO_ADDRESS_PER_HOUR
from tests.conftest import ClientFactory, Sent
from tests.factories import (
    Actors,
    assert_problem,
    create_company,
    create_user,
    session_headers,
    unique_email,
)
from tests.mailbox import link_token, text_of, to

API = "/api/v1"
INVALID = "This invitation link is invalid, expired, revoked or already used."


@pytest.fixture
async def mail_client(make_client: ClientFactory, tmp_path: Path) -> httpx.AsyncClient:
    return await make_client(
        mail_backend="file", mail_file_dir=tmp_path, frontend_url="https://jobs.example"
    )


async def invite(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    company: Company,
    email: str,
    role: str = "recruiter",
) -> httpx.Response:
    return await client.post(
        f"{API}/companies/{company.id}/invitations",
        json={"email": email, "role": role},
        headers=headers,
    )


async def mailed_token(sent: Sent, tmp_path: Path, address: str) -> str:
    await sent()
    mails = to(tmp_path, address)
    assert mails, f"no mail to {address}"
    return link_token(mails[-1], "/invitations/accept")


async def accept(client: httpx.AsyncClient, headers: dict[str, str], token: str) -> httpx.Response:
    return await client.post(f"{API}/invitations/accept", json={"token": token}, headers=headers)


async def employer(db: AsyncSession, app: FastAPI, **values: Any) -> tuple[User, dict[str, str]]:
    user = await create_user(db, app, role=Role.employer, **values)
    return user, await session_headers(db, app, user)


async def team(client: httpx.AsyncClient, headers: dict[str, str], company: Company) -> list[Any]:
    response = await client.get(f"{API}/companies/{company.id}/members", headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def test_an_invited_address_joins_in_its_role_by_the_mailed_link(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    address = unique_email("recruiter")
    made = await invite(mail_client, actors.employer.headers, company, address)
    assert made.status_code == 201, made.text
    assert made.json()["email"] == address
    assert made.json()["sends"] == 1
    token = await mailed_token(sent, tmp_path, address)
    (mail,) = to(tmp_path, address)
    assert "Acme Robotics" in mail["Subject"]
    assert "recruiter" in text_of(mail)

    user, headers = await employer(db, app, email=address, full_name="Grace Hopper")
    joined = await accept(mail_client, headers, token)
    assert joined.status_code == 200, joined.text
    assert joined.json()["company_id"] == company.id
    assert joined.json()["member"]["role"] == "recruiter"

    members = await team(mail_client, headers, company)
    assert [(m["user_id"], m["role"], m["primary"]) for m in members] == [
        (actors.employer.user.id, "owner", True),
        (user.id, "recruiter", False),
    ]
    # Spent: the same link again is refused, and nothing changes.
    assert_problem(await accept(mail_client, headers, token), 400)
    assert (await invite(mail_client, actors.employer.headers, company, address)).status_code == 409
    mine = await mail_client.get(f"{API}/users/me/companies", headers=headers)
    assert [c["id"] for c in mine.json()["items"]] == [company.id]
    activity = await mail_client.get(
        f"{API}/companies/{company.id}/activity", headers=actors.employer.headers
    )
    assert [(a["action"], a["actor_id"]) for a in activity.json()["items"]] == [
        ("member_joined", user.id),
        ("member_invited", actors.employer.user.id),
    ]


@pytest.mark.parametrize(
    "ending", ["resent", "revoked", "inviter signed out everywhere", "inviter demoted", "expired"]
)
async def test_what_ends_an_invitation_link(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    tmp_path: Path,
    actors: Actors,
    company: Company,
    ending: str,
) -> None:
    address = unique_email("invited")
    made = (await invite(mail_client, actors.employer.headers, company, address)).json()
    token = await mailed_token(sent, tmp_path, address)
    _, headers = await employer(db, app, email=address)
    owners = actors.employer.headers
    base = f"{API}/companies/{company.id}/invitations/{made['id']}"
    if ending == "resent":
        await db.execute(
            update(CompanyInvitation)
            .where(CompanyInvitation.id == made["id"])
            .values(last_sent_at=func.now() - timedelta(hours=1))
        )
        resent = await mail_client.post(f"{base}/resend", headers=owners)
        assert resent.status_code == 200, resent.text
        assert resent.json()["sends"] == 2
        fresh = await mailed_token(sent, tmp_path, address)
        assert fresh != token
    elif ending == "revoked":
        assert (await mail_client.delete(base, headers=owners)).status_code == 204
    elif ending == "inviter signed out everywhere":
        assert (await mail_client.post(f"{API}/auth/logout-all", headers=owners)).status_code in (
            200,
            204,
        )
    elif ending == "inviter demoted":
        second, _ = await employer(db, app)
        await members_repo.add(db, company_id=company.id, user_id=second.id, role=MemberRole.owner)
        demoted = await mail_client.patch(
            f"{API}/companies/{company.id}/members/{actors.employer.user.id}",
            json={"role": "recruiter"},
            headers=owners,
        )
        assert demoted.status_code == 200, demoted.text
    else:
        await db.execute(
            update(CompanyInvitation)
            .where(CompanyInvitation.id == made["id"])
            .values(expires_at=func.now())
        )
    problem = assert_problem(await accept(mail_client, headers, token), 400)
    assert problem["detail"] == INVALID
    joined = [
        m for m in await team(mail_client, actors.admin.headers, company) if m["email"] == address
    ]
    assert joined == []


async def test_only_the_invited_confirmed_employer_account_joins(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    address = unique_email("invited")
    await invite(mail_client, actors.employer.headers, company, address)
    token = await mailed_token(sent, tmp_path, address)
    _, stranger = await employer(db, app)
    assert_problem(await accept(mail_client, stranger, token), 403)
    candidate = await create_user(db, app, email=address, role=Role.candidate)
    assert_problem(await accept(mail_client, await session_headers(db, app, candidate), token), 403)
    assert_problem(await accept(mail_client, actors.employer.headers, "not-a-token"), 400)
    assert len(await team(mail_client, actors.employer.headers, company)) == 1


async def test_an_unconfirmed_account_gets_no_invitation_mail_and_finds_it_once_confirmed(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    user, headers = await employer(db, app, verified=False)
    made = await invite(mail_client, actors.employer.headers, company, user.email, "viewer")
    assert made.status_code == 201, made.text
    await sent()
    assert to(tmp_path, user.email) == []
    listed = await mail_client.get(f"{API}/users/me/invitations", headers=headers)
    assert listed.json()["items"] == []
    assert_problem(
        await mail_client.post(
            f"{API}/users/me/invitations/{made.json()['id']}/accept", headers=headers
        ),
        404,
    )
    await db.execute(update(User).where(User.id == user.id).values(email_verified_at=func.now()))
    listed = await mail_client.get(f"{API}/users/me/invitations", headers=headers)
    (shown,) = listed.json()["items"]
    assert (shown["company_name"], shown["role"]) == ("Acme Robotics", "viewer")
    joined = await mail_client.post(
        f"{API}/users/me/invitations/{shown['id']}/accept", headers=headers
    )
    assert joined.status_code == 200, joined.text
    assert joined.json()["member"]["role"] == "viewer"


async def test_an_address_gets_a_few_invitations_an_hour_whoever_invites(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    tmp_path: Path,
) -> None:
    target = unique_email("target")
    answers = []
    for _ in range(MAIL_TO_ADDRESS_PER_HOUR + 2):
        owner, headers = await employer(db, app)
        company = await create_company(db, owner=owner, name="Spam Inc")
        answers.append((await invite(mail_client, headers, company, target)).status_code)
    assert answers == [201] * MAIL_TO_ADDRESS_PER_HOUR + [429, 429]
    await sent()
    assert len(to(tmp_path, target)) == MAIL_TO_ADDRESS_PER_HOUR


async def test_a_resend_waits_ten_minutes_and_a_declined_invitation_closes(
    mail_client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, actors: Actors, company: Company
) -> None:
    user, headers = await employer(db, app)
    made = (await invite(mail_client, actors.employer.headers, company, user.email)).json()
    resend = f"{API}/companies/{company.id}/invitations/{made['id']}/resend"
    refused = await mail_client.post(resend, headers=actors.employer.headers)
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 500
    declined = await mail_client.post(
        f"{API}/users/me/invitations/{made['id']}/decline", headers=headers
    )
    assert declined.status_code == 204
    listed = await mail_client.get(
        f"{API}/companies/{company.id}/invitations", headers=actors.employer.headers
    )
    assert listed.json()["items"] == []


async def test_a_company_always_keeps_an_owner(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, actors: Actors, company: Company
) -> None:
    owner = actors.employer
    members = f"{API}/companies/{company.id}/members"
    assert_problem(
        await client.patch(
            f"{members}/{owner.user.id}", json={"role": "viewer"}, headers=owner.headers
        ),
        409,
    )
    assert_problem(await client.delete(f"{members}/{owner.user.id}", headers=owner.headers), 409)
    second, second_headers = await employer(db, app)
    await members_repo.add(db, company_id=company.id, user_id=second.id, role=MemberRole.owner)
    # The primary owner leaves: the other owner becomes primary and gets the company's mail.
    assert (
        await client.delete(f"{members}/{owner.user.id}", headers=owner.headers)
    ).status_code == 204
    (left,) = await team(client, second_headers, company)
    assert (left["user_id"], left["role"], left["primary"]) == (second.id, "owner", True)
    assert (
        await db.execute(select(Company.owner_id).where(Company.id == company.id))
    ).scalar_one() == second.id
    # A former member sees nothing of it.
    assert_problem(await client.get(members, headers=owner.headers), 404)


async def test_an_owner_hands_the_company_over(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, actors: Actors, company: Company
) -> None:
    other, other_headers = await employer(db, app)
    await members_repo.add(db, company_id=company.id, user_id=other.id, role=MemberRole.viewer)
    transfer = f"{API}/companies/{company.id}/transfer"
    assert_problem(
        await client.post(transfer, json={"user_id": other.id}, headers=other_headers), 403
    )
    assert_problem(
        await client.post(transfer, json={"user_id": 999_999}, headers=actors.employer.headers),
        404,
    )
    handed = await client.post(
        transfer, json={"user_id": other.id}, headers=actors.employer.headers
    )
    assert handed.status_code == 200, handed.text
    assert {(m["user_id"], m["role"], m["primary"]) for m in handed.json()["items"]} == {
        (actors.employer.user.id, "recruiter", False),
        (other.id, "owner", True),
    }
    # The former owner is a recruiter now: jobs yes, keys and members no.
    assert_problem(
        await client.get(f"{API}/companies/{company.id}/api-keys", headers=actors.employer.headers),
        403,
    )


async def test_members_of_another_company_learn_nothing(
    client: httpx.AsyncClient, actors: Actors, company: Company
) -> None:
    outsider = actors.other_employer.headers
    for path in ("members", "invitations", "activity", "api-keys"):
        assert_problem(
            await client.get(f"{API}/companies/{company.id}/{path}", headers=outsider), 404
        )
    assert_problem(
        await client.patch(
            f"{API}/companies/{company.id}/members/{actors.employer.user.id}",
            json={"role": "viewer"},
            headers=outsider,
        ),
        404,
    )
    assert_problem(
        await client.delete(
            f"{API}/companies/{company.id}/members/{actors.employer.user.id}", headers=outsider
        ),
        404,
    )
    rows = (
        await client.get(f"{API}/companies/{company.id}/members", headers=actors.admin.headers)
    ).json()
    assert [m["user_id"] for m in rows["items"]] == [actors.employer.user.id]


async def test_a_company_made_by_any_path_has_its_creator_as_owner(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    made = await client.post(
        f"{API}/companies", json={"name": "Initech"}, headers=actors.employer.headers
    )
    assert made.status_code == 201, made.text
    rows = (
        await db.execute(
            select(CompanyMember.user_id, CompanyMember.role).where(
                CompanyMember.company_id == made.json()["id"]
            )
        )
    ).all()
    assert rows == [(actors.employer.user.id, MemberRole.owner)]
