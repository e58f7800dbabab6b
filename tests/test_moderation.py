"""Moderation: a new poster's jobs are held for review; moderators approve, reject or send
them back, each decision recorded and mailed; trust earned by a record or given to a
company; every conflicting pair of changes has exactly one winner."""

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy import text as text_sql
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.db.models import Company, Job, JobComment, JobDecision, JobReport, Role, User
from backend.services.moderation import COMMENT_MAILS_PER_HOUR
from tests.conftest import ClientFactory, Sent
from tests.factories import (
    assert_problem,
    create_company,
    create_job,
    create_user,
    job_body,
    session_headers,
)
from tests.mailbox import html_of, messages, text_of
from tests.tasks import run_queued
from tests.test_races import REPEATS, live_user

API = "/api/v1"
QUEUE = f"{API}/moderation/jobs"
FIRST_JOBS = 2


@pytest.fixture
async def mail_client(make_client: ClientFactory, tmp_path: Path) -> httpx.AsyncClient:
    return await make_client(
        mail_backend="file",
        mail_file_dir=tmp_path,
        frontend_url="https://jobs.example",
        moderation_first_jobs=FIRST_JOBS,
        moderation_signals_hold=True,
    )


class Board:
    """A poster with a company, a moderator and a candidate, signed in."""

    def __init__(
        self,
        poster: User,
        company: Company,
        headers: dict[str, str],
        moderator: dict[str, str],
        candidate: dict[str, str],
    ) -> None:
        self.poster, self.company, self.headers = poster, company, headers
        self.moderator, self.candidate = moderator, candidate


@pytest.fixture
async def board(db: AsyncSession, app: FastAPI) -> Board:
    return await make_board(db, app)


async def make_board(db: AsyncSession, app: FastAPI) -> Board:
    poster = await create_user(db, app, role=Role.employer, full_name="Pat Poster")
    company = await create_company(db, owner=poster, name="Held Co")
    moderator = await create_user(db, app, role=Role.moderator, full_name="Mo Derator")
    candidate = await create_user(db, app, role=Role.candidate)
    return Board(
        poster,
        company,
        await session_headers(db, app, poster),
        await session_headers(db, app, moderator),
        await session_headers(db, app, candidate),
    )


async def post_job(client: httpx.AsyncClient, board: Board, **extra: Any) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/jobs",
        json=job_body(board.company.id, status="published", **extra),
        headers=board.headers,
    )
    assert answer.status_code == 201, answer.text
    job: dict[str, Any] = answer.json()
    return job


async def decide(
    client: httpx.AsyncClient, board: Board, job_id: int, **body: Any
) -> httpx.Response:
    return await client.post(f"{QUEUE}/{job_id}/decisions", json=body, headers=board.moderator)


async def decisions_in_db(db: AsyncSession, job_id: int) -> int:
    count = await db.scalar(
        select(func.count()).select_from(JobDecision).where(JobDecision.job_id == job_id)
    )
    return int(count or 0)


def test_new_posters_are_reviewed_by_default() -> None:
    assert Settings.model_fields["moderation_first_jobs"].default == 3


async def test_a_new_posters_job_is_held_until_a_moderator_approves_it(
    mail_client: httpx.AsyncClient, board: Board, sent: Sent
) -> None:
    job = await post_job(mail_client, board, title="Held Backend Engineer")
    assert job["status"] == "pending"
    assert job["published_at"] is None
    assert job["submitted_at"] is not None
    url = f"{API}/jobs/{job['id']}"
    # Nobody but its owner sees it: not its page, not a search.
    assert_problem(await mail_client.get(url), 404)
    assert_problem(await mail_client.get(url, headers=board.candidate), 404)
    listed = await mail_client.get(f"{API}/jobs", params={"q": "held backend"})
    assert job["id"] not in [item["id"] for item in listed.json()["items"]]
    assert (await mail_client.get(url, headers=board.headers)).json()["status"] == "pending"

    queue = await mail_client.get(QUEUE, headers=board.moderator)
    assert queue.status_code == 200, queue.text
    (queued,) = [item for item in queue.json()["items"] if item["job"]["id"] == job["id"]]
    assert queued["poster"]["id"] == board.poster.id
    assert queued["poster"]["email"] == board.poster.email
    assert queued["poster"]["approved_jobs"] == 0
    assert queued["poster"]["rejected_jobs"] == 0
    assert queued["company"] == {
        "id": board.company.id,
        "name": "Held Co",
        "website": None,
        "review_policy": "default",
        "verified_domain": None,
        "created_at": queued["company"]["created_at"],
    }

    review = await mail_client.get(f"{QUEUE}/{job['id']}", headers=board.moderator)
    approved = await mail_client.post(
        f"{QUEUE}/{job['id']}/decisions",
        json={"decision": "approved"},
        headers={**board.moderator, "If-Match": review.headers["ETag"]},
    )
    assert approved.status_code == 201, approved.text
    assert approved.json()["job"]["status"] == "published"
    assert approved.json()["job"]["published_at"] is not None
    (record,) = approved.json()["decisions"]
    assert record["decision"] == "approved"
    assert record["moderator_name"] == "Mo Derator"

    assert (await mail_client.get(url)).json()["status"] == "published"
    listed = await mail_client.get(f"{API}/jobs", params={"q": "held backend"})
    assert job["id"] in [item["id"] for item in listed.json()["items"]]
    # The owner reads what was decided, not who decided it.
    (seen,) = (await mail_client.get(f"{url}/decisions", headers=board.headers)).json()
    assert seen["decision"] == "approved"
    assert "moderator_id" not in seen
    assert "moderator_name" not in seen

    (mail,) = await sent()
    assert mail["To"] == board.poster.email
    assert mail["Subject"] == "Held Backend Engineer is published"
    assert f"https://jobs.example/dashboard/jobs/{job['id']}" in text_of(mail)


