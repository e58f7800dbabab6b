"""Edits of published jobs held for review while the job stays on the board as it was: the
202 and the waiting edit, merging, approval and rejection (mailed), withdrawal, who is
never held, and decisions racing edits, withdrawals and each other."""

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import JobRevision, Role
from tests.conftest import ClientFactory, Sent
from tests.factories import assert_problem, job_body
from tests.mailbox import text_of, to
from tests.test_moderation import Board, make_board
from tests.test_races import REPEATS, live_user

API = "/api/v1"
REVISIONS = f"{API}/moderation/revisions"


@pytest.fixture
async def board(db: AsyncSession, app: FastAPI) -> Board:
    return await make_board(db, app)


@pytest.fixture
async def mail_client(make_client: ClientFactory, tmp_path: Path) -> httpx.AsyncClient:
    return await make_client(
        mail_backend="file",
        mail_file_dir=tmp_path,
        frontend_url="https://jobs.example",
        moderation_first_jobs=3,
        moderation_signals_hold=True,
    )


async def published_job(client: httpx.AsyncClient, board: Board, **extra: Any) -> dict[str, Any]:
    """A job of the board's new poster: held, then approved by the moderator."""
    body = job_body(board.company.id, status="published", title="Lock Keeper", **extra)
    held = await client.post(f"{API}/jobs", json=body, headers=board.headers)
    assert held.json()["status"] == "pending", held.text
    approved = await client.post(
        f"{API}/moderation/jobs/{held.json()['id']}/decisions",
        json={"decision": "approved"},
        headers=board.moderator,
    )
    assert approved.status_code == 201, approved.text
    job: dict[str, Any] = approved.json()["job"]
    return job


async def edit(
    client: httpx.AsyncClient, headers: dict[str, str], job_id: int, **fields: Any
) -> httpx.Response:
    return await client.patch(f"{API}/jobs/{job_id}", json=fields, headers=headers)


async def test_an_edit_of_a_new_posters_published_job_waits_while_the_job_stays(
    mail_client: httpx.AsyncClient, board: Board, sent: Sent, tmp_path: Path
) -> None:
    job = await published_job(mail_client, board)
    url = f"{API}/jobs/{job['id']}"
    held = await edit(
        mail_client,
        board.headers,
        job["id"],
        title="Lock Keeper (Night)",
        description="Keep the **locks** turning at night.",
        expires_at="2030-01-01T00:00:00Z",
    )
    assert held.status_code == 202, held.text
    revision = held.json()
    assert revision["job_id"] == job["id"]
    assert revision["changes"] == {
        "title": "Lock Keeper (Night)",
        "description": "Keep the **locks** turning at night.",
    }
    assert revision["decision"] is None
    # The board shows the job as it was; its expiry date changed at once.
    public = (await mail_client.get(url)).json()
    assert public["title"] == "Lock Keeper"
    assert public["expires_at"] == "2030-01-01T00:00:00Z"

    # A second edit is merged into the waiting one; a field sent as the job has it is no
    # change.
    again = await edit(
        mail_client,
        board.headers,
        job["id"],
        title="Night Lock Keeper",
        tags=["night"],
        location=job["location"],
        workplace=job["workplace"],
    )
    assert again.status_code == 202
    assert again.json()["id"] == revision["id"]
    assert again.json()["changes"] == {
        "title": "Night Lock Keeper",
        "description": "Keep the **locks** turning at night.",
        "tags": ["night"],
    }
    mine = await mail_client.get(f"{url}/revisions", headers=board.headers)
    assert [item["id"] for item in mine.json()] == [revision["id"]]

    queue = await mail_client.get(REVISIONS, headers=board.moderator)
    (queued,) = [item for item in queue.json()["items"] if item["job"]["id"] == job["id"]]
    assert queued["job"]["title"] == "Lock Keeper"
    assert queued["revision"]["changes"]["title"] == "Night Lock Keeper"
    assert queued["revision"]["signals"] == []
    review = await mail_client.get(f"{REVISIONS}/{revision['id']}", headers=board.moderator)
    decided = await mail_client.post(
        f"{REVISIONS}/{revision['id']}/decisions",
        json={"decision": "approved"},
        headers={**board.moderator, "If-Match": review.headers["ETag"]},
    )
    assert decided.status_code == 201, decided.text
    assert decided.json()["revision"]["decision"] == "approved"
    assert decided.json()["revision"]["decided_at"] is not None
    shown = (await mail_client.get(url)).json()
    assert shown["title"] == "Night Lock Keeper"
    assert shown["tags"] == ["night"]
    assert shown["description_html"] == "<p>Keep the <strong>locks</strong> turning at night.</p>\n"
    assert (await mail_client.get(REVISIONS, headers=board.moderator)).json()["items"] == []
    await sent()
    mail = to(tmp_path, board.poster.email)[-1]
    assert mail["Subject"] == "Your changes to Night Lock Keeper are published"
    # Decided once: a second decision is a 409.
    second = await mail_client.post(
        f"{REVISIONS}/{revision['id']}/decisions",
        json={"decision": "rejected", "reasons": ["spam"]},
        headers=board.moderator,
    )
    assert_problem(second, 409)


