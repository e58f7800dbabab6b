"""Real concurrency: parallel requests, each on its own database connection, committed.

Every state machine and every counter: exactly one of conflicting changes wins, the others
are refused and change nothing; however many requests arrive at once, a counter lets
exactly its limit through.
"""

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from backend.db.models import Application, JobTitle, Role, User, UserSession
from backend.db.repository import users as users_repo
from tests.conftest import PGBOUNCER_PORT, ClientFactory
from tests.factories import DEFAULT_PASSWORD, bearer, token_for, unique_email

API = "/api/v1"
REPEATS = 8


async def live_user(client: httpx.AsyncClient, role: Role) -> tuple[User, dict[str, str]]:
    """A committed account of `role`, signed in."""
    app: FastAPI = client.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as db, db.begin():
        user = await users_repo.create(
            db,
            email=unique_email(role.value),
            hashed_password=await app.state.hasher.hash(DEFAULT_PASSWORD),
            full_name=role.value,
            role=role,
            email_verified_at=datetime.now(UTC),
        )
    return user, bearer(await token_for(client, user.email))


async def live_job(client: httpx.AsyncClient, employer: dict[str, str], **extra: Any) -> int:
    company = await client.post(f"{API}/companies", json={"name": "Race Co"}, headers=employer)
    assert company.status_code == 201, company.text
    body = {
        "company_id": company.json()["id"],
        "title": "Race Engineer",
        "description": "Fast.",
        "location": "Berlin",
        "workplace": "remote",
        "employment_type": "full_time",
        "status": "published",
        **extra,
    }
    job = await client.post(f"{API}/jobs", json=body, headers=employer)
    assert job.status_code == 201, job.text
    job_id: int = job.json()["id"]
    return job_id


async def mailing_client(make_live_client: ClientFactory, tmp_path: Any) -> httpx.AsyncClient:
    """A live app whose worker runs in its process, as `make run` does, writing mail into
    `tmp_path`."""
    return await make_live_client(
        rate_limits_enabled=False,
        mail_backend="file",
        mail_file_dir=tmp_path,
        worker_in_process=True,
        worker_poll_seconds=0.1,
        # PgBouncer in transaction mode cannot LISTEN: the worker polls there.
        worker_listen_notify=not PGBOUNCER_PORT,
    )


@pytest.fixture
async def client(make_live_client: ClientFactory) -> httpx.AsyncClient:
    # Per-address limits off: these tests make many accounts from one address.
    return await make_live_client(rate_limits_enabled=False)


# --- counters


async def test_parallel_wrong_passwords_check_at_most_the_limit(
    make_live_client: ClientFactory,
) -> None:
    client = await make_live_client(login_max_failures=5)
    for _ in range(3):
        user, _ = await live_user(client, Role.candidate)
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{API}/auth/token", data={"username": user.email, "password": "wrong guess!"}
                )
                for _ in range(25)
            )
        )
        statuses = Counter(response.status_code for response in responses)
        assert statuses == {401: 5, 429: 20}
        # The right password is throttled too, until the window passes.
        right = await client.post(
            f"{API}/auth/token", data={"username": user.email, "password": DEFAULT_PASSWORD}
        )
        assert right.status_code == 429


async def test_parallel_wrong_passwords_from_one_address_check_at_most_its_limit(
    make_live_client: ClientFactory,
) -> None:
    client = await make_live_client(address_max_failures=4, login_max_failures=100)
    responses = await asyncio.gather(
        *(
            client.post(
                f"{API}/auth/token",
                data={"username": unique_email("nobody"), "password": "wrong guess!"},
            )
            for _ in range(20)
        )
    )
    assert Counter(response.status_code for response in responses) == {401: 4, 429: 16}


@pytest.mark.parametrize("route", ["register", "password-reset"])
async def test_parallel_requests_from_one_address_pass_at_most_the_rate(
    make_live_client: ClientFactory, route: str
) -> None:
    client = await make_live_client(address_rate_limit_per_minute=3)

    def body() -> dict[str, str]:
        email = unique_email("rate")
        if route == "register":
            return {"email": email, "password": DEFAULT_PASSWORD, "full_name": "R"}
        return {"email": email}

    responses = await asyncio.gather(
        *(client.post(f"{API}/auth/{route}", json=body()) for _ in range(15))
    )
    statuses = Counter(response.status_code for response in responses)
    assert statuses[429] == 12
    assert sum(statuses.values()) - statuses[429] == 3
    assert set(statuses) <= {201, 202, 429}