async def test_a_rejection_is_final_and_its_reasons_and_note_are_mailed_as_text(
    mail_client: httpx.AsyncClient, board: Board, sent: Sent
) -> None:
    job = await post_job(mail_client, board, title="Pay to apply")
    note = '<script>alert("x")</script> Asks candidates for a fee & more'
    rejected = await decide(
        mail_client, board, job["id"], decision="rejected", reasons=["scam", "not_a_job"], note=note
    )
    assert rejected.status_code == 201, rejected.text
    assert rejected.json()["job"]["status"] == "rejected"
    url = f"{API}/jobs/{job['id']}"
    assert_problem(await mail_client.get(url), 404)
    # Its owner cannot publish it again, nor withdraw it; deleting is left.
    for status in ("published", "draft", "closed"):
        again = await mail_client.patch(url, json={"status": status}, headers=board.headers)
        assert_problem(again, 409)
    (seen,) = (await mail_client.get(f"{url}/decisions", headers=board.headers)).json()
    assert seen["reasons"] == ["scam", "not_a_job"]
    assert seen["note"] == note

    (mail,) = await sent()
    assert mail["Subject"] == "Pay to apply was not approved"
    assert "Reasons: scam, not a job" in text_of(mail)
    assert note in text_of(mail)
    html = html_of(mail)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert (await mail_client.delete(url, headers=board.headers)).status_code == 204


async def test_changes_asked_for_send_the_job_back_as_a_draft_and_it_is_held_again(
    mail_client: httpx.AsyncClient, board: Board, sent: Sent
) -> None:
    job = await post_job(mail_client, board, title="Vague job")
    back = await decide(
        mail_client, board, job["id"], decision="changes_requested", note="Give a salary range."
    )
    assert back.status_code == 201, back.text
    assert back.json()["job"]["status"] == "draft"
    url = f"{API}/jobs/{job['id']}"
    edited = await mail_client.patch(
        url, json={"salary_min": 50000, "salary_max": 60000}, headers=board.headers
    )
    assert edited.json()["status"] == "draft"
    again = await mail_client.patch(url, json={"status": "published"}, headers=board.headers)
    assert again.json()["status"] == "pending"
    assert again.json()["submitted_at"] > job["submitted_at"]
    (mail,) = await sent()
    assert mail["Subject"] == "Vague job: changes asked for"
    assert "Give a salary range." in text_of(mail)


# Jobs unlike each other: alike ones raise the repeated-post signal.
UNLIKE = [
    "Bake bread at dawn for our village shop.",
    "Repair bicycles and teach riders to fix their own flats.",
    "Answer phones and keep the calendar of a busy clinic.",
    "Plan hiking tours across the northern mountains.",
    "Translate manuals from German into plain English.",
    "Keep the warehouse stock counted and tidy.",
]


async def test_a_poster_is_trusted_after_enough_approvals_and_none_rejected(
    mail_client: httpx.AsyncClient, board: Board
) -> None:
    texts = iter(UNLIKE)
    for number in range(FIRST_JOBS):
        held = await post_job(mail_client, board, title=f"Job {number}", description=next(texts))
        assert held["status"] == "pending"
        assert (await decide(mail_client, board, held["id"], decision="approved")).is_success
    trusted = await post_job(mail_client, board, title="At once", description=next(texts))
    assert trusted["status"] == "published"
    # A company set to "always" holds a trusted poster's job; one rejection, and every
    # job of the poster is held again.
    policy = await mail_client.put(
        f"{API}/moderation/companies/{board.company.id}/review-policy",
        json={"review_policy": "always"},
        headers=board.moderator,
    )
    assert policy.status_code == 200, policy.text
    assert policy.json()["review_policy"] == "always"
    held = await post_job(mail_client, board, title="By the policy", description=next(texts))
    assert held["status"] == "pending"
    rejected = await decide(mail_client, board, held["id"], decision="rejected", reasons=["spam"])
    assert rejected.is_success
    await mail_client.put(
        f"{API}/moderation/companies/{board.company.id}/review-policy",
        json={"review_policy": "default"},
        headers=board.moderator,
    )
    after = await post_job(mail_client, board, title="After", description=next(texts))
    assert after["status"] == "pending"
    queue = await mail_client.get(QUEUE, headers=board.moderator)
    (queued,) = [i for i in queue.json()["items"] if i["job"]["id"] == after["id"]]
    assert queued["poster"]["approved_jobs"] == FIRST_JOBS
    assert queued["poster"]["rejected_jobs"] == 1
    assert queued["signals"] == []


async def test_company_policies_hold_or_trust_whatever_the_record(
    make_client: ClientFactory, board: Board
) -> None:
    # Review of new posters off: only "always" holds.
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=True)
    assert (await post_job(client, board))["status"] == "published"
    url = f"{API}/moderation/companies/{board.company.id}/review-policy"
    await client.put(url, json={"review_policy": "always"}, headers=board.moderator)
    assert (await post_job(client, board))["status"] == "pending"
    # Review of new posters on: "trusted" publishes a new poster's job at once.
    strict = await make_client(moderation_first_jobs=5, moderation_signals_hold=True)
    await strict.put(url, json={"review_policy": "trusted"}, headers=board.moderator)
    assert (await post_job(strict, board))["status"] == "published"
    await strict.put(url, json={"review_policy": "default"}, headers=board.moderator)
    assert (await post_job(strict, board))["status"] == "pending"


async def test_a_reopened_job_held_again_keeps_its_first_publication(
    make_client: ClientFactory, board: Board
) -> None:
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=True)
    job = await post_job(client, board)
    url = f"{API}/jobs/{job['id']}"
    await client.patch(url, json={"status": "closed"}, headers=board.headers)
    policy = f"{API}/moderation/companies/{board.company.id}/review-policy"
    await client.put(policy, json={"review_policy": "always"}, headers=board.moderator)
    reopened = await client.patch(url, json={"status": "published"}, headers=board.headers)
    assert reopened.json()["status"] == "pending"
    approved = await decide(client, board, job["id"], decision="approved")
    assert approved.json()["job"]["published_at"] == job["published_at"]