async def test_a_rejected_edit_leaves_the_job_as_it_was_and_says_why(
    mail_client: httpx.AsyncClient, board: Board, sent: Sent, tmp_path: Path
) -> None:
    job = await published_job(mail_client, board)
    held = await edit(
        mail_client,
        board.headers,
        job["id"],
        description="Now also pay a training fee of 200 EUR before you start.",
    )
    assert held.status_code == 202
    queue = await mail_client.get(REVISIONS, headers=board.moderator)
    (queued,) = queue.json()["items"]
    assert [signal["code"] for signal in queued["revision"]["signals"]] == ["fee_asked"]
    rejected = await mail_client.post(
        f"{REVISIONS}/{held.json()['id']}/decisions",
        json={"decision": "rejected", "reasons": ["scam"], "note": "No fees, ever."},
        headers=board.moderator,
    )
    assert rejected.status_code == 201, rejected.text
    shown = (await mail_client.get(f"{API}/jobs/{job['id']}")).json()
    assert shown["description"] == job["description"]
    await sent()
    mail = to(tmp_path, board.poster.email)[-1]
    assert mail["Subject"] == "Your changes to Lock Keeper were not approved"
    assert "Reasons: scam" in text_of(mail)
    assert "No fees, ever." in text_of(mail)
    mine = await mail_client.get(f"{API}/jobs/{job['id']}/revisions", headers=board.headers)
    (record,) = mine.json()
    assert (record["decision"], record["reasons"], record["note"]) == (
        "rejected",
        ["scam"],
        "No fees, ever.",
    )
    assert "decided_by" not in record  # the poster does not learn who


async def test_bad_decisions_and_stale_versions_change_nothing(
    mail_client: httpx.AsyncClient, board: Board, db: AsyncSession
) -> None:
    job = await published_job(mail_client, board)
    held = await edit(mail_client, board.headers, job["id"], title="Lock Keeper II")
    url = f"{REVISIONS}/{held.json()['id']}"
    version = (await mail_client.get(url, headers=board.moderator)).headers["ETag"]
    await edit(mail_client, board.headers, job["id"], location="Ghent")
    stale = await mail_client.post(
        f"{url}/decisions",
        json={"decision": "approved"},
        headers={**board.moderator, "If-Match": version},
    )
    assert_problem(stale, 412)
    for body in (
        {"decision": "changes_requested", "note": "Say more."},
        {"decision": "rejected"},
        {"decision": "maybe"},
    ):
        assert_problem(
            await mail_client.post(f"{url}/decisions", json=body, headers=board.moderator), 422
        )
    assert_problem(
        await mail_client.post(
            f"{url}/decisions", json={"decision": "approved"}, headers=board.headers
        ),
        403,
    )
    assert_problem(
        await mail_client.post(
            f"{REVISIONS}/999999999/decisions",
            json={"decision": "approved"},
            headers=board.moderator,
        ),
        404,
    )
    waiting = await db.scalar(
        select(func.count()).select_from(JobRevision).where(JobRevision.decided_at.is_(None))
    )
    assert waiting == 1
    assert (await mail_client.get(f"{API}/jobs/{job['id']}")).json()["title"] == "Lock Keeper"


