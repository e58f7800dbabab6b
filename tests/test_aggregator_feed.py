"""The feed of open jobs for job aggregators (Indeed's XML feed format): what it holds,
valid against its schema, escaped, per company, and streamed batch by batch."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, EmploymentType, Job, JobStatus, Workplace
from backend.services import jobs as jobs_service
from backend.services.jobs import AGGREGATOR_BATCH
from tests.factories import Actors, assert_problem, create_job

API = "/api/v1"
SCHEMA = etree.XMLSchema(
    etree.parse(
        str(Path(__file__).parent.parent / "backend" / "schemas" / "xsd" / "indeed-jobs.xsd")
    )
)


def valid(body: bytes) -> Any:
    """The feed's document, once its schema has passed it."""
    document = etree.fromstring(body)
    SCHEMA.assertValid(document)
    return document


def jobs_in(document: Any) -> list[dict[str, str]]:
    return [{child.tag: child.text or "" for child in job} for job in document.iter("job")]


@pytest.fixture
def companies(actors: Actors) -> tuple[Company, Company]:
    assert actors.employer.company is not None
    assert actors.other_employer.company is not None
    return actors.employer.company, actors.other_employer.company


async def test_the_feed_holds_every_open_job_and_nothing_else(
    client: httpx.AsyncClient, db: AsyncSession, companies: tuple[Company, Company]
) -> None:
    mine, theirs = companies
    hostile = await create_job(
        db,
        company=mine,
        title="C & C++ <Engineer> ]]>",
        description="Build **compilers** <script>alert(1)</script>",
        salary_min=60000,
        salary_max=80000,
        salary_currency="EUR",
        tags=["c", "compilers"],
        workplace=Workplace.hybrid,
        employment_type=EmploymentType.contract,
        expires_at=datetime.now(UTC) + timedelta(days=20),
    )
    plain = await create_job(db, company=theirs, title="Plain", workplace=Workplace.onsite)
    await create_job(db, company=mine, title="Draft", status=JobStatus.draft)
    await create_job(db, company=mine, title="Held", status=JobStatus.pending)
    await create_job(
        db, company=mine, title="Expired", expires_at=datetime.now(UTC) - timedelta(days=1)
    )
    response = await client.get(f"{API}/jobs/indeed.xml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=3600"
    document = valid(response.content)
    frontend = client.app.state.settings.frontend_url  # type: ignore[attr-defined]
    assert document.findtext("publisherurl") == frontend
    listed = jobs_in(document)
    assert [job["referencenumber"] for job in listed] == [str(hostile.id), str(plain.id)]
    first = listed[0]
    assert first["title"] == "C & C++ <Engineer> ]]>"  # escaped, and read back as sent
    assert first["url"] == f"{frontend.rstrip('/')}/jobs/{hostile.id}"
    assert first["company"] == mine.name
    assert first["salary"] == "60000 - 80000 EUR"
    assert (first["jobtype"], first["remotetype"]) == ("contract", "Hybrid remote")
    assert first["category"] == "c, compilers"
    assert "<strong>compilers</strong>" in first["description"]
    assert "<script>" not in first["description"]  # the sanitised HTML of the description
    assert "remotetype" not in listed[1]
    assert b"<script>" not in response.content


async def test_a_companys_feed_holds_its_own_open_jobs(
    client: httpx.AsyncClient, db: AsyncSession, companies: tuple[Company, Company]
) -> None:
    mine, theirs = companies
    own = await create_job(db, company=mine, title="Mine")
    await create_job(db, company=theirs, title="Theirs")
    response = await client.get(f"{API}/companies/{mine.id}/jobs/indeed.xml")
    assert response.status_code == 200
    assert [job["referencenumber"] for job in jobs_in(valid(response.content))] == [str(own.id)]
    assert_problem(await client.get(f"{API}/companies/999999999/jobs/indeed.xml"), 404)
    empty = await client.get(f"{API}/companies/{theirs.id}/jobs/indeed.xml")
    assert len(jobs_in(valid(empty.content))) == 1


async def test_a_long_feed_streams_batch_by_batch_and_lists_each_job_once(
    client: httpx.AsyncClient, db: AsyncSession, companies: tuple[Company, Company]
) -> None:
    mine, _ = companies
    total = 2 * AGGREGATOR_BATCH + 200  # a tenth of them drafts: 2 batches and 80 jobs
    now = datetime.now(UTC)
    await db.execute(
        insert(Job),
        [
            {
                "company_id": mine.id,
                "title": f"Job {number}",
                "description": "Work.",
                "location": "Porto",
                "workplace": Workplace.remote,
                "employment_type": EmploymentType.full_time,
                "tags": [],
                "status": JobStatus.published if number % 10 else JobStatus.draft,
                "published_at": now,
            }
            for number in range(total)
        ],
    )
    open_jobs = total - len(range(0, total, 10))
    response = await client.get(f"{API}/jobs/indeed.xml")
    listed = jobs_in(valid(response.content))
    numbers = [int(job["referencenumber"]) for job in listed]
    assert len(numbers) == open_jobs
    assert numbers == sorted(set(numbers))
    # What the response streams: a piece a batch read (each in a transaction of its own),
    # the last with the document's end; together, the document above.
    app = client.app  # type: ignore[attr-defined]
    pieces = [
        piece
        async for piece in jobs_service.aggregator_feed(app.state.sessionmaker, app.state.settings)
    ]
    assert len(pieces) == 3
    assert pieces[-1].endswith(b"</source>")
    assert len(jobs_in(valid(b"".join(pieces)))) == open_jobs
