"""Interviews: proposed by the employer's side with an .ics invitation by mail, changed and
cancelled with the invitation's sequence raised, answered by the candidate."""

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import icalendar
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Application, ApplicationStatus, Interview, Job, Role
from tests.conftest import ClientFactory, Sent
from tests.factories import Actors, assert_problem, create_application, create_job
from tests.mailbox import text_of

API = "/api/v1"


def later(**delta: int) -> str:
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3, **delta)
    return moment.isoformat().replace("+00:00", "Z")


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "starts_at": later(),
        "minutes": 45,
        "location": "https://meet.example/abc",
        "note": "Bring questions.",
        **overrides,
    }


@pytest.fixture
async def application(db: AsyncSession, actors: Actors) -> Application:
    assert actors.employer.company is not None
    job: Job = await create_job(db, company=actors.employer.company, title="Loom Engineer")
    return await create_application(db, job=job, candidate=actors.candidate.user)


def invitation(mail: EmailMessage) -> tuple[str, icalendar.cal.Component]:
    """The mail's calendar part: its method, and its one event."""
    (part,) = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "interview.ics"
    calendar = icalendar.Calendar.from_ical(part.get_content())
    (event,) = calendar.walk("VEVENT")
    assert part.get_param("method") == str(calendar["METHOD"])
    return str(calendar["METHOD"]), event


async def interviews(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(Interview))).scalar_one()


async def test_an_invitation_then_its_change_then_its_cancellation_reach_the_calendar(
    mail_client: httpx.AsyncClient, sent: Sent, actors: Actors, application: Application
) -> None:
    starts = later()
    proposed = await mail_client.post(
        f"{API}/applications/{application.id}/interviews",
        json=body(starts_at=starts),
        headers=actors.employer.headers,
    )
    assert proposed.status_code == 201, proposed.text
    interview = proposed.json()
    assert (interview["state"], interview["sequence"]) == ("proposed", 0)
    (mail,) = await sent()
    assert mail["To"] == actors.candidate.user.email
    assert mail["Subject"] == "Interview for Loom Engineer at Acme Robotics"
    assert "https://meet.example/abc" in text_of(mail)
    method, event = invitation(mail)
    uid = str(event["UID"])
    assert method == "REQUEST"
    assert (event["SEQUENCE"], str(event["STATUS"])) == (0, "CONFIRMED")
    assert event.decoded("DTSTART") == datetime.fromisoformat(starts)
    assert event.decoded("DURATION") == timedelta(minutes=45)
    assert str(event["LOCATION"]) == "https://meet.example/abc"
    assert str(event["ATTENDEE"]) == f"mailto:{actors.candidate.user.email}"

    url = f"{API}/interviews/{interview['id']}"
    changed = await mail_client.patch(url, json={"minutes": 60}, headers=actors.employer.headers)
    assert (changed.json()["sequence"], changed.json()["minutes"]) == (1, 60)
    mails = await sent()
    assert mails[-1]["Subject"] == "Changed: interview for Loom Engineer at Acme Robotics"
    method, event = invitation(mails[-1])
    assert (method, str(event["UID"]), event["SEQUENCE"]) == ("REQUEST", uid, 1)

    cancelled = await mail_client.post(f"{url}/cancel", headers=actors.employer.headers)
    assert (cancelled.json()["state"], cancelled.json()["sequence"]) == ("cancelled", 2)
    mails = await sent()
    assert len(mails) == 3
    assert mails[-1]["Subject"] == "Cancelled: interview for Loom Engineer at Acme Robotics"
    method, event = invitation(mails[-1])
    assert (method, str(event["UID"]), event["SEQUENCE"]) == ("CANCEL", uid, 2)
    assert str(event["STATUS"]) == "CANCELLED"
    # Cancelled is final.
    assert_problem(await mail_client.post(f"{url}/cancel", headers=actors.employer.headers), 409)
    late = await mail_client.post(
        f"{url}/answer", json={"accept": True}, headers=actors.candidate.headers
    )
    assert_problem(late, 409)
    again = await mail_client.patch(url, json={"minutes": 30}, headers=actors.employer.headers)
    assert_problem(again, 409)
    # Both sides read what happened, in the timeline too.
    listed = await mail_client.get(
        f"{API}/applications/{application.id}/interviews", headers=actors.candidate.headers
    )
    assert [item["state"] for item in listed.json()["items"]] == ["cancelled"]
    timeline = await mail_client.get(
        f"{API}/applications/{application.id}/timeline", headers=actors.candidate.headers
    )
    details = [e["detail"] for e in timeline.json()["items"] if e["kind"] == "interview"]
    assert details == ["proposed", "changed", "cancelled"]