async def test_only_moderators_and_admins_moderate(
    mail_client: httpx.AsyncClient, board: Board, db: AsyncSession, app: FastAPI
) -> None:
    job = await post_job(mail_client, board)
    admin = await create_user(db, app, role=Role.admin)
    admin_headers = await session_headers(db, app, admin)
    policy = f"{API}/moderation/companies/{board.company.id}/review-policy"
    for headers in (board.headers, board.candidate, {}):
        status = 401 if not headers else 403
        assert_problem(await mail_client.get(QUEUE, headers=headers), status)
        assert_problem(await mail_client.get(f"{QUEUE}/{job['id']}", headers=headers), status)
        refused = await mail_client.post(
            f"{QUEUE}/{job['id']}/decisions", json={"decision": "approved"}, headers=headers
        )
        assert_problem(refused, status)
        assert_problem(
            await mail_client.put(policy, json={"review_policy": "trusted"}, headers=headers),
            status,
        )
    assert await decisions_in_db(db, job["id"]) == 0
    # Another employer learns nothing of the job's decisions.
    other = await create_user(db, app, role=Role.employer)
    other_headers = await session_headers(db, app, other)
    hidden = await mail_client.get(f"{API}/jobs/{job['id']}/decisions", headers=other_headers)
    assert_problem(hidden, 404)
    # An admin moderates, and makes moderators; nobody registers as one.
    assert (await mail_client.get(QUEUE, headers=admin_headers)).status_code == 200
    promoted = await mail_client.patch(
        f"{API}/admin/users/{other.id}", json={"role": "moderator"}, headers=admin_headers
    )
    assert promoted.json()["role"] == "moderator"
    assert (await mail_client.get(QUEUE, headers=other_headers)).status_code == 200
    registered = await mail_client.post(
        f"{API}/auth/register",
        json={
            "email": "would-be-moderator@example.com",
            "password": "correct horse battery staple",
            "full_name": "Would Be",
            "role": "moderator",
        },
    )
    assert_problem(registered, 422)
    decided = await decide(mail_client, board, job["id"], decision="approved")
    assert decided.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "rejected"},
        {"decision": "rejected", "reasons": []},
        {"decision": "approved", "reasons": ["spam"]},
        {"decision": "changes_requested"},
        {"decision": "changes_requested", "note": "   "},
        {"decision": "rejected", "reasons": ["other"]},
        {"decision": "rejected", "reasons": ["rude"]},
        {"decision": "rejected", "reasons": ["spam"], "note": "x" * 2001},
        {"decision": "rejected", "reasons": ["spam"], "note": "nul \x00"},
        {"decision": "maybe"},
        {"decision": "approved", "moderator_id": 1},
        {},
    ],
)
async def test_a_bad_decision_is_a_422_and_writes_nothing(
    mail_client: httpx.AsyncClient, board: Board, db: AsyncSession, body: dict[str, Any]
) -> None:
    job = await post_job(mail_client, board)
    assert_problem(await decide(mail_client, board, job["id"], **body), 422)
    assert await decisions_in_db(db, job["id"]) == 0
    url = f"{API}/jobs/{job['id']}"
    assert (await mail_client.get(url, headers=board.headers)).json()["status"] == "pending"


async def test_decisions_on_what_is_not_held_or_changed_since_are_refused(
    mail_client: httpx.AsyncClient, board: Board, db: AsyncSession
) -> None:
    assert_problem(await decide(mail_client, board, 2**40, decision="approved"), 404)
    draft = await mail_client.post(
        f"{API}/jobs", json=job_body(board.company.id), headers=board.headers
    )
    assert_problem(await decide(mail_client, board, draft.json()["id"], decision="approved"), 409)
    job = await post_job(mail_client, board)
    review = await mail_client.get(f"{QUEUE}/{job['id']}", headers=board.moderator)
    url = f"{API}/jobs/{job['id']}"
    edited = await mail_client.patch(url, json={"title": "Changed"}, headers=board.headers)
    assert edited.json()["status"] == "pending"
    stale = await mail_client.post(
        f"{QUEUE}/{job['id']}/decisions",
        json={"decision": "approved"},
        headers={**board.moderator, "If-Match": review.headers["ETag"]},
    )
    assert_problem(stale, 412)
    # Withdrawn by its owner: no longer held.
    withdrawn = await mail_client.patch(url, json={"status": "draft"}, headers=board.headers)
    assert withdrawn.json()["status"] == "draft"
    assert_problem(await decide(mail_client, board, job["id"], decision="approved"), 409)
    assert await decisions_in_db(db, job["id"]) == 0
    # Asking to publish a held job again changes nothing: a moderator publishes it.
    held = await post_job(mail_client, board)
    again = await mail_client.patch(
        f"{API}/jobs/{held['id']}", json={"status": "published"}, headers=board.headers
    )
    assert_problem(again, 409)
    for status in ("pending", "rejected"):
        made = await mail_client.post(
            f"{API}/jobs", json=job_body(board.company.id, status=status), headers=board.headers
        )
        assert_problem(made, 422)