async def test_parallel_publications_of_one_title_count_exactly(
    client: httpx.AsyncClient,
) -> None:
    _, employer = await live_user(client, Role.employer)
    company = await client.post(f"{API}/companies", json={"name": "Co"}, headers=employer)
    body = {
        "company_id": company.json()["id"],
        "title": "Counted Title",
        "description": "x",
        "location": "Berlin",
        "workplace": "remote",
        "employment_type": "full_time",
        "status": "published",
    }
    responses = await asyncio.gather(
        *(client.post(f"{API}/jobs", json=body, headers=employer) for _ in range(12))
    )
    assert [response.status_code for response in responses] == [201] * 12
    app: FastAPI = client.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as db:
        count = await db.scalar(
            select(JobTitle.published_count).where(JobTitle.title == "Counted Title")
        )
    assert count == 12


# --- state machines


async def test_an_offer_and_a_withdrawal_at_once_exactly_one_wins(
    client: httpx.AsyncClient,
) -> None:
    _, employer = await live_user(client, Role.employer)
    job_id = await live_job(client, employer)
    winners: Counter[str] = Counter()
    for _ in range(REPEATS):
        _, candidate = await live_user(client, Role.candidate)
        applied = await client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=candidate)
        url = f"{API}/applications/{applied.json()['id']}"
        offer, withdraw = await asyncio.gather(
            client.patch(url, json={"status": "hired"}, headers=employer),
            client.patch(url, json={"status": "withdrawn"}, headers=candidate),
        )
        assert sorted([offer.status_code, withdraw.status_code]) == [200, 409]
        winner = "hired" if offer.status_code == 200 else "withdrawn"
        winners[winner] += 1
        final = await client.get(url, headers=candidate)
        assert final.json()["status"] == winner


async def test_three_final_statuses_at_once_exactly_one_wins(client: httpx.AsyncClient) -> None:
    _, employer = await live_user(client, Role.employer)
    _, admin = await live_user(client, Role.admin)
    job_id = await live_job(client, employer)
    for _ in range(REPEATS):
        _, candidate = await live_user(client, Role.candidate)
        applied = await client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=candidate)
        url = f"{API}/applications/{applied.json()['id']}"
        responses = await asyncio.gather(
            client.patch(url, json={"status": "hired"}, headers=employer),
            client.patch(url, json={"status": "rejected"}, headers=admin),
            client.patch(url, json={"status": "withdrawn"}, headers=candidate),
        )
        assert sorted(response.status_code for response in responses) == [200, 409, 409]
        (won,) = [response.json()["status"] for response in responses if response.is_success]
        assert (await client.get(url, headers=candidate)).json()["status"] == won


async def test_edits_with_one_etag_at_once_exactly_one_wins(client: httpx.AsyncClient) -> None:
    _, employer = await live_user(client, Role.employer)
    job_id = await live_job(client, employer)
    url = f"{API}/jobs/{job_id}"
    for round_number in range(REPEATS):
        etag = (await client.get(url, headers=employer)).headers["ETag"]
        responses = await asyncio.gather(
            *(
                client.patch(
                    url,
                    json={"title": f"Title {round_number}-{writer}"},
                    headers={**employer, "If-Match": etag},
                )
                for writer in range(4)
            )
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200, 412, 412, 412]
        (won,) = [response.json()["title"] for response in responses if response.is_success]
        assert (await client.get(url)).json()["title"] == won


async def test_a_job_closed_and_deleted_at_once(client: httpx.AsyncClient) -> None:
    _, employer = await live_user(client, Role.employer)
    for _ in range(REPEATS):
        job_id = await live_job(client, employer)
        url = f"{API}/jobs/{job_id}"
        etag = (await client.get(url)).headers["ETag"]
        headers = {**employer, "If-Match": etag}
        close, delete = await asyncio.gather(
            client.patch(url, json={"status": "closed"}, headers=headers),
            client.delete(url, headers=headers),
        )
        # Both asked for the version they read: the first to lock it wins; the other finds
        # it changed (412) or gone (404).
        assert sorted([close.status_code, delete.status_code]) in ([200, 412], [204, 404])
        after = await client.get(url, headers=employer)
        assert after.status_code == (404 if delete.status_code == 204 else 200)


async def test_publishing_a_draft_many_times_at_once_sets_one_publication_time(
    client: httpx.AsyncClient,
) -> None:
    _, employer = await live_user(client, Role.employer)
    for _ in range(REPEATS):
        job_id = await live_job(client, employer, status="draft")
        url = f"{API}/jobs/{job_id}"
        responses = await asyncio.gather(
            *(client.patch(url, json={"status": "published"}, headers=employer) for _ in range(4))
        )
        assert [response.status_code for response in responses] == [200] * 4
        published_at = {response.json()["published_at"] for response in responses}
        assert len(published_at) == 1
        assert (await client.get(url)).json()["published_at"] == published_at.pop()


