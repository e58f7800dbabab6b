"""Saved searches (CRUD, limits, the schema shared with GET /jobs) and the alerts that mail
their new jobs: exactly once per job and saved search, none skipped, catching up."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, Job, SavedSearch
from backend.services import alerts
from tests.conftest import ClientFactory, Sent
from tests.factories import Actors, assert_problem, job_body
from tests.mailbox import messages, text_of
from tests.tasks import run_queued, waiting

API = "/api/v1"
URL = f"{API}/users/me/saved-searches"
SEARCH = {"q": "python", "workplace": "remote", "tag": ["django"], "sort": "newest"}


@pytest.fixture
async def mail_client(make_client: ClientFactory, tmp_path: Path) -> httpx.AsyncClient:
    return await make_client(
        mail_backend="file", mail_file_dir=tmp_path, frontend_url="https://jobs.example"
    )


def body(**overrides: Any) -> dict[str, Any]:
    return {"name": "Remote Django", "search": SEARCH, "frequency": "daily", **overrides}


# --- the saved searches themselves


async def test_create_read_list_update_delete(
    mail_client: httpx.AsyncClient, actors: Actors
) -> None:
    headers = actors.candidate.headers
    before = datetime.now(UTC)
    created = await mail_client.post(URL, json=body(), headers=headers)
    assert created.status_code == 201, created.text
    saved = created.json()
    assert set(saved) == {
        "id", "name", "search", "frequency", "alerted_through", "next_alert_at",
        "created_at", "updated_at",
    }  # fmt: skip
    assert saved["search"] == {
        "q": "python",
        "location": None,
        "workplace": "remote",
        "employment_type": None,
        "company_id": None,
        "tag": ["django"],
        "salary_min": None,
        "posted_after": None,
        "sort": "newest",
    }
    alerted_through = datetime.fromisoformat(saved["alerted_through"])
    assert before - timedelta(seconds=5) < alerted_through <= datetime.now(UTC)
    assert datetime.fromisoformat(saved["next_alert_at"]) - alerted_through == timedelta(days=1)

    one = f"{URL}/{saved['id']}"
    assert (await mail_client.get(one, headers=headers)).json() == saved
    listed = (await mail_client.get(URL, headers=headers)).json()
    assert listed == {"items": [saved], "next_cursor": None}

    changed = await mail_client.patch(
        one, json={"name": "Weekly", "frequency": "weekly"}, headers=headers
    )
    assert changed.status_code == 200
    assert changed.json()["name"] == "Weekly"
    assert changed.json()["search"] == saved["search"]
    next_alert = datetime.fromisoformat(changed.json()["next_alert_at"])
    assert next_alert - alerted_through == timedelta(days=7)

    assert (await mail_client.delete(one, headers=headers)).status_code == 204
    assert_problem(await mail_client.get(one, headers=headers), 404)
    assert (await mail_client.get(URL, headers=headers)).json()["items"] == []


async def test_someone_elses_saved_search_is_404(
    mail_client: httpx.AsyncClient, actors: Actors
) -> None:
    created = await mail_client.post(URL, json=body(), headers=actors.candidate.headers)
    one = f"{URL}/{created.json()['id']}"
    other = actors.other_candidate.headers
    assert_problem(await mail_client.get(one, headers=other), 404)
    assert_problem(await mail_client.patch(one, json={"name": "Mine"}, headers=other), 404)
    assert_problem(await mail_client.delete(one, headers=other), 404)
    assert (await mail_client.get(URL, headers=other)).json()["items"] == []
    assert (await mail_client.get(one, headers=actors.candidate.headers)).json()["name"] == (
        "Remote Django"
    )


async def test_saved_searches_need_a_sign_in(mail_client: httpx.AsyncClient) -> None:
    assert_problem(await mail_client.get(URL), 401)
    assert_problem(await mail_client.post(URL, json=body()), 401)


@pytest.mark.parametrize(
    "payload",
    [
        body(name=""),
        body(name="x" * 101),
        body(frequency="hourly"),
        body(search={**SEARCH, "page": 2}),
        body(search={"q": "x" * 201}),
        body(search={"salary_min": -1}),
        body(search={"workplace": "moon"}),
        body(search={"tag": ["!bang"]}),
        body(search={"tag": [f"t{i}" for i in range(21)]}),
        body(search={"posted_after": "yesterday"}),
        body(search={"sort": "random"}),
        body(search={"company_id": 0}),
        {"name": "No search"},
        body(extra=True),
    ],
)
async def test_a_bad_saved_search_is_422_and_saves_nothing(
    mail_client: httpx.AsyncClient, actors: Actors, payload: dict[str, Any]
) -> None:
    headers = actors.candidate.headers
    assert_problem(await mail_client.post(URL, json=payload), 401)
    assert_problem(await mail_client.post(URL, json=payload, headers=headers), 422)
    assert (await mail_client.get(URL, headers=headers)).json()["items"] == []


async def test_a_saved_search_takes_exactly_what_get_jobs_takes(
    mail_client: httpx.AsyncClient,
) -> None:
    """One schema for both: the list's query parameters are the saved search's fields."""
    document = (await mail_client.get("/openapi.json")).json()
    list_parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in document["paths"]["/api/v1/jobs"]["get"]["parameters"]
        if parameter["name"] not in ("limit", "cursor")
    }
    search = document["components"]["schemas"]["JobSearch"]["properties"]
    assert set(list_parameters) == set(search)

    def untitled(schema: Any) -> Any:
        if isinstance(schema, dict):
            return {key: untitled(value) for key, value in schema.items() if key != "title"}
        if isinstance(schema, list):
            return [untitled(item) for item in schema]
        # The document writes a bound once as an integer, once as a float.
        if isinstance(schema, int | float) and not isinstance(schema, bool):
            return float(schema)
        return schema

    for name, schema in list_parameters.items():
        assert untitled(schema) == untitled(search[name]), name


async def test_at_most_twenty_a_user(mail_client: httpx.AsyncClient, actors: Actors) -> None:
    headers = actors.candidate.headers
    for number in range(20):
        created = await mail_client.post(URL, json=body(name=f"S{number}"), headers=headers)
        assert created.status_code == 201
    assert_problem(await mail_client.post(URL, json=body(name="S20"), headers=headers), 409)
    # Another user is not counted against this one.
    assert (
        await mail_client.post(URL, json=body(), headers=actors.other_candidate.headers)
    ).status_code == 201


async def test_pages_of_saved_searches_add_up_to_one_page(
    mail_client: httpx.AsyncClient, actors: Actors
) -> None:
    headers = actors.candidate.headers
    for number in range(7):
        await mail_client.post(URL, json=body(name=f"S{number}"), headers=headers)
    whole = (await mail_client.get(URL, params={"limit": 100}, headers=headers)).json()
    ids, cursor = [], None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await mail_client.get(URL, params=params, headers=headers)).json()
        ids += [saved["id"] for saved in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert ids == [saved["id"] for saved in whole["items"]]
    assert len(ids) == 7
    assert ids == sorted(ids, reverse=True)


async def test_parallel_saves_stop_at_exactly_twenty(
    make_live_client: ClientFactory,
) -> None:
    from tests.test_races import live_user

    client = await make_live_client(rate_limits_enabled=False)
    from backend.db.models import Role

    _, headers = await live_user(client, Role.candidate)
    for number in range(17):
        await client.post(URL, json=body(name=f"S{number}"), headers=headers)
    responses = await asyncio.gather(
        *(client.post(URL, json=body(name=f"P{n}"), headers=headers) for n in range(10))
    )
    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 7
    listed = await client.get(URL, params={"limit": 100}, headers=headers)
    assert len(listed.json()["items"]) == 20


# --- alerts


async def publish(
    client: httpx.AsyncClient, actors: Actors, company: Company, db: AsyncSession, **job: Any
) -> int:
    """A published job, its publication moved to `published_at` if given."""
    published_at = job.pop("published_at", None)
    response = await client.post(
        f"{API}/jobs",
        json=job_body(company.id, status="published", **job),
        headers=actors.employer.headers,
    )
    assert response.status_code == 201, response.text
    job_id: int = response.json()["id"]
    if published_at is not None:
        await db.execute(update(Job).where(Job.id == job_id).values(published_at=published_at))
    return job_id


async def make_due(
    db: AsyncSession, saved_id: int, *, alerted_through: datetime, due: datetime
) -> None:
    await db.execute(
        update(SavedSearch)
        .where(SavedSearch.id == saved_id)
        .values(alerted_through=alerted_through, next_alert_at=due)
    )


async def run_alerts(app: FastAPI, client: httpx.AsyncClient, db: AsyncSession) -> int:
    """What the periodic task does, then the alert tasks it asked for."""
    application: FastAPI = client.app  # type: ignore[attr-defined]
    asked = await alerts.schedule_due(application.state.sessionmaker)
    await run_queued(client, db)
    return asked


async def test_an_alert_mails_the_matching_jobs_of_its_window_once(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    start, due = now - timedelta(days=1, hours=1), now - timedelta(hours=1)
    created = await mail_client.post(URL, json=body(), headers=actors.candidate.headers)
    saved_id = created.json()["id"]
    await make_due(db, saved_id, alerted_through=start, due=due)
    remote = {"title": "Python Engineer", "workplace": "remote", "tags": ["django"]}
    inside = await publish(
        mail_client, actors, company, db, published_at=now - timedelta(hours=5), **remote
    )
    await publish(
        mail_client, actors, company, db, published_at=start - timedelta(minutes=1), **remote
    )
    await publish(
        mail_client, actors, company, db, published_at=due + timedelta(minutes=1), **remote
    )
    await publish(
        mail_client,
        actors,
        company,
        db,
        published_at=now - timedelta(hours=5),
        title="Python Engineer",
        workplace="onsite",
        tags=["django"],
    )
    await publish(
        mail_client,
        actors,
        company,
        db,
        published_at=now - timedelta(hours=5),
        title="Rust Engineer",
        workplace="remote",
        tags=["django"],
    )
    await sent()  # the verification and other mail so far: none for this search
    before = len(messages(tmp_path))

    assert await run_alerts(app, mail_client, db) == 1
    mails = messages(tmp_path)[before:]
    (mail,) = mails
    assert mail["To"] == actors.candidate.user.email
    assert mail["Subject"] == '1 new job for "Remote Django"'
    text = text_of(mail)
    assert f"https://jobs.example/jobs/{inside}" in text
    assert text.count("https://jobs.example/jobs/") == 1
    assert "more" not in text
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The window moved on: nothing is due, and running again sends nothing.
    saved = (await mail_client.get(f"{URL}/{saved_id}", headers=actors.candidate.headers)).json()
    assert datetime.fromisoformat(saved["alerted_through"]) == due
    assert datetime.fromisoformat(saved["next_alert_at"]) == due + timedelta(days=1)
    assert await run_alerts(app, mail_client, db) == 0
    assert len(messages(tmp_path)) == before + 1


async def test_the_next_window_starts_where_the_last_ended(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    created = await mail_client.post(
        URL, json=body(search={"q": "engineer"}), headers=actors.candidate.headers
    )
    saved_id = created.json()["id"]
    boundary = now - timedelta(days=1)
    await make_due(db, saved_id, alerted_through=now - timedelta(days=2), due=boundary)
    first = await publish(
        mail_client,
        actors,
        company,
        db,
        title="Engineer A",
        published_at=boundary - timedelta(microseconds=1),
    )
    second = await publish(
        mail_client, actors, company, db, title="Engineer B", published_at=boundary
    )
    await sent()
    before = len(messages(tmp_path))
    await run_alerts(app, mail_client, db)
    # Due again a day later: make it due now and run again.
    await make_due(db, saved_id, alerted_through=boundary, due=now - timedelta(minutes=10))
    await run_alerts(app, mail_client, db)
    first_mail, second_mail = messages(tmp_path)[before:]
    assert f"/jobs/{first}" in text_of(first_mail)
    assert f"/jobs/{second}" not in text_of(first_mail)
    assert f"/jobs/{second}" in text_of(second_mail)
    assert f"/jobs/{first}" not in text_of(second_mail)


async def test_a_missed_week_is_caught_up_in_one_mail(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    created = await mail_client.post(
        URL, json=body(search={"q": "engineer"}), headers=actors.candidate.headers
    )
    saved_id = created.json()["id"]
    first_due = now - timedelta(days=6, hours=12)
    await make_due(db, saved_id, alerted_through=first_due - timedelta(days=1), due=first_due)
    ids = [
        await publish(
            mail_client,
            actors,
            company,
            db,
            title=f"Engineer {day}",
            published_at=now - timedelta(days=day, hours=13),
        )
        for day in range(7)
    ]
    await sent()
    before = len(messages(tmp_path))
    await run_alerts(app, mail_client, db)
    (mail,) = messages(tmp_path)[before:]
    # Every job published up to the last due time, which is 12 h ago: all but today's.
    for job_id in ids:
        assert f"/jobs/{job_id}" in text_of(mail)
    saved = (await mail_client.get(f"{URL}/{saved_id}", headers=actors.candidate.headers)).json()
    last_due = datetime.fromisoformat(saved["alerted_through"])
    assert last_due == first_due + timedelta(days=6)
    assert datetime.fromisoformat(saved["next_alert_at"]) > now


async def test_alerts_matched_together_find_what_the_search_finds_in_each_window(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    """Searches of every shape, and windows of different lengths, in one batch: each mail
    lists exactly what GET /jobs finds for its search among the jobs of its own window."""
    now = datetime.now(UTC)
    jobs: list[tuple[dict[str, Any], int]] = [
        ({"title": "Python Engineer", "workplace": "remote", "tags": ["django"]}, 2),
        ({"title": "Python Engineer", "workplace": "onsite", "location": "Porto"}, 3),
        ({"title": "Rust Engineer", "salary_min": 50_000, "salary_max": 90_000}, 4),
        ({"title": "Barista", "employment_type": "part_time", "location": "Porto"}, 5),
        ({"title": "Data Engineer", "tags": ["django", "sql"], "salary_max": 40_000}, 6),
        # Three days old: in the long window only.
        ({"title": "Python Tutor", "workplace": "remote", "location": "Porto"}, 72),
        # Older than every window.
        ({"title": "Python Engineer", "workplace": "remote", "tags": ["django"]}, 200),
    ]
    published: dict[int, int] = {}
    for fields, hours in jobs:
        job_id = await publish(
            mail_client,
            actors,
            company,
            db,
            published_at=now - timedelta(hours=hours),
            **fields,
        )
        published[job_id] = hours
    searches: dict[str, dict[str, Any]] = {
        "words": {"q": "python"},
        "words-and-place": {"q": "python", "workplace": "remote"},
        "a-tag": {"tag": ["django"]},
        "a-city": {"location": "porto"},
        "pay": {"salary_min": 60_000},
        "not-rust": {"q": "engineer -rust"},
        "part-time": {"employment_type": "part_time"},
        "everything": {},
        "nothing": {"q": "zzzzqqq"},
    }
    windows: dict[str, int] = {}
    for name, search in searches.items():
        for hours_back in (30, 100):
            saved_name = f"{name} {hours_back}h"
            created = await mail_client.post(
                URL, json=body(name=saved_name, search=search), headers=actors.candidate.headers
            )
            assert created.status_code == 201, created.text
            await make_due(
                db,
                created.json()["id"],
                alerted_through=now - timedelta(hours=hours_back),
                due=now - timedelta(minutes=5),
            )
            windows[saved_name] = hours_back
    await sent()
    before = len(messages(tmp_path))
    assert await run_alerts(app, mail_client, db) == len(windows)
    mailed: dict[str, set[int]] = {}
    for mail in messages(tmp_path)[before:]:
        name = mail["Subject"].split('"')[1]
        mailed[name] = {
            int(part.split()[0]) for part in text_of(mail).split("https://jobs.example/jobs/")[1:]
        }
    expected = {}
    for saved_name, hours_back in windows.items():
        search = searches[saved_name.rsplit(" ", 1)[0]]
        found = await mail_client.get(f"{API}/jobs", params={**search, "limit": 100})
        assert found.status_code == 200, found.text
        ids = {item["id"] for item in found.json()["items"] if published[item["id"]] < hours_back}
        if ids:
            expected[saved_name] = ids
    assert mailed == expected
    assert len(expected) > len(windows) // 2  # most searches found something to mail


async def test_a_mail_written_before_its_owner_turned_alerts_off_or_signed_out_is_not_sent(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    company: Company,
) -> None:
    """A batch writes its mails first and sends each in a transaction of its own: the
    claim there finds the owner as the mail was written, or sends nothing."""
    now = datetime.now(UTC)
    created = await mail_client.post(URL, json=body(search={}), headers=actors.candidate.headers)
    saved_id = created.json()["id"]
    await make_due(
        db, saved_id, alerted_through=now - timedelta(days=1), due=now - timedelta(minutes=5)
    )
    await publish(mail_client, actors, company, db, published_at=now - timedelta(hours=2))
    application: FastAPI = mail_client.app  # type: ignore[attr-defined]
    settings = application.state.settings
    headers = actors.candidate.headers

    async def prepared() -> alerts.Alert:
        async with application.state.sessionmaker() as session, session.begin():
            (alert,) = await alerts.due_alerts(session, settings, saved_search_ids=[saved_id])
        return alert

    async def claimed(alert: alerts.Alert) -> bool:
        # Asked in a transaction rolled back: the window stays where it was.
        async with application.state.sessionmaker() as session:
            moved = await alerts.claim(session, alert=alert)
            await session.rollback()
        return moved

    alert = await prepared()
    off = await mail_client.patch(
        f"{API}/users/me/notifications", json={"job_alerts": False}, headers=headers
    )
    assert off.status_code == 200, off.text
    assert not await claimed(alert)
    on = await mail_client.patch(
        f"{API}/users/me/notifications", json={"job_alerts": True}, headers=headers
    )
    assert on.status_code == 200, on.text
    assert await claimed(alert)
    # A security event since the mail was written (its links would be dead): not sent.
    assert (await mail_client.post(f"{API}/auth/logout-all", headers=headers)).status_code == 204
    assert not await claimed(alert)


async def test_an_alert_lists_twenty_and_counts_the_rest(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    created = await mail_client.post(URL, json=body(search={}), headers=actors.candidate.headers)
    saved_id = created.json()["id"]
    await make_due(
        db, saved_id, alerted_through=now - timedelta(days=1), due=now - timedelta(minutes=5)
    )
    for number in range(23):
        await publish(
            mail_client,
            actors,
            company,
            db,
            title=f"Job {number}",
            published_at=now - timedelta(hours=2, minutes=number),
        )
    await sent()
    before = len(messages(tmp_path))
    await run_alerts(app, mail_client, db)
    (mail,) = messages(tmp_path)[before:]
    assert mail["Subject"] == '23 new jobs for "Remote Django"'
    text = text_of(mail)
    assert text.count("https://jobs.example/jobs/") == 20
    # Newest first: the three oldest are the ones counted, not listed.
    assert all(f"Job {number} at" in text for number in range(20))
    assert not any(f"Job {number} at" in text for number in (20, 21, 22))


async def test_no_new_jobs_or_alerts_off_send_nothing_but_move_on(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    nothing = await mail_client.post(
        URL, json=body(search={"q": "zzzzqqq"}), headers=actors.candidate.headers
    )
    muted = await mail_client.post(
        URL, json=body(search={}), headers=actors.other_candidate.headers
    )
    await mail_client.patch(
        f"{API}/users/me/notifications",
        json={"job_alerts": False},
        headers=actors.other_candidate.headers,
    )
    for saved in (nothing, muted):
        await make_due(
            db,
            saved.json()["id"],
            alerted_through=now - timedelta(days=1),
            due=now - timedelta(minutes=5),
        )
    await publish(mail_client, actors, company, db, published_at=now - timedelta(hours=3))
    await sent()
    before = len(messages(tmp_path))
    assert await run_alerts(app, mail_client, db) == 2
    assert messages(tmp_path)[before:] == []
    for saved, headers in (
        (nothing, actors.candidate.headers),
        (muted, actors.other_candidate.headers),
    ):
        again = (await mail_client.get(f"{URL}/{saved.json()['id']}", headers=headers)).json()
        assert datetime.fromisoformat(again["next_alert_at"]) > now
    assert await waiting(db) == []


async def _one_alert_asked_for(
    mail_client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> FastAPI:
    """A saved search due an hour ago, and its alert task asked for; the app."""
    now = datetime.now(UTC)
    created = await mail_client.post(URL, json=body(), headers=actors.candidate.headers)
    await make_due(
        db,
        created.json()["id"],
        alerted_through=now - timedelta(days=1),
        due=now - timedelta(hours=1),
    )
    application: FastAPI = mail_client.app  # type: ignore[attr-defined]
    assert await alerts.schedule_due(application.state.sessionmaker) == 1
    return application


async def test_no_new_alerts_are_asked_for_while_earlier_ones_wait(
    mail_client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, actors: Actors
) -> None:
    application = await _one_alert_asked_for(mail_client, db, actors)
    assert await alerts.schedule_due(application.state.sessionmaker) == 0
    assert len(await waiting(db)) == 1


async def test_no_new_alerts_are_asked_for_while_one_runs(
    mail_client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, actors: Actors
) -> None:
    """A search whose alert is being sent is still due until that commits: asking again
    then would queue a second task for it (it would find nothing to do, but it is work)."""
    application = await _one_alert_asked_for(mail_client, db, actors)
    # A worker took it and is sending it.
    await db.execute(
        text("UPDATE procrastinate_jobs SET status = 'doing' WHERE task_name = 'send_job_alerts'")
    )
    assert await alerts.schedule_due(application.state.sessionmaker) == 0
    count = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'send_job_alerts'"
    assert (await db.execute(text(count))).scalar_one() == 1


async def test_a_saved_search_no_longer_valid_stops_no_other(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    broken = await mail_client.post(
        URL, json=body(search={}), headers=actors.other_candidate.headers
    )
    good = await mail_client.post(URL, json=body(search={}), headers=actors.candidate.headers)
    # Stored under rules since tightened (written straight to the database).
    await db.execute(
        update(SavedSearch)
        .where(SavedSearch.id == broken.json()["id"])
        .values(query={"salary_min": -5})
    )
    for saved in (broken, good):
        await make_due(
            db,
            saved.json()["id"],
            alerted_through=now - timedelta(days=1),
            due=now - timedelta(minutes=5),
        )
    await publish(mail_client, actors, company, db, published_at=now - timedelta(hours=3))
    await sent()
    before = len(messages(tmp_path))
    await run_alerts(app, mail_client, db)
    (mail,) = messages(tmp_path)[before:]
    assert mail["To"] == actors.candidate.user.email


async def test_alerts_of_a_deleted_saved_search_send_nothing(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    created = await mail_client.post(URL, json=body(search={}), headers=actors.candidate.headers)
    await make_due(
        db,
        created.json()["id"],
        alerted_through=now - timedelta(days=1),
        due=now - timedelta(minutes=5),
    )
    application: FastAPI = mail_client.app  # type: ignore[attr-defined]
    assert await alerts.schedule_due(application.state.sessionmaker) == 1
    await mail_client.delete(f"{URL}/{created.json()['id']}", headers=actors.candidate.headers)
    await sent()
    before = len(messages(tmp_path))
    await run_queued(mail_client, db)
    assert len(messages(tmp_path)) == before