async def test_the_queue_is_the_longest_held_first_and_its_pages_walk_it(
    mail_client: httpx.AsyncClient, board: Board
) -> None:
    held = [(await post_job(mail_client, board, title=f"Queued {n}"))["id"] for n in range(7)]
    whole = await mail_client.get(QUEUE, params={"limit": 100}, headers=board.moderator)
    every = [item["job"]["id"] for item in whole.json()["items"]]
    assert [job_id for job_id in every if job_id in held] == held
    walked: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await mail_client.get(QUEUE, params=params, headers=board.moderator)).json()
        walked += [item["job"]["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == every


async def test_a_copy_of_another_employers_recent_job_is_held(
    make_client: ClientFactory, board: Board, db: AsyncSession, app: FastAPI
) -> None:
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=True)
    text = (
        "Join our platform team to run PostgreSQL at scale: replication, backups, upgrades "
        "without downtime, and the tooling that makes them boring. Remote within Europe."
    )
    real, real_headers = await poster_of(db, app, "hr@real-employer.example")
    original = await published_or_held(
        client, real, real_headers, title="Database Reliability Engineer", description=text
    )
    assert original["status"] == "published"
    # Someone else copies it, with a word changed: held, and moderators see why.
    copier, copier_headers = await poster_of(db, app, "jobs@copier.example")
    copy = await published_or_held(
        client,
        copier,
        copier_headers,
        title="Database Reliability Engineer (Remote)",
        description=text.replace("boring", "dull"),
    )
    assert copy["status"] == "pending"
    assert await signals_seen(client, board, copy["id"]) == ["copies_other_job"]
    # The same title with a job of its own is no copy.
    own = await published_or_held(
        client,
        copier,
        copier_headers,
        title="Database Reliability Engineer",
        description="Keep our MySQL fleet healthy from our Lisbon office; on call one week in six.",
    )
    assert own["status"] == "published"
    # Nor is a copy of a job long gone from the board (closed) or made long ago.
    closed = await published_or_held(
        client, real, real_headers, title="Harbour Crane Operator", description=UNLIKE[4]
    )
    await client.patch(
        f"{API}/jobs/{closed['id']}", json={"status": "closed"}, headers=real_headers
    )
    old = await published_or_held(
        client, real, real_headers, title="Night Bus Driver", description=UNLIKE[5]
    )
    await db.execute(
        text_sql("UPDATE jobs SET created_at = now() - interval '91 days' WHERE id = :id"),
        {"id": old["id"]},
    )
    for title, description in (
        ("Harbour Crane Operator", UNLIKE[4]),
        ("Night Bus Driver", UNLIKE[5]),
    ):
        again = await published_or_held(
            client, copier, copier_headers, title=title, description=description
        )
        assert again["status"] == "published", title


# --- races: real parallel requests, each on its own connection, committed


@pytest.fixture
async def live(make_live_client: ClientFactory) -> httpx.AsyncClient:
    return await make_live_client(rate_limits_enabled=False, moderation_first_jobs=1000)


async def held_job(client: httpx.AsyncClient, poster: dict[str, str]) -> int:
    company = await client.post(f"{API}/companies", json={"name": "Race Co"}, headers=poster)
    body = job_body(company.json()["id"], status="published")
    job = await client.post(f"{API}/jobs", json=body, headers=poster)
    assert job.json()["status"] == "pending", job.text
    job_id: int = job.json()["id"]
    return job_id


async def live_decisions(client: httpx.AsyncClient, job_id: int) -> int:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as db:
        return await decisions_in_db(db, job_id)


async def test_two_moderators_deciding_at_once_one_wins(live: httpx.AsyncClient) -> None:
    _, poster = await live_user(live, Role.employer)
    _, first = await live_user(live, Role.moderator)
    _, second = await live_user(live, Role.admin)
    for _ in range(REPEATS):
        job_id = await held_job(live, poster)
        url = f"{QUEUE}/{job_id}/decisions"
        approve, reject = await asyncio.gather(
            live.post(url, json={"decision": "approved"}, headers=first),
            live.post(url, json={"decision": "rejected", "reasons": ["spam"]}, headers=second),
        )
        assert sorted([approve.status_code, reject.status_code]) == [201, 409]
        winner = "published" if approve.status_code == 201 else "rejected"
        job = await live.get(f"{API}/jobs/{job_id}", headers=poster)
        assert job.json()["status"] == winner
        assert await live_decisions(live, job_id) == 1


async def test_a_decision_racing_the_owners_withdrawal_one_wins(live: httpx.AsyncClient) -> None:
    _, poster = await live_user(live, Role.employer)
    _, moderator = await live_user(live, Role.moderator)
    for _ in range(REPEATS):
        job_id = await held_job(live, poster)
        approve, withdraw = await asyncio.gather(
            live.post(
                f"{QUEUE}/{job_id}/decisions", json={"decision": "approved"}, headers=moderator
            ),
            live.patch(f"{API}/jobs/{job_id}", json={"status": "draft"}, headers=poster),
        )
        assert sorted([approve.status_code, withdraw.status_code]) == [201, 409] or sorted(
            [approve.status_code, withdraw.status_code]
        ) == [200, 409]
        status = (await live.get(f"{API}/jobs/{job_id}", headers=poster)).json()["status"]
        assert status == ("published" if approve.status_code == 201 else "draft")
        assert await live_decisions(live, job_id) == (1 if approve.status_code == 201 else 0)


async def test_a_decision_racing_the_owners_edit_or_deletion_one_wins(
    live: httpx.AsyncClient,
) -> None:
    _, poster = await live_user(live, Role.employer)
    _, moderator = await live_user(live, Role.moderator)
    for number in range(REPEATS):
        job_id = await held_job(live, poster)
        url = f"{API}/jobs/{job_id}"
        etag = (await live.get(f"{QUEUE}/{job_id}", headers=moderator)).headers["ETag"]
        owner_change = (
            live.patch(url, json={"title": "Edited"}, headers={**poster, "If-Match": etag})
            if number % 2
            else live.delete(url, headers={**poster, "If-Match": etag})
        )
        decision, change = await asyncio.gather(
            live.post(
                f"{QUEUE}/{job_id}/decisions",
                json={"decision": "approved"},
                headers={**moderator, "If-Match": etag},
            ),
            owner_change,
        )
        codes = sorted([decision.status_code, change.status_code])
        if number % 2:
            # Both asked for the version they read: the second finds it changed.
            assert codes == [200, 412] or codes == [201, 412]
            job = (await live.get(url, headers=poster)).json()
            assert job["title"] == ("Edited" if change.status_code == 200 else "Backend Engineer")
            assert job["status"] == ("published" if decision.status_code == 201 else "pending")
        else:
            # Deleted first: the decision finds nothing (404); decided first: the deletion
            # finds the version changed (412).
            assert codes in ([201, 412], [204, 404])
            gone = (await live.get(url, headers=poster)).status_code == 404
            assert gone == (change.status_code == 204)


# --- reports


async def report(
    client: httpx.AsyncClient, job_id: int, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/jobs/{job_id}/reports", json={"reason": "scam", **body}, headers=headers or {}
    )


async def test_enough_reports_from_different_people_hold_a_job_for_review(
    make_client: ClientFactory, board: Board, db: AsyncSession, app: FastAPI
) -> None:
    client = await make_client(moderation_first_jobs=0, reports_to_hold=3)
    job = await post_job(client, board)
    assert job["status"] == "published"
    reporters = [await create_user(db, app) for _ in range(2)]
    first = await report(
        client, job["id"], await session_headers(db, app, reporters[0]), note="Fee"
    )
    assert first.status_code == 201, first.text
    assert first.json()["reason"] == "scam"
    # The same account again: one open report each.
    again = await report(client, job["id"], await session_headers(db, app, reporters[0]))
    assert_problem(again, 409)
    # "Filled" is told to moderators, never enough to hide a job.
    filled = await report(
        client, job["id"], await session_headers(db, app, reporters[1]), reason="filled"
    )
    assert filled.status_code == 201
    # Signed out, from an address: counted once per address.
    stranger = await make_client(
        client_address="203.0.113.7", moderation_first_jobs=0, reports_to_hold=3
    )
    assert (await report(stranger, job["id"], reason="spam")).status_code == 201
    assert_problem(await report(stranger, job["id"], reason="spam"), 409)
    url = f"{API}/jobs/{job['id']}"
    assert (await client.get(url)).json()["status"] == "published"
    # The owner cannot report it; a third person's report holds it.
    assert_problem(await report(client, job["id"], board.headers), 403)
    other = await make_client(
        client_address="198.51.100.9", moderation_first_jobs=0, reports_to_hold=3
    )
    assert (await report(other, job["id"], reason="discriminatory")).status_code == 201
    assert_problem(await client.get(url), 404)
    held = (await client.get(url, headers=board.headers)).json()
    assert held["status"] == "pending"
    # Moderators see the open reports, and who made them where they were signed in; the
    # owner sees none of it.
    queue = await client.get(QUEUE, headers=board.moderator)
    (queued,) = [item for item in queue.json()["items"] if item["job"]["id"] == job["id"]]
    assert queued["open_reports"] == 3
    review = (await client.get(f"{QUEUE}/{job['id']}", headers=board.moderator)).json()
    assert [(r["reason"], r["reporter_email"]) for r in review["reports"]] == [
        ("scam", reporters[0].email),
        ("filled", reporters[1].email),
        ("spam", None),
        ("discriminatory", None),
    ]
    owner_view = await client.get(f"{url}/decisions", headers=board.headers)
    assert "report" not in owner_view.text
    # Approved: published again under its first publication, its reports answered.
    approved = await decide(client, board, job["id"], decision="approved")
    assert approved.json()["job"]["published_at"] == job["published_at"]
    assert approved.json()["reports"] == []
    assert approved.json()["open_reports"] == 0
    # Answered reports no longer count, and the same people may report it again.
    again = await report(client, job["id"], await session_headers(db, app, reporters[0]))
    assert again.status_code == 201
    assert (await client.get(url)).json()["status"] == "published"


async def test_the_owner_hears_that_reports_hold_the_job_but_not_who_or_why(
    make_client: ClientFactory, board: Board, db: AsyncSession, app: FastAPI, tmp_path: Path
) -> None:
    client = await make_client(
        moderation_first_jobs=0,
        reports_to_hold=2,
        mail_backend="file",
        mail_file_dir=tmp_path,
        frontend_url="https://jobs.example",
    )
    job = await post_job(client, board, title="Reported Role")
    reporters = [await create_user(db, app) for _ in range(2)]
    for reporter, note in zip(reporters, ("It asks for a fee", "Same here"), strict=True):
        made = await report(client, job["id"], await session_headers(db, app, reporter), note=note)
        assert made.status_code == 201
    await run_queued(client, db)
    (mail,) = [m for m in messages(tmp_path) if m["To"] == board.poster.email]
    assert mail["Subject"] == "Reported Role is under review"
    body = text_of(mail) + html_of(mail)
    assert f"https://jobs.example/dashboard/jobs/{job['id']}" in body
    for secret in (*[r.email for r in reporters], "fee", "Same here", "scam"):
        assert secret not in body
    # Decided before its mail ran, a hold tells nobody.
    second = await post_job(client, board, title="Second Reported Role")
    for reporter in reporters:
        await report(client, second["id"], await session_headers(db, app, reporter))
    assert (await decide(client, board, second["id"], decision="approved")).status_code == 201
    await run_queued(client, db)
    assert not [m for m in messages(tmp_path) if "Second Reported Role is under" in m["Subject"]]


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "boring"},
        {"reason": "scam", "note": "x" * 1001},
        {"reason": "scam", "note": "\x00"},
        {"reason": "scam", "reporter_id": 1},
        {},
    ],
)
async def test_a_bad_report_is_a_422_and_writes_nothing(
    make_client: ClientFactory, board: Board, db: AsyncSession, body: dict[str, Any]
) -> None:
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=True)
    job = await post_job(client, board)
    answer = await client.post(f"{API}/jobs/{job['id']}/reports", json=body)
    assert_problem(answer, 422)
    count = await db.scalar(
        select(func.count()).select_from(JobReport).where(JobReport.job_id == job["id"])
    )
    assert count == 0


