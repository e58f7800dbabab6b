"""Teams under concurrency, with real parallel requests on a live app: two owners demoting
each other, an invitation accepted twice or accepted while revoked, and one address
invited many times at once."""

import asyncio
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from backend.db.models import CompanyInvitation, CompanyMember, MemberRole, Role, User
from backend.db.repository import members as members_repo
from tests.conftest import ClientFactory
from tests.test_races import REPEATS, live_user

API = "/api/v1"


@pytest.fixture
async def client(make_live_client: ClientFactory) -> httpx.AsyncClient:
    return await make_live_client(rate_limits_enabled=False)


async def live_company(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    made = await client.post(f"{API}/companies", json={"name": "Race Team"}, headers=headers)
    assert made.status_code == 201, made.text
    company_id: int = made.json()["id"]
    return company_id


async def roles(client: httpx.AsyncClient, company_id: int) -> dict[int, MemberRole]:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as db:
        rows = await db.execute(
            select(CompanyMember.user_id, CompanyMember.role).where(
                CompanyMember.company_id == company_id
            )
        )
        return {row.user_id: row.role for row in rows}


async def add(client: httpx.AsyncClient, company_id: int, user_id: int, role: MemberRole) -> None:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as db, db.begin():
        await members_repo.add(db, company_id=company_id, user_id=user_id, role=role)


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(REPEATS):
        first, first_headers = await live_user(client, Role.employer)
        second, second_headers = await live_user(client, Role.employer)
        company_id = await live_company(client, first_headers)
        await add(client, company_id, second.id, MemberRole.owner)
        members = f"{API}/companies/{company_id}/members"
        answers = await asyncio.gather(
            client.patch(
                f"{members}/{second.id}", json={"role": "recruiter"}, headers=first_headers
            ),
            client.patch(
                f"{members}/{first.id}", json={"role": "recruiter"}, headers=second_headers
            ),
        )
        # The second to hold the company is no owner any more: 403.
        assert sorted(answer.status_code for answer in answers) == [200, 403]
        assert sorted((await roles(client, company_id)).values()) == [
            MemberRole.owner,
            MemberRole.recruiter,
        ]


async def test_two_owners_leaving_at_once_leave_one_owner(client: httpx.AsyncClient) -> None:
    for _ in range(REPEATS):
        first, first_headers = await live_user(client, Role.employer)
        second, second_headers = await live_user(client, Role.employer)
        company_id = await live_company(client, first_headers)
        await add(client, company_id, second.id, MemberRole.owner)
        members = f"{API}/companies/{company_id}/members"
        answers = await asyncio.gather(
            client.delete(f"{members}/{first.id}", headers=first_headers),
            client.delete(f"{members}/{second.id}", headers=second_headers),
        )
        assert sorted(answer.status_code for answer in answers) == [204, 409]
        assert list((await roles(client, company_id)).values()) == [MemberRole.owner]


async def test_one_address_invited_many_times_at_once_gets_one_invitation(
    client: httpx.AsyncClient,
) -> None:
    for round_ in range(REPEATS):
        owners = [await live_user(client, Role.employer) for _ in range(4)]
        company_id = await live_company(client, owners[0][1])
        for owner, _ in owners[1:]:
            await add(client, company_id, owner.id, MemberRole.owner)
        address = f"invited-{round_}-{company_id}@example.com"
        answers = await asyncio.gather(
            *(
                client.post(
                    f"{API}/companies/{company_id}/invitations",
                    json={"email": address, "role": "viewer"},
                    headers=headers,
                )
                for _, headers in owners
            )
        )
        assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409]
        app: FastAPI = client.app  # type: ignore[attr-defined]
        async with app.state.sessionmaker() as db:
            count = await db.scalar(
                select(func.count()).where(CompanyInvitation.company_id == company_id)
            )
        assert count == 1


@dataclass(frozen=True)
class Invited:
    """A company, its owner, and an employer invited to it (signed in, each)."""

    owner: User
    owner_headers: dict[str, str]
    invited: User
    invited_headers: dict[str, str]
    company_id: int
    invitation_id: int


async def an_invitation(client: httpx.AsyncClient, role: str) -> Invited:
    owner, owner_headers = await live_user(client, Role.employer)
    invited, invited_headers = await live_user(client, Role.employer)
    company_id = await live_company(client, owner_headers)
    made = await client.post(
        f"{API}/companies/{company_id}/invitations",
        json={"email": invited.email, "role": role},
        headers=owner_headers,
    )
    assert made.status_code == 201, made.text
    return Invited(owner, owner_headers, invited, invited_headers, company_id, made.json()["id"])


async def test_an_invitation_accepted_and_revoked_at_once(client: httpx.AsyncClient) -> None:
    for _ in range(REPEATS):
        it = await an_invitation(client, "recruiter")
        accepted, revoked = await asyncio.gather(
            client.post(
                f"{API}/users/me/invitations/{it.invitation_id}/accept",
                headers=it.invited_headers,
            ),
            client.delete(
                f"{API}/companies/{it.company_id}/invitations/{it.invitation_id}",
                headers=it.owner_headers,
            ),
        )
        team = await roles(client, it.company_id)
        if accepted.status_code == 200:
            assert revoked.status_code == 404
            assert team == {it.owner.id: MemberRole.owner, it.invited.id: MemberRole.recruiter}
        else:
            assert (accepted.status_code, revoked.status_code) == (404, 204)
            assert team == {it.owner.id: MemberRole.owner}


async def test_one_invitation_accepted_twice_at_once_makes_one_member(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(REPEATS):
        it = await an_invitation(client, "viewer")
        accept = f"{API}/users/me/invitations/{it.invitation_id}/accept"
        answers = await asyncio.gather(
            *(client.post(accept, headers=it.invited_headers) for _ in range(4))
        )
        # The first holds the invitation; the others find it accepted, no longer open.
        assert sorted(answer.status_code for answer in answers) == [200, 404, 404, 404]
        assert await roles(client, it.company_id) == {
            it.owner.id: MemberRole.owner,
            it.invited.id: MemberRole.viewer,
        }