async def test_a_version_changed_before_it_was_mailed_is_mailed_once_as_changed(
    mail_client: httpx.AsyncClient, sent: Sent, actors: Actors, application: Application
) -> None:
    proposed = await mail_client.post(
        f"{API}/applications/{application.id}/interviews",
        json=body(),
        headers=actors.employer.headers,
    )
    await mail_client.patch(
        f"{API}/interviews/{proposed.json()['id']}",
        json={"location": "Room 4"},
        headers=actors.employer.headers,
    )
    (mail,) = await sent()
    _, event = invitation(mail)
    assert (event["SEQUENCE"], str(event["LOCATION"])) == (1, "Room 4")


async def test_the_candidate_answers_once(
    client: httpx.AsyncClient, actors: Actors, application: Application
) -> None:
    proposed = await client.post(
        f"{API}/applications/{application.id}/interviews",
        json=body(),
        headers=actors.employer.headers,
    )
    url = f"{API}/interviews/{proposed.json()['id']}/answer"
    assert_problem(
        await client.post(url, json={"accept": True}, headers=actors.employer.headers), 403
    )
    for who in ("other_employer", "other_candidate"):
        response = await client.post(
            url, json={"accept": True}, headers=getattr(actors, who).headers
        )
        assert_problem(response, 404)
    assert_problem(
        await client.post(url, json={"accept": "yes"}, headers=actors.candidate.headers), 422
    )
    answered = await client.post(url, json={"accept": False}, headers=actors.candidate.headers)
    assert answered.json()["state"] == "declined"
    assert_problem(
        await client.post(url, json={"accept": True}, headers=actors.candidate.headers), 409
    )
    # A change asks again.
    await client.patch(
        f"{API}/interviews/{proposed.json()['id']}",
        json={"starts_at": later(hours=2)},
        headers=actors.employer.headers,
    )
    again = await client.post(url, json={"accept": True}, headers=actors.candidate.headers)
    assert again.json()["state"] == "accepted"


@pytest.mark.parametrize(
    "change",
    [
        {"starts_at": "2020-01-01T10:00:00Z"},
        {"starts_at": "2031-05-01T10:00:00"},
        {"minutes": 10},
        {"minutes": 481},
        {"minutes": "45"},
        {"location": ""},
        {"location": "x" * 501},
        {"note": "x" * 2001},
        {"room": 4},
    ],
)
async def test_a_bad_interview_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    application: Application,
    change: dict[str, Any],
) -> None:
    response = await client.post(
        f"{API}/applications/{application.id}/interviews",
        json=body(**change),
        headers=actors.employer.headers,
    )
    assert_problem(response, 422)
    assert await interviews(db) == 0


async def test_only_the_employers_side_proposes_and_only_while_under_way(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, application: Application
) -> None:
    url = f"{API}/applications/{application.id}/interviews"
    assert_problem(await client.post(url, json=body(), headers=actors.candidate.headers), 403)
    for who in ("other_employer", "other_candidate"):
        assert_problem(
            await client.post(url, json=body(), headers=getattr(actors, who).headers), 404
        )
        assert_problem(await client.get(url, headers=getattr(actors, who).headers), 404)
    assert_problem(await client.post(url, json=body()), 401)
    application.status = ApplicationStatus.rejected
    await db.flush()
    assert_problem(await client.post(url, json=body(), headers=actors.employer.headers), 409)
    assert await interviews(db) == 0


async def test_an_employer_cannot_make_the_board_mail_a_candidate_often(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    actors: Actors,
    application: Application,
) -> None:
    url = f"{API}/applications/{application.id}/interviews"
    for _ in range(5):
        response = await mail_client.post(url, json=body(), headers=actors.employer.headers)
        assert response.status_code == 201
    refused = await mail_client.post(url, json=body(), headers=actors.employer.headers)
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) > 0
    assert await interviews(db) == 5
    assert len(await sent()) == 5