async def test_only_public_jobs_are_reported(make_client: ClientFactory, board: Board) -> None:
    client = await make_client(moderation_first_jobs=5, moderation_signals_hold=True)
    held = await post_job(client, board)
    assert_problem(await report(client, held["id"], board.candidate), 404)
    assert_problem(await report(client, 2**40, board.candidate), 404)


async def test_reports_are_limited_per_account_and_per_address(
    make_client: ClientFactory, board: Board, db: AsyncSession, app: FastAPI
) -> None:
    # Whatever RATE_LIMITS_ENABLED says.
    client = await make_client(
        moderation_first_jobs=0, reports_per_hour=2, reports_to_hold=100, rate_limits_enabled=False
    )
    jobs = [(await post_job(client, board, description=text))["id"] for text in UNLIKE[:3]]
    reporter = await session_headers(db, app, await create_user(db, app))
    assert (await report(client, jobs[0], reporter)).status_code == 201
    assert (await report(client, jobs[1], reporter)).status_code == 201
    refused = await report(client, jobs[2], reporter)
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    # A refused one counts too: a flood of duplicates or of bad ids is throttled alike.
    for _ in range(2):
        assert (await report(client, jobs[2])).status_code in (201, 409)
    assert_problem(await report(client, jobs[2]), 429)


async def test_many_reports_at_once_hold_the_job_once(
    make_live_client: ClientFactory,
) -> None:
    live = await make_live_client(
        rate_limits_enabled=False, moderation_first_jobs=0, reports_to_hold=3
    )
    _, poster = await live_user(live, Role.employer)
    reporters = [(await live_user(live, Role.candidate))[1] for _ in range(6)]
    for text in UNLIKE[:3]:
        company = await live.post(f"{API}/companies", json={"name": "Race Co"}, headers=poster)
        job = await live.post(
            f"{API}/jobs",
            json=job_body(company.json()["id"], status="published", description=text),
            headers=poster,
        )
        job_id = job.json()["id"]
        answers = await asyncio.gather(*(report(live, job_id, headers) for headers in reporters))
        # Exactly three are recorded; the job is then no longer public for the others.
        assert sorted(answer.status_code for answer in answers) == [201] * 3 + [404] * 3
        assert (await live.get(f"{API}/jobs/{job_id}", headers=poster)).json()["status"] == (
            "pending"
        )
        app: FastAPI = live.app  # type: ignore[attr-defined]
        async with app.state.sessionmaker() as db:
            count = await db.scalar(
                select(func.count()).select_from(JobReport).where(JobReport.job_id == job_id)
            )
        assert count == 3


# --- signals


async def poster_of(
    db: AsyncSession, app: FastAPI, email: str, website: str | None = None
) -> tuple[Company, dict[str, str]]:
    user = await create_user(db, app, role=Role.employer, email=email)
    company = await create_company(db, owner=user, name="Signalled Co")
    if website is not None:
        company.website = website
        await db.flush()
    return company, await session_headers(db, app, user)


async def published_or_held(
    client: httpx.AsyncClient, company: Company, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/jobs", json=job_body(company.id, status="published", **body), headers=headers
    )
    assert answer.status_code == 201, answer.text
    job: dict[str, Any] = answer.json()
    return job