async def test_a_held_edit_is_checked_on_the_job_as_it_would_be(
    mail_client: httpx.AsyncClient, board: Board
) -> None:
    job = await published_job(mail_client, board, salary_min=40_000, salary_max=50_000)
    assert (await edit(mail_client, board.headers, job["id"], salary_max=90_000)).status_code == 202
    # 80 000 is within the edit's range, though above the job's own maximum.
    assert (await edit(mail_client, board.headers, job["id"], salary_min=80_000)).status_code == 202
    too_much = await edit(mail_client, board.headers, job["id"], salary_min=95_000)
    assert_problem(too_much, 422)
    invalid = await edit(mail_client, board.headers, job["id"], workplace="moon")
    assert_problem(invalid, 422)


async def test_the_poster_withdraws_an_edit_and_closing_drops_one(
    mail_client: httpx.AsyncClient, board: Board, actors: Any
) -> None:
    job = await published_job(mail_client, board)
    url = f"{API}/jobs/{job['id']}/revision"
    assert (await edit(mail_client, board.headers, job["id"], title="Renamed")).status_code == 202
    assert_problem(await mail_client.delete(url, headers=actors.other_employer.headers), 404)
    assert_problem(await mail_client.delete(url, headers=board.candidate), 404)
    assert (await mail_client.delete(url, headers=board.headers)).status_code == 204
    assert_problem(await mail_client.delete(url, headers=board.headers), 404)
    assert (await mail_client.get(REVISIONS, headers=board.moderator)).json()["items"] == []

    held = await edit(mail_client, board.headers, job["id"], title="Renamed")
    assert held.status_code == 202
    closed = await edit(mail_client, board.headers, job["id"], status="closed")
    assert closed.status_code == 200
    assert closed.json()["title"] == "Lock Keeper"
    assert (await mail_client.get(REVISIONS, headers=board.moderator)).json()["items"] == []
    gone = await mail_client.post(
        f"{REVISIONS}/{held.json()['id']}/decisions",
        json={"decision": "approved"},
        headers=board.moderator,
    )
    assert_problem(gone, 404)
    # Another employer cannot see a job's edits.
    other = await mail_client.get(
        f"{API}/jobs/{job['id']}/revisions", headers=actors.other_employer.headers
    )
    assert_problem(other, 404)


@pytest.mark.parametrize("who", ["trusted-company", "verified-company", "admin"])
async def test_who_is_never_held(
    mail_client: httpx.AsyncClient, board: Board, db: AsyncSession, actors: Any, who: str
) -> None:
    job = await published_job(mail_client, board)
    headers = board.headers
    if who == "trusted-company":
        policy = f"{API}/moderation/companies/{board.company.id}/review-policy"
        await mail_client.put(policy, json={"review_policy": "trusted"}, headers=board.moderator)
    elif who == "verified-company":
        board.company.verified_domain = "held.example"
        board.company.verified_at = func.now()
        await db.flush()
    else:
        headers = actors.admin.headers
    changed = await edit(mail_client, headers, job["id"], title="Lock Keeper at Once")
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "Lock Keeper at Once"


# --- races: real parallel requests, each on its own connection, committed


@pytest.fixture
async def live(make_live_client: ClientFactory) -> httpx.AsyncClient:
    return await make_live_client(rate_limits_enabled=False, moderation_first_jobs=1000)


async def live_held_edit(
    client: httpx.AsyncClient, poster: dict[str, str], moderator: dict[str, str]
) -> tuple[int, int]:
    company = await client.post(f"{API}/companies", json={"name": "Race Co"}, headers=poster)
    body = job_body(company.json()["id"], status="published", title="Race Keeper")
    job_id = (await client.post(f"{API}/jobs", json=body, headers=poster)).json()["id"]
    approved = await client.post(
        f"{API}/moderation/jobs/{job_id}/decisions",
        json={"decision": "approved"},
        headers=moderator,
    )
    assert approved.status_code == 201, approved.text
    held = await edit(client, poster, job_id, title="Race Keeper I")
    assert held.status_code == 202, held.text
    revision_id: int = held.json()["id"]
    return job_id, revision_id


async def revisions_of(client: httpx.AsyncClient, job_id: int) -> list[JobRevision]:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as db:
        found = await db.execute(
            select(JobRevision).where(JobRevision.job_id == job_id).order_by(JobRevision.id)
        )
        return list(found.scalars())


