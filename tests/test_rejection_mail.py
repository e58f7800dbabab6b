"""A rejection mailed in one of the board's templates, chosen and previewed by the
employer: sent once, instead of the batched news, only to a candidate who takes such mail."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Application, Job, User
from backend.services import throttle
from tests.conftest import Sent
from tests.factories import Actors, assert_problem, create_application, create_job, create_user
from tests.mailbox import text_of
from tests.tasks import run_queued

API = "/api/v1"
MESSAGE = "Thank you for your time.\n<script>alert(1)</script>"


@pytest.fixture
async def job(db: AsyncSession, actors: Actors) -> Job:
    assert actors.employer.company is not None
    return await create_job(db, company=actors.employer.company, title="Loom Engineer")


@pytest.fixture
async def application(db: AsyncSession, actors: Actors, job: Job) -> Application:
    return await create_application(db, job=job, candidate=actors.candidate.user)


def html_of(mail: Any) -> str:
    body = mail.get_body(preferencelist=("html",))
    content: str = body.get_content()
    return content


async def status_of(db: AsyncSession, application: Application) -> str:
    statement = select(Application.status).where(Application.id == application.id)
    return (await db.execute(statement)).scalar_one().value


async def test_the_preview_is_the_mail_and_sends_nothing(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    actors: Actors,
    application: Application,
) -> None:
    url = f"{API}/applications/{application.id}/rejection-preview"
    body = {"template": "after_interview", "message": MESSAGE}
    response = await mail_client.post(url, json=body, headers=actors.employer.headers)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["subject"] == "Your application for Loom Engineer at Acme Robotics"
    assert preview["text"].startswith(f"Hello {actors.candidate.user.full_name},")
    assert "interviews for Loom Engineer" in preview["text"]
    assert MESSAGE in preview["text"]
    assert "<script>" not in preview["html"]
    assert "&lt;script&gt;" in preview["html"]
    for template in ("standard", "position_filled"):
        other = await mail_client.post(
            url, json={"template": template}, headers=actors.employer.headers
        )
        assert other.status_code == 200
        assert other.json()["text"] != preview["text"]
    assert_problem(await mail_client.post(url, json=body, headers=actors.candidate.headers), 403)
    for who in ("other_employer", "other_candidate"):
        headers = getattr(actors, who).headers
        assert_problem(await mail_client.post(url, json=body, headers=headers), 404)
    assert_problem(
        await mail_client.post(url, json={"template": "rude"}, headers=actors.employer.headers), 422
    )
    assert_problem(
        await mail_client.post(
            url,
            json={"template": "standard", "message": "x" * 2001},
            headers=actors.employer.headers,
        ),
        422,
    )
    assert await sent() == []
    assert await status_of(db, application) == "submitted"


async def test_a_blind_pass_hides_the_name_in_the_preview_too(
    client: httpx.AsyncClient, actors: Actors, job: Job, application: Application
) -> None:
    headers = actors.employer.headers
    blind = await client.put(
        f"{API}/jobs/{job.id}/review-settings", json={"blind": True}, headers=headers
    )
    assert blind.status_code == 200
    response = await client.post(
        f"{API}/applications/{application.id}/rejection-preview",
        json={"template": "standard"},
        headers=headers,
    )
    preview = response.json()
    assert actors.candidate.user.full_name not in preview["text"] + preview["html"]
    assert f"Hello Candidate {application.id}," in preview["text"]


async def test_a_rejection_with_a_template_is_mailed_once_instead_of_the_news(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    actors: Actors,
    application: Application,
) -> None:
    response = await mail_client.patch(
        f"{API}/applications/{application.id}",
        json={
            "status": "rejected",
            "reason": "not_a_fit",
            "mail": {"template": "standard", "message": MESSAGE},
        },
        headers=actors.employer.headers,
    )
    assert response.status_code == 200, response.text
    (mail,) = await sent()
    assert mail["To"] == actors.candidate.user.email
    assert mail["Subject"] == "Your application for Loom Engineer at Acme Robotics"
    text = text_of(mail).replace("\r\n", "\n")
    assert "decided not to take it further" in text
    assert MESSAGE in text
    assert "not_a_fit" not in text  # the reason is the employer's
    assert "&lt;script&gt;" in html_of(mail)
    assert "<script>" not in html_of(mail)
    assert mail["List-Unsubscribe"] is not None
    # Run again, nothing more goes: no second copy, no batched news of the same rejection.
    await run_queued(mail_client, db)
    assert len(await sent()) == 1
    timeline = await mail_client.get(
        f"{API}/applications/{application.id}/timeline", headers=actors.employer.headers
    )
    (moved,) = [e for e in timeline.json()["items"] if e["kind"] == "moved"]
    assert (moved["detail"], moved["note"]) == ("standard", MESSAGE)
    theirs = await mail_client.get(
        f"{API}/applications/{application.id}/timeline", headers=actors.candidate.headers
    )
    (seen,) = [e for e in theirs.json()["items"] if e["kind"] == "moved"]
    assert (seen["detail"], seen["note"], seen["reason"]) == (None, None, None)


async def test_a_candidate_who_turned_the_news_off_gets_no_rejection_mail(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    actors: Actors,
    application: Application,
) -> None:
    await db.execute(
        update(User)
        .where(User.id == actors.candidate.user.id)
        .values(notify_application_status=False)
    )
    response = await mail_client.patch(
        f"{API}/applications/{application.id}",
        json={"status": "rejected", "mail": {"template": "position_filled"}},
        headers=actors.employer.headers,
    )
    assert response.status_code == 200, response.text
    assert await sent() == []


async def test_a_bulk_rejection_mails_each_candidate_once(
    mail_client: httpx.AsyncClient, sent: Sent, db: AsyncSession, app: Any, actors: Actors, job: Job
) -> None:
    candidates = [await create_user(db, app) for _ in range(3)]
    ids = [(await create_application(db, job=job, candidate=c)).id for c in candidates]
    response = await mail_client.post(
        f"{API}/jobs/{job.id}/applications/status",
        json={
            "application_ids": ids,
            "status": "rejected",
            "mail": {"template": "position_filled"},
        },
        headers=actors.employer.headers,
    )
    assert response.status_code == 200, response.text
    mails = await sent()
    assert sorted(m["To"] for m in mails) == sorted(c.email for c in candidates)
    assert all("The position has now been" in text_of(m) for m in mails)


async def test_a_candidate_mailed_too_often_is_429_and_nothing_changes(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: Any,
    actors: Actors,
    job: Job,
    application: Application,
) -> None:
    for _ in range(throttle.MAIL_TO_ADDRESS_PER_HOUR):
        assert await throttle.take_mail_place(db, email=actors.candidate.user.email) is None
    other = await create_application(db, job=job, candidate=await create_user(db, app))
    body = {"status": "rejected", "mail": {"template": "standard"}}
    single = await mail_client.patch(
        f"{API}/applications/{application.id}", json=body, headers=actors.employer.headers
    )
    assert_problem(single, 429)
    assert int(single.headers["Retry-After"]) > 0
    bulk = await mail_client.post(
        f"{API}/jobs/{job.id}/applications/status",
        json={"application_ids": [other.id, application.id], **body},
        headers=actors.employer.headers,
    )
    assert_problem(bulk, 429)
    assert await status_of(db, application) == "submitted"
    assert await status_of(db, other) == "submitted"
    assert await sent() == []
    # Without a mail, the rejection goes through, told in the batched news as ever.
    plain = await mail_client.patch(
        f"{API}/applications/{application.id}",
        json={"status": "rejected"},
        headers=actors.employer.headers,
    )
    assert plain.status_code == 200
    rejected = select(func.count()).where(Application.status == "rejected")
    assert (await db.execute(rejected)).scalar_one() == 1