async def signals_seen(client: httpx.AsyncClient, board: Board, job_id: int) -> list[str]:
    review = await client.get(f"{QUEUE}/{job_id}", headers=board.moderator)
    return [signal["code"] for signal in review.json()["signals"]]


@pytest.mark.parametrize(
    ("body", "signal"),
    [
        ({"description": "Questions? Message us on WhatsApp: +1 555 0100."}, "messenger_contact"),
        ({"description": "Apply through our Telegram channel."}, "messenger_contact"),
        ({"description": "Reach us at t.me/hiring_now"}, "messenger_contact"),
        ({"description": "A registration fee of 50 EUR is due before the interview."}, "fee_asked"),
        ({"description": "You pay a small deposit for your laptop."}, "fee_asked"),
        ({"title": "Upfront payment needed: Data Entry Clerk"}, "fee_asked"),
    ],
)
async def test_content_signals_hold_a_trusted_posters_job(
    make_client: ClientFactory,
    board: Board,
    body: dict[str, str],
    signal: str,
) -> None:
    # New posters publish at once here: only the signal holds it.
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=True)
    assert (await post_job(client, board))["status"] == "published"
    job = await post_job(client, board, **body)
    assert job["status"] == "pending"
    assert await signals_seen(client, board, job["id"]) == [signal]


async def test_ordinary_words_raise_no_signal(make_client: ClientFactory, board: Board) -> None:
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=True)
    job = await post_job(
        client,
        board,
        description="We pay well and on time; no fees, ever. Send your CV by mail. Signal "
        "processing experience is welcome.",
    )
    assert job["status"] == "published"
    assert await signals_seen(client, board, job["id"]) == []


async def test_pay_far_above_the_boards_range_for_the_title_holds_the_job(
    make_client: ClientFactory, board: Board, db: AsyncSession
) -> None:
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=True)
    title = "Payroll Clerk Signal Test"
    other = await create_company(db, owner=board.poster, name="Payroll Co")
    for number in range(10):
        await create_job(db, company=other, title=title, salary_min=40_000 + number * 1000)
    usual = await post_job(
        client, board, title=title, salary_min=45_000, salary_max=55_000, description=UNLIKE[0]
    )
    assert usual["status"] == "published"
    lavish = await post_job(
        client, board, title=title, salary_min=200_000, salary_max=250_000, description=UNLIKE[1]
    )
    assert lavish["status"] == "pending"
    assert await signals_seen(client, board, lavish["id"]) == ["pay_outlier"]
    # With too few jobs of a title to tell, any pay is taken as it comes.
    rare = await post_job(
        client, board, title="Rare Title", salary_max=900_000, description=UNLIKE[2]
    )
    assert rare["status"] == "published"


@pytest.mark.parametrize(
    ("email", "website", "signals", "status"),
    [
        ("hr@acme-signals.example", "https://jobs.acme-signals.example/careers", [], "published"),
        ("hr@acme-signals.example", "https://someone-else.example", ["domain_mismatch"], "pending"),
        ("hr@acme-signals.co.uk", "https://www.acme-signals.co.uk", [], "published"),
        ("hr@acme-signals.co.uk", "https://www.other.co.uk", ["domain_mismatch"], "pending"),
        ("someone@gmail.com", "https://acme-signals.example", ["free_mail_address"], "published"),
        ("someone@mailinator.com", None, ["disposable_address"], "pending"),
    ],
)
async def test_the_posters_address_beside_the_companys_website(
    make_client: ClientFactory,
    board: Board,
    db: AsyncSession,
    app: FastAPI,
    email: str,
    website: str | None,
    signals: list[str],
    status: str,
) -> None:
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=True)
    company, headers = await poster_of(db, app, email, website)
    job = await published_or_held(client, company, headers)
    assert job["status"] == status
    assert await signals_seen(client, board, job["id"]) == signals


async def test_a_repost_of_a_rejected_job_and_a_repeated_post_are_held(
    make_client: ClientFactory, board: Board, db: AsyncSession, app: FastAPI
) -> None:
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=True)
    text = (
        "Work from home and earn 5000 a week answering simple surveys. No experience needed, "
        "start today, flexible hours, paid every Friday."
    )
    policy = f"{API}/moderation/companies/{board.company.id}/review-policy"
    await client.put(policy, json={"review_policy": "always"}, headers=board.moderator)
    first = await post_job(client, board, title="Survey Taker", description=text)
    rejected = await decide(client, board, first["id"], decision="rejected", reasons=["scam"])
    assert rejected.status_code == 201
    # Someone else posts nearly the same job.
    company, headers = await poster_of(db, app, "someone@reposts.example")
    repost = await published_or_held(
        client, company, headers, title="Survey Taker!", description=text + " Apply now."
    )
    assert repost["status"] == "pending"
    assert await signals_seen(client, board, repost["id"]) == ["repost_of_rejected"]
    # An honest poster's job twice over.
    honest, honest_headers = await poster_of(db, app, "hr@honest-signals.example")
    once = await published_or_held(client, honest, honest_headers, title="Baker")
    assert once["status"] == "published"
    twice = await published_or_held(client, honest, honest_headers, title="Baker")
    assert twice["status"] == "pending"
    assert await signals_seen(client, board, twice["id"]) == ["repeated_post"]
    different = await published_or_held(
        client,
        honest,
        honest_headers,
        title="Pastry Chef",
        description="Laminated doughs, early mornings, a team of four.",
    )
    assert different["status"] == "published"