async def test_two_moderators_deciding_at_once_one_wins(live: httpx.AsyncClient) -> None:
    _, poster = await live_user(live, Role.employer)
    _, first = await live_user(live, Role.moderator)
    _, second = await live_user(live, Role.admin)
    for _ in range(REPEATS):
        job_id, revision_id = await live_held_edit(live, poster, first)
        url = f"{REVISIONS}/{revision_id}/decisions"
        approve, reject = await asyncio.gather(
            live.post(url, json={"decision": "approved"}, headers=first),
            live.post(url, json={"decision": "rejected", "reasons": ["spam"]}, headers=second),
        )
        assert sorted([approve.status_code, reject.status_code]) == [201, 409]
        (revision,) = await revisions_of(live, job_id)
        title = (await live.get(f"{API}/jobs/{job_id}")).json()["title"]
        if approve.status_code == 201:
            assert (revision.decision, title) == ("approved", "Race Keeper I")
        else:
            assert (revision.decision, title) == ("rejected", "Race Keeper")


async def test_a_decision_racing_a_new_edit_never_applies_what_was_not_seen(
    live: httpx.AsyncClient,
) -> None:
    _, poster = await live_user(live, Role.employer)
    _, moderator = await live_user(live, Role.moderator)
    for _ in range(REPEATS):
        job_id, revision_id = await live_held_edit(live, poster, moderator)
        seen = await live.get(f"{REVISIONS}/{revision_id}", headers=moderator)
        decision, change = await asyncio.gather(
            live.post(
                f"{REVISIONS}/{revision_id}/decisions",
                json={"decision": "approved"},
                headers={**moderator, "If-Match": seen.headers["ETag"]},
            ),
            edit(live, poster, job_id, location="Ghent"),
        )
        assert change.status_code == 202
        revisions = await revisions_of(live, job_id)
        job = (await live.get(f"{API}/jobs/{job_id}")).json()
        if decision.status_code == 201:
            # Approved first: the edit it saw is applied; the later one waits on its own.
            assert [r.decision for r in revisions] == ["approved", None]
            assert (job["title"], job["location"]) == ("Race Keeper I", "Lisbon")
            assert revisions[1].changes == {"location": "Ghent"}
        else:
            assert decision.status_code == 412
            (revision,) = revisions
            assert revision.decision is None
            assert revision.changes == {"title": "Race Keeper I", "location": "Ghent"}
            assert job["title"] == "Race Keeper"


async def test_a_decision_racing_the_withdrawal_one_wins(live: httpx.AsyncClient) -> None:
    _, poster = await live_user(live, Role.employer)
    _, moderator = await live_user(live, Role.moderator)
    for _ in range(REPEATS):
        job_id, revision_id = await live_held_edit(live, poster, moderator)
        decision, withdrawal = await asyncio.gather(
            live.post(
                f"{REVISIONS}/{revision_id}/decisions",
                json={"decision": "approved"},
                headers=moderator,
            ),
            live.delete(f"{API}/jobs/{job_id}/revision", headers=poster),
        )
        outcome = (decision.status_code, withdrawal.status_code)
        assert outcome in ((201, 404), (404, 204))
        revisions = await revisions_of(live, job_id)
        title = (await live.get(f"{API}/jobs/{job_id}")).json()["title"]
        if outcome == (201, 404):
            assert [r.decision for r in revisions] == ["approved"]
            assert title == "Race Keeper I"
        else:
            assert revisions == []
            assert title == "Race Keeper"


async def test_a_job_rejected_while_an_edit_waits_drops_the_edit(
    make_client: ClientFactory, board: Board, db: AsyncSession, app: FastAPI
) -> None:
    client = await make_client(moderation_first_jobs=3, reports_to_hold=1)
    job = await published_job(client, board)
    held = await edit(client, board.headers, job["id"], title="Renamed While Reported")
    assert held.status_code == 202
    # Reported, it is held for review; rejected, its waiting edit goes with it.
    reported = await client.post(
        f"{API}/jobs/{job['id']}/reports", json={"reason": "scam"}, headers=board.candidate
    )
    assert reported.status_code == 201, reported.text
    rejected = await client.post(
        f"{API}/moderation/jobs/{job['id']}/decisions",
        json={"decision": "rejected", "reasons": ["scam"]},
        headers=board.moderator,
    )
    assert rejected.status_code == 201, rejected.text
    assert (await client.get(REVISIONS, headers=board.moderator)).json()["items"] == []
    late = await client.post(
        f"{REVISIONS}/{held.json()['id']}/decisions",
        json={"decision": "approved"},
        headers=board.moderator,
    )
    assert_problem(late, 404)
