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
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.db.models import Company, JobDecision, Role, User
from tests.conftest import ClientFactory, Sent
from tests.factories import (
    assert_problem,
    create_company,
    create_user,
    job_body,
    session_headers,
)
from tests.mailbox import html_of, text_of
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


async def test_a_poster_is_trusted_after_enough_approvals_and_none_rejected(
    mail_client: httpx.AsyncClient, board: Board
) -> None:
    for number in range(FIRST_JOBS):
        held = await post_job(mail_client, board, title=f"Job {number}")
        assert held["status"] == "pending"
        assert (await decide(mail_client, board, held["id"], decision="approved")).is_success
    trusted = await post_job(mail_client, board, title="Published at once")
    assert trusted["status"] == "published"
    # One rejection, and every job is held again.
    bad = await post_job(mail_client, board, title="Not at once")
    assert bad["status"] == "published"
    draft = await mail_client.post(
        f"{API}/jobs", json=job_body(board.company.id), headers=board.headers
    )
    assert draft.json()["status"] == "draft"
    # (The poster is trusted: a company set to "always" is how a moderator holds it.)
    policy = await mail_client.put(
        f"{API}/moderation/companies/{board.company.id}/review-policy",
        json={"review_policy": "always"},
        headers=board.moderator,
    )
    assert policy.status_code == 200, policy.text
    assert policy.json()["review_policy"] == "always"
    held = await post_job(mail_client, board, title="Held by the company's policy")
    assert held["status"] == "pending"
    rejected = await decide(mail_client, board, held["id"], decision="rejected", reasons=["spam"])
    assert rejected.is_success
    await mail_client.put(
        f"{API}/moderation/companies/{board.company.id}/review-policy",
        json={"review_policy": "default"},
        headers=board.moderator,
    )
    after_rejection = await post_job(mail_client, board, title="Held after a rejection")
    assert after_rejection["status"] == "pending"
    queue = await mail_client.get(QUEUE, headers=board.moderator)
    (queued,) = [i for i in queue.json()["items"] if i["job"]["id"] == after_rejection["id"]]
    assert queued["poster"]["approved_jobs"] == FIRST_JOBS
    assert queued["poster"]["rejected_jobs"] == 1


async def test_company_policies_hold_or_trust_whatever_the_record(
    make_client: ClientFactory, board: Board
) -> None:
    # Review of new posters off: only "always" holds.
    client = await make_client(moderation_first_jobs=0)
    assert (await post_job(client, board))["status"] == "published"
    url = f"{API}/moderation/companies/{board.company.id}/review-policy"
    await client.put(url, json={"review_policy": "always"}, headers=board.moderator)
    assert (await post_job(client, board))["status"] == "pending"
    # Review of new posters on: "trusted" publishes a new poster's job at once.
    strict = await make_client(moderation_first_jobs=5)
    await strict.put(url, json={"review_policy": "trusted"}, headers=board.moderator)
    assert (await post_job(strict, board))["status"] == "published"
    await strict.put(url, json={"review_policy": "default"}, headers=board.moderator)
    assert (await post_job(strict, board))["status"] == "pending"


async def test_a_reopened_job_held_again_keeps_its_first_publication(
    make_client: ClientFactory, board: Board
) -> None:
    client = await make_client(moderation_first_jobs=0)
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