async def test_a_batchs_new_jobs_meet_moderation_together_each_beside_those_before_it(
    make_client: ClientFactory, board: Board, db: AsyncSession, app: FastAPI
) -> None:
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=True)
    # On the board: a rejected scam, another employer's job (held) and a title's pay.
    scam = (
        "Work from home and earn 5000 a week answering simple surveys. No experience needed, "
        "start today, flexible hours, paid every Friday."
    )
    policy = f"{API}/moderation/companies/{board.company.id}/review-policy"
    await client.put(policy, json={"review_policy": "always"}, headers=board.moderator)
    first = await post_job(client, board, title="Survey Taker", description=scam)
    rejected = await decide(client, board, first["id"], decision="rejected", reasons=["scam"])
    assert rejected.status_code == 201
    sorting = "Sort parcels on the night shift at our depot; a forklift licence is a plus."
    held = await post_job(client, board, title="Parcel Sorter", description=sorting)
    assert held["status"] == "pending"
    payroll = await create_company(db, owner=board.poster, name="Porters Co")
    for number in range(10):
        await create_job(db, company=payroll, title="Night Porter", salary_min=30_000 + number)
    company, headers = await poster_of(db, app, "hr@batch-signals.example")
    sent: list[tuple[str, str, str, dict[str, Any]]] = [
        ("A", "Baker", UNLIKE[0], {}),
        ("B", "Baker", UNLIKE[0], {}),  # the same as the one before it
        ("C", "Survey Taker", scam + " Apply now.", {}),
        ("D", "Parcel Sorter", sorting, {}),
        ("E", "Night Porter", UNLIKE[1], {"salary_min": 200_000, "salary_max": 250_000}),
        ("F", "Tour Planner", UNLIKE[3], {"status": "draft"}),
        ("G", "Tour Guide", UNLIKE[3], {}),  # like a draft, which is no post
        ("H", "Clinic Receptionist", UNLIKE[2], {}),
    ]
    items = [
        job_body(company.id, title=title, description=description, status="published")
        | {"external_id": external_id}
        | extra
        for external_id, title, description, extra in sent
    ]
    for item in items:
        del item["company_id"]
    answer = await client.post(
        f"{API}/companies/{company.id}/jobs/external", json={"jobs": items}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert {result["outcome"] for result in answer.json()["results"]} == {"created"}
    rows = await db.execute(
        select(Job.external_id, Job.status, Job.signals)
        .where(Job.company_id == company.id)
        .order_by(Job.external_id)
    )
    assert [(row[0], row[1].value, row[2]) for row in rows] == [
        ("A", "published", []),
        ("B", "pending", ["repeated_post"]),
        ("C", "pending", ["repost_of_rejected"]),
        ("D", "pending", ["copies_other_job"]),
        ("E", "pending", ["pay_outlier"]),
        ("F", "draft", []),
        ("G", "published", []),
        ("H", "published", []),
    ]
    review = await client.get(
        f"{QUEUE}/{answer.json()['results'][1]['job_id']}", headers=board.moderator
    )
    assert [signal["code"] for signal in review.json()["signals"]] == ["repeated_post"]


async def test_signals_hold_no_job_of_a_trusted_company_nor_an_admins(
    make_client: ClientFactory, board: Board, db: AsyncSession, app: FastAPI
) -> None:
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=True)
    policy = f"{API}/moderation/companies/{board.company.id}/review-policy"
    await client.put(policy, json={"review_policy": "trusted"}, headers=board.moderator)
    body = {"description": "Message us on WhatsApp."}
    trusted = await post_job(client, board, **body)
    assert trusted["status"] == "published"
    # Still shown to moderators.
    assert await signals_seen(client, board, trusted["id"]) == ["messenger_contact"]
    admin = await create_user(db, app, role=Role.admin)
    by_admin = await client.post(
        f"{API}/jobs",
        json=job_body(board.company.id, status="published", **body),
        headers=await session_headers(db, app, admin),
    )
    assert by_admin.json()["status"] == "published"


async def test_signals_only_inform_when_they_are_set_not_to_hold(
    make_client: ClientFactory, board: Board
) -> None:
    client = await make_client(moderation_first_jobs=0, moderation_signals_hold=False)
    job = await post_job(client, board, description="Message us on WhatsApp.")
    assert job["status"] == "published"
    assert await signals_seen(client, board, job["id"]) == ["messenger_contact"]


def test_signals_hold_jobs_by_default() -> None:
    assert Settings.model_fields["moderation_signals_hold"].default is True


# --- banned domains and daily limits


