"""/api/v1/companies."""

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company
from tests.factories import Actors, assert_problem

URL = "/api/v1/companies"


async def count(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(Company))).scalar_one()


# --- create


async def test_create_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(URL, json={"name": "X"}), 401)


async def test_candidates_cannot_create_companies(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    before = await count(db)
    response = await client.post(URL, json={"name": "X"}, headers=actors.candidate.headers)
    assert_problem(response, 403)
    assert await count(db) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"name": "Bad\x00Name"},
        {"name": "X", "website": "not a url"},
        {"name": "X", "website": "javascript:alert(1)"},
        {"name": "X", "website": "ftp://files.example"},
        {"name": "X", "website": "https://e.example/" + "a" * 2048},
        {"name": "X", "description": "d" * 10_001},
        {"name": "X", "owner_id": 1},
        {"name": "X", "id": 5},
        {"name": "X", "created_at": "2020-01-01T00:00:00Z"},
    ],
)
async def test_invalid_body_is_422_and_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, body: dict[str, object]
) -> None:
    before = await count(db)
    response = await client.post(URL, json=body, headers=actors.employer.headers)
    assert_problem(response, 422)
    assert await count(db) == before


async def test_employer_creates_a_company_they_own(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    body = {"name": " Initech ", "website": "https://initech.example", "description": "TPS"}
    response = await client.post(URL, json=body, headers=actors.employer.headers)
    assert response.status_code == 201, response.text
    company = response.json()
    assert set(company) == {
        "id", "name", "website", "description", "description_html", "owner_id", "verified",
        "verified_domain", "created_at",
    }  # fmt: skip
    assert company["verified"] is False
    assert company["verified_domain"] is None
    assert company["name"] == "Initech"
    assert company["website"] == "https://initech.example"
    assert company["owner_id"] == actors.employer.user.id


async def test_admin_creates_a_company(client: httpx.AsyncClient, actors: Actors) -> None:
    response = await client.post(URL, json={"name": "Admin Co"}, headers=actors.admin.headers)
    assert response.status_code == 201
    assert response.json()["owner_id"] == actors.admin.user.id


# --- read and list


async def test_unknown_company_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{URL}/999999"), 404)


@pytest.mark.parametrize("company_id", ["0", "-1", "abc", str(2**63), "1.5"])
async def test_malformed_company_id_is_422(client: httpx.AsyncClient, company_id: str) -> None:
    assert_problem(await client.get(f"{URL}/{company_id}"), 422)


async def test_anyone_reads_a_company(client: httpx.AsyncClient, actors: Actors) -> None:
    assert actors.employer.company is not None
    response = await client.get(f"{URL}/{actors.employer.company.id}")
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Robotics"


async def test_list_walks_every_company_once(client: httpx.AsyncClient, actors: Actors) -> None:
    for number in range(5):
        await client.post(URL, json={"name": f"Co {number}"}, headers=actors.employer.headers)
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(URL, params=params)
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [company["id"] for company in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "garbage"}]
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, object]
) -> None:
    assert_problem(await client.get(URL, params=params), 422)  # type: ignore[arg-type]


# --- update


async def test_update_needs_a_token(client: httpx.AsyncClient, actors: Actors) -> None:
    assert actors.employer.company is not None
    assert_problem(await client.patch(f"{URL}/{actors.employer.company.id}", json={}), 401)


@pytest.mark.parametrize("who", ["other_employer", "candidate"])
async def test_others_cannot_update_a_company(
    client: httpx.AsyncClient, actors: Actors, who: str
) -> None:
    assert actors.employer.company is not None
    response = await client.patch(
        f"{URL}/{actors.employer.company.id}",
        json={"name": "Hijacked"},
        headers=getattr(actors, who).headers,
    )
    assert_problem(response, 403)
    read = await client.get(f"{URL}/{actors.employer.company.id}")
    assert read.json()["name"] == "Acme Robotics"


async def test_update_of_unknown_company_is_404(client: httpx.AsyncClient, actors: Actors) -> None:
    response = await client.patch(
        f"{URL}/999999", json={"name": "X"}, headers=actors.employer.headers
    )
    assert_problem(response, 404)


@pytest.mark.parametrize(
    "body", [{"name": None}, {"name": ""}, {"owner_id": 1}, {"website": "nope"}]
)
async def test_invalid_update_is_422(
    client: httpx.AsyncClient, actors: Actors, body: dict[str, object]
) -> None:
    assert actors.employer.company is not None
    response = await client.patch(
        f"{URL}/{actors.employer.company.id}", json=body, headers=actors.employer.headers
    )
    assert_problem(response, 422)


@pytest.mark.parametrize("who", ["employer", "admin"])
async def test_owner_and_admin_update(client: httpx.AsyncClient, actors: Actors, who: str) -> None:
    assert actors.employer.company is not None
    response = await client.patch(
        f"{URL}/{actors.employer.company.id}",
        json={"description": "Now hiring", "website": None},
        headers=getattr(actors, who).headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "Now hiring"
    assert response.json()["name"] == "Acme Robotics"
    assert response.json()["owner_id"] == actors.employer.user.id


@pytest.mark.parametrize(
    "website",
    [
        "https://e.example/\r\nSet-Cookie: x=1",
        "https://e.example/\x07",
        'https://e.example/"onmouseover="x',
        "https://e.example/<script>",
        "https://e.example/a b",
        " https://e.example",
        # Within the length as sent, but not once percent-encoded for storage.
        "https://e.example/" + "é" * 1000,
    ],
)
async def test_a_website_with_characters_no_address_has_is_422(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, website: str
) -> None:
    before = await count(db)
    response = await client.post(
        URL, json={"name": "X", "website": website}, headers=actors.employer.headers
    )
    assert_problem(response, 422)
    assert await count(db) == before


async def test_a_website_is_stored_in_its_normal_form(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    body = {"name": "Y", "website": "HTTPS://Initech.Example/Careers?team=ops"}
    response = await client.post(URL, json=body, headers=actors.employer.headers)
    assert response.status_code == 201, response.text
    assert response.json()["website"] == "https://initech.example/Careers?team=ops"