async def test_applications_racing_a_deletion_get_201_or_404_never_500(
    client: httpx.AsyncClient,
) -> None:
    _, employer = await live_user(client, Role.employer)
    candidates = [(await live_user(client, Role.candidate))[1] for _ in range(4)]
    for _ in range(REPEATS):
        job_id = await live_job(client, employer)
        responses = await asyncio.gather(
            client.delete(f"{API}/jobs/{job_id}", headers=employer),
            *(
                client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=candidate)
                for candidate in candidates
            ),
        )
        assert responses[0].status_code == 204
        assert {response.status_code for response in responses[1:]} <= {201, 404}
    app: FastAPI = client.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(Application)) == 0


async def test_applications_racing_a_closing_never_land_on_a_closed_job(
    client: httpx.AsyncClient,
) -> None:
    _, employer = await live_user(client, Role.employer)
    candidates = [(await live_user(client, Role.candidate))[1] for _ in range(4)]
    for _ in range(REPEATS):
        job_id = await live_job(client, employer)
        close, *applies = await asyncio.gather(
            client.patch(f"{API}/jobs/{job_id}", json={"status": "closed"}, headers=employer),
            *(
                client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=candidate)
                for candidate in candidates
            ),
        )
        assert close.status_code == 200
        assert {response.status_code for response in applies} <= {201, 404}
        listed = await client.get(f"{API}/jobs/{job_id}/applications", headers=employer)
        accepted = [response.json()["id"] for response in applies if response.status_code == 201]
        assert sorted(item["id"] for item in listed.json()["items"]) == sorted(accepted)
        _, latecomer = await live_user(client, Role.candidate)
        late = await client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=latecomer)
        assert late.status_code == 404


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(REPEATS):
        first, first_headers = await live_user(client, Role.admin)
        second, second_headers = await live_user(client, Role.admin)
        responses = await asyncio.gather(
            client.patch(
                f"{API}/admin/users/{second.id}", json={"role": "employer"}, headers=first_headers
            ),
            client.patch(
                f"{API}/admin/users/{first.id}", json={"role": "employer"}, headers=second_headers
            ),
        )
        assert sorted(response.status_code for response in responses) == [200, 403]
        app: FastAPI = client.app  # type: ignore[attr-defined]
        async with app.state.sessionmaker() as db:
            roles = (
                await db.scalars(select(User.role).where(User.id.in_([first.id, second.id])))
            ).all()
        assert sorted(roles) == [Role.admin, Role.employer]


async def test_deactivation_racing_a_sign_in_leaves_no_live_session(
    client: httpx.AsyncClient,
) -> None:
    _, admin = await live_user(client, Role.admin)
    for _ in range(REPEATS):
        user, _ = await live_user(client, Role.candidate)
        deactivate, sign_in = await asyncio.gather(
            client.patch(f"{API}/admin/users/{user.id}", json={"is_active": False}, headers=admin),
            client.post(
                f"{API}/auth/token", data={"username": user.email, "password": DEFAULT_PASSWORD}
            ),
        )
        assert deactivate.status_code == 200
        assert sign_in.status_code in (200, 403)
        if sign_in.status_code == 200:
            token = sign_in.json()["access_token"]
            assert (await client.get(f"{API}/users/me", headers=bearer(token))).status_code == 401
        app: FastAPI = client.app  # type: ignore[attr-defined]
        async with app.state.sessionmaker() as db:
            live = await db.scalar(
                select(func.count())
                .select_from(UserSession)
                .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
            )
        assert live == 0


async def test_a_password_change_and_a_reset_at_once_exactly_one_wins(
    make_live_client: ClientFactory, tmp_path: Any
) -> None:
    # A worker in the app's process sends the reset mail, as `make run` does.
    client = await mailing_client(make_live_client, tmp_path)
    from tests.mailbox import reset_token_from

    for round_number in range(REPEATS):
        user, headers = await live_user(client, Role.candidate)
        requested = await client.post(f"{API}/auth/password-reset", json={"email": user.email})
        assert requested.status_code == 202
        token = await reset_token_from(tmp_path, user.email)
        changed_to, reset_to = f"changed {round_number}!", f"reset {round_number}!!"
        change, reset = await asyncio.gather(
            client.post(
                f"{API}/users/me/password",
                json={"current_password": DEFAULT_PASSWORD, "new_password": changed_to},
                headers=headers,
            ),
            client.post(
                f"{API}/auth/password-reset/confirm",
                json={"token": token, "new_password": reset_to},
            ),
        )
        outcome = (change.status_code, reset.status_code)
        assert outcome in ((204, 400), (409, 204), (401, 204)), outcome
        winner = changed_to if change.status_code == 204 else reset_to
        loser = reset_to if winner == changed_to else changed_to
        signed = await client.post(
            f"{API}/auth/token", data={"username": user.email, "password": winner}
        )
        assert signed.status_code == 200
        refused = await client.post(
            f"{API}/auth/token", data={"username": user.email, "password": loser}
        )
        assert refused.status_code == 401