async def test_an_answer_and_a_cancellation_at_once(make_live_client: ClientFactory) -> None:
    from tests.test_races import REPEATS, live_job, live_user

    client = await make_live_client(rate_limits_enabled=False)
    _, employer = await live_user(client, Role.employer)
    for _ in range(REPEATS):
        job_id = await live_job(client, employer)
        _, candidate = await live_user(client, Role.candidate)
        applied = await client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=candidate)
        proposed = await client.post(
            f"{API}/applications/{applied.json()['id']}/interviews", json=body(), headers=employer
        )
        url = f"{API}/interviews/{proposed.json()['id']}"
        answered, cancelled = await asyncio.gather(
            client.post(f"{url}/answer", json={"accept": True}, headers=candidate),
            client.post(f"{url}/cancel", headers=employer),
        )
        assert cancelled.status_code == 200  # the employer may cancel an accepted one too
        listed = await client.get(
            f"{API}/applications/{applied.json()['id']}/interviews", headers=employer
        )
        (final,) = listed.json()["items"]
        assert final["state"] == "cancelled"
        if answered.status_code == 200:
            assert answered.json()["state"] == "accepted"
        else:
            assert answered.status_code == 409


async def test_a_change_sent_with_a_stale_etag_is_412_after_the_candidates_answer(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, application: Application
) -> None:
    proposed = await client.post(
        f"{API}/applications/{application.id}/interviews",
        json=body(),
        headers=actors.employer.headers,
    )
    assert proposed.status_code == 201, proposed.text
    tag = proposed.headers["ETag"]
    url = f"{API}/interviews/{proposed.json()['id']}"
    accepted = await client.post(
        f"{url}/answer", json={"accept": True}, headers=actors.candidate.headers
    )
    assert accepted.status_code == 200
    stale = await client.patch(
        url, json={"minutes": 60}, headers={**actors.employer.headers, "If-Match": tag}
    )
    assert_problem(stale, 412)
    unchanged = await interviews(db)
    assert unchanged == 1
    read = await client.get(
        f"{API}/applications/{application.id}/interviews", headers=actors.employer.headers
    )
    (shown,) = read.json()["items"]
    assert (shown["state"], shown["minutes"], shown["sequence"]) == ("accepted", 45, 0)
    # Without If-Match, the change goes through; its ETag guards the next one.
    changed = await client.patch(url, json={"minutes": 60}, headers=actors.employer.headers)
    assert changed.status_code == 200
    assert changed.json()["state"] == "proposed"
    again = await client.patch(
        url,
        json={"minutes": 30},
        headers={**actors.employer.headers, "If-Match": changed.headers["ETag"]},
    )
    assert again.status_code == 200, again.text
    assert again.json()["sequence"] == 2


@pytest.mark.parametrize(("who", "status"), [("employer", "rejected"), ("candidate", "withdrawn")])
async def test_a_final_decision_calls_off_the_interviews_to_come(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    actors: Actors,
    application: Application,
    who: str,
    status: str,
) -> None:
    url = f"{API}/applications/{application.id}/interviews"
    first = await mail_client.post(url, json=body(), headers=actors.employer.headers)
    second = await mail_client.post(
        url, json=body(starts_at=later(hours=5)), headers=actors.employer.headers
    )
    await mail_client.post(
        f"{API}/interviews/{second.json()['id']}/answer",
        json={"accept": True},
        headers=actors.candidate.headers,
    )
    assert len(await sent()) == 2  # the two invitations
    decided = await mail_client.patch(
        f"{API}/applications/{application.id}",
        json={"status": status},
        headers=getattr(actors, who).headers,
    )
    assert decided.status_code == 200, decided.text
    listed = await mail_client.get(url, headers=actors.employer.headers)
    assert [(i["state"], i["sequence"]) for i in listed.json()["items"]] == [
        ("cancelled", 1),
        ("cancelled", 1),
    ]
    mails = [m for m in await sent() if m["To"] == actors.candidate.user.email]
    cancellations = [m for m in mails if m["Subject"].startswith("Cancelled: interview")]
    assert len(cancellations) == 2
    assert {invitation(m)[0] for m in cancellations} == {"CANCEL"}
    timeline = await mail_client.get(
        f"{API}/applications/{application.id}/timeline", headers=actors.employer.headers
    )
    details = [e["detail"] for e in timeline.json()["items"] if e["kind"] == "interview"]
    assert details.count("cancelled") == 2
    assert first.status_code == 201