async def test_a_banned_domain_refuses_its_posters_and_its_companies_jobs(
    make_client: ClientFactory, board: Board, db: AsyncSession, app: FastAPI
) -> None:
    client = await make_client(moderation_first_jobs=0)
    banned = f"{API}/moderation/banned-domains"
    for bad in ("co.uk", "jobs.scam-co.example", "not a domain", "-x-.example"):
        assert_problem(await client.put(f"{banned}/{bad}", json={}, headers=board.moderator), 422)
    answer = await client.put(
        f"{banned}/Scam-Co.example", json={"reason": "Fee scams"}, headers=board.moderator
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["domain"] == "scam-co.example"
    assert answer.json()["reason"] == "Fee scams"
    assert_problem(await client.put(f"{banned}/other.example", json={}, headers=board.headers), 403)

    by_address, headers = await poster_of(db, app, "boss@mail.scam-co.example")
    refused = await client.post(
        f"{API}/jobs", json=job_body(by_address.id, status="published"), headers=headers
    )
    body = assert_problem(refused, 403)
    assert body["detail"] == "Jobs from scam-co.example are not accepted on this board."
    # A draft is no publication: kept, and refused when asked to be published.
    draft = await client.post(f"{API}/jobs", json=job_body(by_address.id), headers=headers)
    assert draft.status_code == 201
    again = await client.patch(
        f"{API}/jobs/{draft.json()['id']}", json={"status": "published"}, headers=headers
    )
    assert_problem(again, 403)
    by_website, website_headers = await poster_of(
        db, app, "hr@honest-looking.example", "https://careers.scam-co.example"
    )
    refused = await client.post(
        f"{API}/jobs", json=job_body(by_website.id, status="published"), headers=website_headers
    )
    assert_problem(refused, 403)
    count = await db.scalar(
        select(func.count()).select_from(Job).where(Job.company_id == by_website.id)
    )
    assert count == 0

    listed = (await client.get(banned, headers=board.moderator)).json()
    assert [item["domain"] for item in listed["items"]] == ["scam-co.example"]
    assert (
        await client.delete(f"{banned}/scam-co.example", headers=board.moderator)
    ).status_code == 204
    assert_problem(await client.delete(f"{banned}/scam-co.example", headers=board.moderator), 404)
    allowed = await client.post(
        f"{API}/jobs", json=job_body(by_address.id, status="published"), headers=headers
    )
    assert allowed.status_code == 201


async def test_publications_a_day_are_limited_per_account_and_per_domain(
    make_client: ClientFactory, db: AsyncSession, app: FastAPI
) -> None:
    client = await make_client(moderation_first_jobs=0, jobs_per_day=2, jobs_per_day_per_domain=3)
    first, first_headers = await poster_of(db, app, "one@limits.example")
    second, second_headers = await poster_of(db, app, "two@limits.example")
    texts = iter(UNLIKE)
    for _ in range(2):
        made = await published_or_held(client, first, first_headers, description=next(texts))
        assert made["status"] == "published"
    refused = await client.post(
        f"{API}/jobs", json=job_body(first.id, status="published"), headers=first_headers
    )
    assert_problem(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600
    # Drafts are not publications.
    draft = await client.post(f"{API}/jobs", json=job_body(first.id), headers=first_headers)
    assert draft.status_code == 201
    # The domain's third publication goes through, its fourth does not.
    made = await published_or_held(client, second, second_headers, description=next(texts))
    assert made["status"] == "published"
    refused = await client.post(
        f"{API}/jobs", json=job_body(second.id, status="published"), headers=second_headers
    )
    assert_problem(refused, 429)
    # Strangers share a free mail service's domain: only each account is counted.
    for number in range(4):
        company, headers = await poster_of(db, app, f"stranger{number}@gmail.com")
        made = await published_or_held(client, company, headers, description=next(texts, "x"))
        assert made["status"] == "published"


async def test_publications_at_once_count_exactly_to_the_limit(
    make_live_client: ClientFactory,
) -> None:
    live = await make_live_client(
        rate_limits_enabled=False, moderation_first_jobs=0, jobs_per_day=3
    )
    _, poster = await live_user(live, Role.employer)
    company = await live.post(f"{API}/companies", json={"name": "Burst Co"}, headers=poster)
    bodies = [
        job_body(company.json()["id"], status="published", title=f"Burst {n}", description=text)
        for n, text in enumerate(UNLIKE)
    ]
    answers = await asyncio.gather(
        *(live.post(f"{API}/jobs", json=body, headers=poster) for body in bodies)
    )
    assert sorted(answer.status_code for answer in answers) == [201] * 3 + [429] * 3
    mine = await live.get(f"{API}/users/me/jobs", headers=poster)
    assert len(mine.json()["items"]) == 3


# --- the thread between the poster and the moderators


async def test_the_thread_mails_each_comment_to_the_other_side(
    mail_client: httpx.AsyncClient, board: Board, sent: Sent, db: AsyncSession, app: FastAPI
) -> None:
    job = await post_job(mail_client, board, title="Threaded Job")
    url = f"{API}/jobs/{job['id']}/comments"
    # The poster writes first: no moderator has taken part yet, so nobody is mailed.
    first = await mail_client.post(url, json={"body": "Anything missing?"}, headers=board.headers)
    assert first.status_code == 201, first.text
    assert first.json()["by_moderator"] is False
    assert await sent() == []
    body = 'Which city? <a href="https://evil.example">click</a> & more'
    asked = await mail_client.post(url, json={"body": body}, headers=board.moderator)
    assert asked.status_code == 201
    (to_poster,) = await sent()
    assert to_poster["To"] == board.poster.email
    assert to_poster["Subject"] == "A moderator wrote about Threaded Job"
    assert body in text_of(to_poster)
    assert '<a href="https://evil.example">' not in html_of(to_poster)
    assert f"https://jobs.example/dashboard/jobs/{job['id']}" in text_of(to_poster)
    # The poster answers: the moderator who wrote is mailed (another who did not, not).
    await create_user(db, app, role=Role.moderator)
    answer = await mail_client.post(url, json={"body": "Lisbon."}, headers=board.headers)
    assert answer.status_code == 201
    mails = await sent()
    (to_moderator,) = mails[1:]
    assert to_moderator["Subject"] == "The poster of Threaded Job wrote"
    assert "Lisbon." in text_of(to_moderator)
    assert f"https://jobs.example/moderation/jobs/{job['id']}" in text_of(to_moderator)
    # Each reads the thread; the poster reads the moderators unsigned.
    for_poster = (await mail_client.get(url, headers=board.headers)).json()
    assert [(c["by_moderator"], c["author_name"], c["body"]) for c in for_poster] == [
        (False, "Pat Poster", "Anything missing?"),
        (True, None, body),
        (False, "Pat Poster", "Lisbon."),
    ]
    for_moderator = (await mail_client.get(url, headers=board.moderator)).json()
    assert for_moderator[1]["author_name"] == "Mo Derator"


async def test_only_the_owner_and_moderators_take_part_in_a_thread(
    mail_client: httpx.AsyncClient, board: Board, db: AsyncSession, app: FastAPI
) -> None:
    job = await post_job(mail_client, board)
    url = f"{API}/jobs/{job['id']}/comments"
    other = await session_headers(db, app, await create_user(db, app, role=Role.employer))
    for headers in (other, board.candidate):
        assert_problem(await mail_client.get(url, headers=headers), 404)
        assert_problem(await mail_client.post(url, json={"body": "hi"}, headers=headers), 404)
    assert_problem(await mail_client.get(url), 401)
    assert_problem(
        await mail_client.get(f"{API}/jobs/{2**40}/comments", headers=board.moderator), 404
    )
    count = await db.scalar(
        select(func.count()).select_from(JobComment).where(JobComment.job_id == job["id"])
    )
    assert count == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"body": ""}, {"body": "   "}, {"body": "x" * 2001}, {"body": "a\x00b"}, {"body": 5},
     {"body": "ok", "author_id": 1}],
)  # fmt: skip
async def test_a_bad_comment_is_a_422_and_writes_nothing(
    mail_client: httpx.AsyncClient, board: Board, db: AsyncSession, body: dict[str, Any]
) -> None:
    job = await post_job(mail_client, board)
    answer = await mail_client.post(
        f"{API}/jobs/{job['id']}/comments", json=body, headers=board.headers
    )
    assert_problem(answer, 422)
    count = await db.scalar(
        select(func.count()).select_from(JobComment).where(JobComment.job_id == job["id"])
    )
    assert count == 0


async def test_comments_and_their_mails_are_limited(
    make_client: ClientFactory, board: Board, tmp_path: Path, db: AsyncSession
) -> None:
    client = await make_client(
        moderation_first_jobs=5,
        comments_per_hour=8,
        mail_backend="file",
        mail_file_dir=tmp_path,
    )
    job = await post_job(client, board)
    url = f"{API}/jobs/{job['id']}/comments"
    for number in range(8):
        made = await client.post(url, json={"body": f"Note {number}"}, headers=board.moderator)
        assert made.status_code == 201
    refused = await client.post(url, json={"body": "One more"}, headers=board.moderator)
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    await run_queued(client, db)
    # Every comment is in the thread; the poster is mailed six of them an hour.
    assert len((await client.get(url, headers=board.headers)).json()) == 8
    assert len(messages(tmp_path)) == COMMENT_MAILS_PER_HOUR
