"""Every employer route against every role in a company, and against a member of another
company: owners do everything, recruiters the jobs and applicants, viewers read, and
anyone else gets a 404 for what the public cannot see (a published job or a company is
public: changing another employer's is a 403, as before teams)."""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import JobStatus, MemberRole, Role
from backend.db.repository import members as members_repo
from tests.factories import (
    Actors,
    create_application,
    create_job,
    create_user,
    session_headers,
)

API = "/api/v1"
ROLES = ("owner", "recruiter", "viewer", "outsider")


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    # Status for owner, recruiter, viewer, outsider.
    expected: tuple[int, int, int, int]
    body: Any = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


CASES = [
    # The company
    Case("PATCH", "/companies/{company}", (200, 403, 403, 403), {"name": "Acme Two"}),
    Case("GET", "/companies/{company}/members", (200, 200, 200, 404)),
    Case("GET", "/companies/{company}/invitations", (200, 403, 403, 404)),
    Case(
        "POST",
        "/companies/{company}/invitations",
        (201, 403, 403, 404),
        {"email": "newcomer@example.com", "role": "viewer"},
    ),
    Case("GET", "/companies/{company}/activity", (200, 403, 403, 404)),
    Case("GET", "/companies/{company}/api-keys", (200, 403, 403, 404)),
    Case(
        "POST",
        "/companies/{company}/api-keys",
        (201, 403, 403, 404),
        {"name": "ATS", "scopes": ["jobs:read"]},
    ),
    Case("POST", "/companies/{company}/verification", (409, 403, 403, 403), {"email": "a@b.co"}),
    # Jobs
    Case(
        "POST",
        "/jobs",
        (201, 201, 403, 403),
        {
            "company_id": "{company}",
            "title": "Team Engineer",
            "description": "Made by a member.",
            "location": "Porto",
            "workplace": "remote",
            "employment_type": "full_time",
            "status": "draft",
        },
    ),
    Case("GET", "/jobs/{draft}", (200, 200, 200, 404)),
    Case("PATCH", "/jobs/{draft}", (200, 200, 403, 404), {"title": "Renamed"}),
    Case("DELETE", "/jobs/{draft}", (204, 204, 403, 404)),
    Case("PATCH", "/jobs/{published}", (200, 200, 403, 403), {"tags": ["team"]}),
    Case("GET", "/jobs/{draft}/stages", (200, 200, 200, 404)),
    Case("PUT", "/jobs/{draft}/questions", (200, 200, 403, 404), {"questions": []}),
    Case("GET", "/jobs/{draft}/review-settings", (200, 200, 200, 404)),
    Case("PUT", "/jobs/{draft}/review-settings", (200, 200, 403, 404), {"blind": True}),
    Case("GET", "/jobs/{draft}/revisions", (200, 200, 200, 404)),
    Case("GET", "/jobs/{draft}/decisions", (200, 200, 200, 404)),
    Case("GET", "/jobs/{draft}/comments", (200, 200, 200, 404)),
    Case("POST", "/jobs/{draft}/comments", (201, 201, 403, 404), {"body": "Is this fine?"}),
    Case("POST", "/jobs/{published}/open-confirmations", (200, 200, 403, 403)),
    Case(
        "PUT",
        "/companies/{company}/jobs/external/EXT-2",
        (201, 201, 403, 404),
        {
            "title": "Synced Engineer",
            "description": "From the ATS.",
            "location": "Porto",
            "workplace": "remote",
            "employment_type": "full_time",
        },
    ),
    Case("GET", "/companies/{company}/jobs/external/EXT-1", (200, 200, 200, 404)),
    Case("POST", "/companies/{company}/jobs/external/EXT-1/close", (200, 200, 403, 404)),
    # Applicants
    Case("GET", "/jobs/{published}/applications", (200, 200, 200, 404)),
    Case("GET", "/jobs/{published}/applications.csv", (200, 200, 200, 404)),
    Case(
        "POST",
        "/jobs/{published}/applications/status",
        (200, 200, 403, 404),
        {"application_ids": ["{application}"], "status": "reviewing"},
    ),
    Case("GET", "/applications/{application}", (200, 200, 200, 404)),
    Case("PATCH", "/applications/{application}", (200, 200, 403, 404), {"status": "reviewing"}),
    Case("GET", "/applications/{application}/timeline", (200, 200, 200, 404)),
    Case("POST", "/applications/{application}/notes", (201, 201, 403, 404), {"note": "Strong."}),
    Case("GET", "/applications/{application}/answers", (200, 200, 200, 404)),
    Case("GET", "/applications/{application}/interviews", (200, 200, 200, 404)),
    Case(
        "POST",
        "/applications/{application}/rejection-preview",
        (200, 200, 403, 404),
        {"template": "standard"},
    ),
]


@dataclass
class World:
    ids: dict[str, int]
    headers: dict[str, dict[str, str]]


@pytest.fixture
async def world(db: AsyncSession, app: FastAPI, actors: Actors, company: Any) -> World:
    headers = {"owner": actors.employer.headers, "outsider": actors.other_employer.headers}
    for role in (MemberRole.recruiter, MemberRole.viewer):
        user = await create_user(db, app, role=Role.employer)
        await members_repo.add(db, company_id=company.id, user_id=user.id, role=role)
        headers[role.value] = await session_headers(db, app, user)
    draft = await create_job(db, company=company, status=JobStatus.draft)
    published = await create_job(db, company=company, external_id="EXT-1")
    application = await create_application(db, job=published, candidate=actors.candidate.user)
    ids = {
        "company": company.id,
        "draft": draft.id,
        "published": published.id,
        "application": application.id,
    }
    return World(ids=ids, headers=headers)


def _filled(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str):
        for name, number in ids.items():
            if value == "{" + name + "}":
                return number
        return value.format(**ids) if "{" in value else value
    if isinstance(value, list):
        return [_filled(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: _filled(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_each_employer_route_honours_the_callers_role(
    client: httpx.AsyncClient, world: World, case: Case, role: str
) -> None:
    expected = case.expected[ROLES.index(role)]
    response = await client.request(
        case.method,
        API + case.path.format(**world.ids),
        json=_filled(case.body, world.ids),
        headers=world.headers[role],
    )
    assert response.status_code == expected, response.text
    if expected == 404:
        # Never a hint that the thing exists: the answer of an id that names nothing.
        assert "another" not in response.text


@pytest.mark.parametrize("role", ["recruiter", "viewer"])
async def test_members_lists_hold_their_companys_jobs_and_applicants(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    headers = world.headers[role]
    jobs = (await client.get(f"{API}/users/me/jobs", headers=headers)).json()["items"]
    assert {job["id"] for job in jobs} == {world.ids["draft"], world.ids["published"]}
    companies = (await client.get(f"{API}/users/me/companies", headers=headers)).json()["items"]
    assert [company["id"] for company in companies] == [world.ids["company"]]
    applicants = (await client.get(f"{API}/users/me/applicants", headers=headers)).json()
    assert [a["id"] for a in applicants["items"]] == [world.ids["application"]]
    outsider = world.headers["outsider"]
    jobs = (await client.get(f"{API}/users/me/jobs", headers=outsider)).json()["items"]
    assert world.ids["draft"] not in {job["id"] for job in jobs}
