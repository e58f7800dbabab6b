"""Where the time of one authenticated request goes: each layer timed in-process.

`python -m bench.components [DATABASE_URL]` against a seeded database (for instance one
kept by `make bench BENCH_ARGS=--keep`). Prints the median of five rounds per step, in
microseconds; the steps of one run are compared with each other, never across machines.
"""

import asyncio
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import psycopg
from starlette.types import Message

from backend.core.config import load_settings
from backend.core.security import create_access_token, decode_access_token
from backend.db.engine import create_engine, create_read_sessionmaker
from backend.db.hot import HotConnections
from backend.db.repository import job_search as search_repo
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import sessions as sessions_repo
from backend.main import create_app
from backend.schemas.job import JobRead
from backend.schemas.pagination import Page
from backend.schemas.user import UserRead
from bench.sql import compiled

ROUNDS, CALLS = 5, 300


async def timed(label: str, step: Callable[[], Awaitable[object]]) -> float:
    for _ in range(20):  # warm caches and prepared statements
        await step()
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            await step()
        rounds.append((time.perf_counter() - started) / CALLS * 1e6)
    median = statistics.median(rounds)
    print(f"{label:<58} {median:8.0f} us")
    return median


async def counted(label: str, step: Callable[[], Awaitable[object]], calls: int = 200) -> None:
    """Python function calls a call of `step` makes (deterministic, unlike timings on a
    shared machine; work done inside C or Rust extensions is not counted)."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        await step()
    profile.disable()
    total: int = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
    print(f"{label:<58} {total / calls:8.0f} calls")


async def main(url: str) -> None:
    settings = load_settings(
        _env_file=None, database_url=url, secret_key="k" * 48, environment="development"
    )
    raw_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw_url) as conn:
        row = conn.execute(
            "SELECT s.id, s.user_id FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE u.is_active AND s.revoked_at IS NULL AND s.expires_at > now() LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit("no live session: sign in once against this database first")
    session_id, user_id = row
    token = create_access_token(settings, user_id=user_id, session_id=session_id).token
    engine = create_engine(settings, role="bench")
    read = create_read_sessionmaker(engine)
    hot = HotConnections(engine)
    driver = await psycopg.AsyncConnection.connect(raw_url, autocommit=True)
    auth_sql = compiled(sessions_repo.active_user_statement(user_id=user_id, session_id=session_id))
    jobs_sql = compiled(search_repo.newest_statement(search_repo.JobFilters(), limit=20))

    async def decode() -> object:
        return decode_access_token(settings, token)

    async def raw_auth() -> object:
        return await (await driver.execute(auth_sql[0], auth_sql[1])).fetchall()

    async def hot_auth() -> object:
        async with hot.connection() as connection:
            return await sessions_repo.get_caller(
                connection, user_id=user_id, session_id=session_id
            )

    async def session_auth() -> object:
        async with read() as session:
            return await sessions_repo.get_caller(session, user_id=user_id, session_id=session_id)

    async with read() as session:
        user = await sessions_repo.get_caller(session, user_id=user_id, session_id=session_id)

    async def user_json() -> object:
        return UserRead.model_validate(user).model_dump_json()

    async def raw_jobs() -> object:
        return await (await driver.execute(jobs_sql[0], jobs_sql[1])).fetchall()

    async def session_jobs() -> object:
        async with read() as session:
            return await search_repo.search_newest(
                session, filters=search_repo.JobFilters(), limit=20, after=None
            )

    async with read() as session:
        page = await search_repo.search_newest(
            session, filters=search_repo.JobFilters(), limit=20, after=None
        )

    async def jobs_json() -> object:
        items = [JobRead.model_validate(job) for job in page.items[:20]]
        return Page[JobRead](items=items, next_cursor=None).model_dump_json()

    with psycopg.connect(raw_url) as conn:
        job_row = conn.execute("SELECT id FROM jobs WHERE status = 'published' LIMIT 1").fetchone()
    job_id = job_row[0] if job_row else 1
    job_sql = compiled(jobs_repo.JOB_PAGE.statement.params(job_id=job_id))

    async def raw_job() -> object:
        return await (await driver.execute(job_sql[0], job_sql[1])).fetchall()

    async def api_job() -> object:
        async with hot.connection() as connection:
            return await jobs_repo.read_access(connection, job_id=job_id)

    app = create_app(settings)

    async def request(path: str, headers: list[tuple[bytes, bytes]]) -> object:
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"bench"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        await app(scope, receive, send)
        if sent[0]["status"] != 200:
            raise SystemExit(f"{path} answered {sent[0]['status']}")
        return sent

    signed_in = [(b"authorization", f"Bearer {token}".encode())]
    async with app.router.lifespan_context(app):
        print("GET /users/me")
        await timed("  verify the JWT (python-jose and our checks, kept per token)", decode)
        await timed("  auth query, raw psycopg (what the ceiling does)", raw_auth)
        await timed("  auth query, a hot read on psycopg (the API)", hot_auth)
        await timed("  auth query, through a read session", session_auth)
        await timed("  UserRead validation and JSON", user_json)
        await timed(
            "  the whole request, ASGI app in process",
            lambda: request("/api/v1/users/me", signed_in),
        )
        await counted(
            "  the whole request, Python function calls",
            lambda: request("/api/v1/users/me", signed_in),
        )
        print("GET /jobs (first page)")
        await timed("  list query, raw psycopg (what the ceiling does)", raw_jobs)
        await timed("  list query, through a read session (the API)", session_jobs)
        await timed("  JobRead validation of 20 jobs and JSON", jobs_json)
        await timed("  the whole request, ASGI app in process", lambda: request("/api/v1/jobs", []))
        await counted(
            "  the whole request, Python function calls", lambda: request("/api/v1/jobs", [])
        )
        print("GET /jobs/{id}")
        await timed("  job query, raw psycopg (what the ceiling does)", raw_job)
        await timed("  job query, a hot read on psycopg (the API)", api_job)
        await timed(
            "  the whole request, ASGI app in process",
            lambda: request(f"/api/v1/jobs/{job_id}", []),
        )
        await counted(
            "  the whole request, Python function calls",
            lambda: request(f"/api/v1/jobs/{job_id}", []),
        )
    await driver.close()
    await engine.dispose()


if __name__ == "__main__":
    default = load_settings(environment="development").database
    url = sys.argv[1] if len(sys.argv) > 1 else default.render_as_string(hide_password=False)
    asyncio.run(main(url))