async def test_parallel_refreshes_with_one_token_exactly_one_wins(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(REPEATS):
        user, _ = await live_user(client, Role.candidate)
        pair = await client.post(
            f"{API}/auth/token", data={"username": user.email, "password": DEFAULT_PASSWORD}
        )
        token = pair.json()["refresh_token"]
        responses = await asyncio.gather(
            *(client.post(f"{API}/auth/refresh", json={"refresh_token": token}) for _ in range(5))
        )
        assert sorted(response.status_code for response in responses) == [200, 401, 401, 401, 401]


async def test_parallel_mail_requests_for_one_address_queue_exactly_its_hours_share(
    client: httpx.AsyncClient,
) -> None:
    from sqlalchemy import text

    from backend.services.throttle import MAIL_TO_ADDRESS_PER_HOUR

    app: FastAPI = client.app  # type: ignore[attr-defined]
    for _ in range(3):
        user, _ = await live_user(client, Role.candidate)
        answers = await asyncio.gather(
            *(
                client.post(f"{API}/auth/password-reset", json={"email": user.email})
                for _ in range(REPEATS + 4)
            )
        )
        assert {answer.status_code for answer in answers} == {202}
        async with app.state.sessionmaker() as db:
            queued = await db.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs "
                    "WHERE task_name = 'send_password_reset' AND args->>'user_id' = :id"
                ),
                {"id": str(user.id)},
            )
        assert queued == MAIL_TO_ADDRESS_PER_HOUR


async def test_an_address_change_and_a_reset_at_once_leave_one_consistent_account(
    make_live_client: ClientFactory, tmp_path: Any
) -> None:
    from backend.core.security import VERIFY_EMAIL_PURPOSE, create_link_token
    from tests.mailbox import reset_token_from

    client = await mailing_client(make_live_client, tmp_path)
    app: FastAPI = client.app  # type: ignore[attr-defined]
    for round_number in range(REPEATS):
        user, _ = await live_user(client, Role.candidate)
        await client.post(f"{API}/auth/password-reset", json={"email": user.email})
        reset = await reset_token_from(tmp_path, user.email)
        elsewhere = f"moved{round_number}-{user.id}@example.com"
        move = create_link_token(
            app.state.settings,
            purpose=VERIFY_EMAIL_PURPOSE,
            user_id=user.id,
            subject=elsewhere,
            generation=0,
            expires_in=3600,
        )
        new_password = f"reset {round_number}!!"
        moved, was_reset = await asyncio.gather(
            client.post(f"{API}/auth/verify-email", json={"token": move}),
            client.post(
                f"{API}/auth/password-reset/confirm",
                json={"token": reset, "new_password": new_password},
            ),
        )
        # Each is a security event that ends the other's link: exactly one takes effect.
        outcome = (moved.status_code, was_reset.status_code)
        assert outcome in ((204, 400), (400, 204)), outcome
        email, password = (
            (elsewhere, DEFAULT_PASSWORD)
            if moved.status_code == 204
            else (user.email, new_password)
        )
        signed = await client.post(
            f"{API}/auth/token", data={"username": email, "password": password}
        )
        assert signed.status_code == 200, (outcome, signed.text)


async def test_two_address_change_links_confirmed_at_once_move_the_account_once(
    client: httpx.AsyncClient,
) -> None:
    from backend.core.security import VERIFY_EMAIL_PURPOSE, create_link_token

    app: FastAPI = client.app  # type: ignore[attr-defined]
    for round_number in range(REPEATS):
        user, _ = await live_user(client, Role.candidate)
        targets = [f"to{side}-{round_number}-{user.id}@example.com" for side in ("a", "b")]
        links = [
            create_link_token(
                app.state.settings,
                purpose=VERIFY_EMAIL_PURPOSE,
                user_id=user.id,
                subject=target,
                generation=0,
                expires_in=3600,
            )
            for target in targets
        ]
        answers = await asyncio.gather(
            *(client.post(f"{API}/auth/verify-email", json={"token": link}) for link in links)
        )
        # The first to lock the account moves it (a security event); the other link is dead.
        assert sorted(answer.status_code for answer in answers) == [204, 400]
        won = targets[[answer.status_code for answer in answers].index(204)]
        async with app.state.sessionmaker() as db:
            email = await db.scalar(select(User.email).where(User.id == user.id))
        assert email == won
