"""A daily job-alert run at scale: `python -m bench.alerts [--jobs N] [--searches M] [--keep]`.

Seeds (or reuses, with --keep) `jobboard_bench_<jobs>`, adds M saved searches like users
make them (one to three words of the seeded vocabulary, often a workplace, a tag, a city
or a minimum salary), all due, each covering the last day; then does what production
does: the periodic task asks for an alert task per batch of due searches
(`alerts.schedule_due`), and `python -m backend worker` processes (two, four tasks at
once each, stopped once no alert task is left) match each batch together and send its
mails, through the file mail backend into a temporary folder. Before that, the first
batch is prepared apart and timed (matching, and the rest). It reports the wall time,
alerts a second, the mails written, what PostgreSQL did meanwhile (pg_stat_database:
transactions, blocks read and hit, rows fetched; each per alert) and the workers' CPU, and
checks that the matching of a sample of the searches, as the alert task runs it, never
scans the jobs table (EXPLAIN). Results go to bench/results/<time>-alerts/.
"""

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from backend.core.config import load_settings
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.repository import job_search as search_repo
from backend.db.repository import saved_searches as saved_repo
from backend.schemas.job import JobSearch
from backend.seed_vocabulary import CITIES, ROLES
from backend.services import alerts
from backend.services.jobs import to_filters
from bench.run import RESULTS, env_for, log, prepare_database

WORKERS, CONCURRENCY = 2, 4
STATS = ("xact_commit", "blks_read", "blks_hit", "tup_returned", "tup_fetched", "tup_updated")


def searches(rng: random.Random, count: int) -> list[dict[str, Any]]:
    words = sorted(
        {word.lower() for role in ROLES for word in role.split()}
        | {tag for tags in ROLES.values() for tag in tags if " " not in tag}
    )
    tags = sorted({tag for tags in ROLES.values() for tag in tags})
    made = []
    for _ in range(count):
        query: dict[str, Any] = {"q": " ".join(rng.sample(words, rng.choice((1, 1, 2, 3))))}
        if rng.random() < 0.4:
            query["workplace"] = rng.choice(["remote", "hybrid", "onsite"])
        if rng.random() < 0.3:
            query["tag"] = [rng.choice(tags)]
        if rng.random() < 0.2:
            query["location"] = rng.choice(CITIES)[0]
        if rng.random() < 0.2:
            query["salary_min"] = rng.randrange(40_000, 120_000, 5_000)
        if rng.random() < 0.05:
            query = {key: value for key, value in query.items() if key != "q"}
        made.append(JobSearch.model_validate(query).model_dump(mode="json", exclude_none=True))
    return made


def add_searches(url: str, count: int, rng: random.Random) -> None:
    """`count` saved searches of the seeded candidates, all due, each window the last day."""
    now = datetime.now(UTC)
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("DELETE FROM saved_searches")
        conn.execute("DELETE FROM procrastinate_jobs")
        conn.execute("DELETE FROM sent_mails")
        users = [
            row[0]
            for row in conn.execute("SELECT id FROM users WHERE role = 'candidate' ORDER BY id")
        ]
        with conn.cursor().copy(
            "COPY saved_searches (user_id, name, query, frequency, alerted_through, "
            "next_alert_at) FROM STDIN"
        ) as copy:
            for number, query in enumerate(searches(rng, count)):
                copy.write_row(
                    (
                        users[number % len(users)],
                        f"Search {number}",
                        json.dumps(query),
                        "daily",
                        now - timedelta(days=1, minutes=5),
                        now - timedelta(minutes=5),
                    )
                )
        conn.execute("ANALYZE saved_searches")


def database_stats(url: str) -> dict[str, int]:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            f"SELECT {', '.join(STATS)} FROM pg_stat_database WHERE datname = current_database()"  # noqa: S608
        ).fetchone()
    assert row is not None
    return dict(zip(STATS, (int(value) for value in row), strict=True))


async def _plans(url: str, sample: list[dict[str, Any]]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements the alerts' matching sends for the
    sampled searches together, over the last day: captured as the repository sends them,
    then sent again in order in a transaction of their own, the copy's INSERT and each
    matching SELECT explained (EXPLAIN ANALYZE runs them, so the copy is filled as it
    was)."""
    engine = create_async_engine(url)
    captured: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        captured.append((statement, parameters))

    now = datetime.now(UTC)
    watches = [
        search_repo.Watch(
            key=number,
            filters=to_filters(JobSearch.model_validate(query)),
            start=now - timedelta(days=1),
            end=now,
        )
        for number, query in enumerate(sample)
    ]
    found = []
    try:
        async with AsyncSession(engine) as session:
            async with session.begin():
                event.listen(engine.sync_engine, "before_cursor_execute", record)
                try:
                    await search_repo.new_matches(
                        session, watches=watches, limit=alerts.MAX_JOBS_IN_ALERT
                    )
                finally:
                    event.remove(engine.sync_engine, "before_cursor_execute", record)
                await session.rollback()
            async with session.begin():
                connection = await session.connection()
                for statement, parameters in captured:
                    if not statement.lstrip().upper().startswith(("SELECT", "INSERT")):
                        await connection.exec_driver_sql(statement, parameters)
                        continue
                    plan = await connection.exec_driver_sql(
                        f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters
                    )
                    found.append(f"{statement}\n" + "\n".join(plan.scalars()))
                await session.rollback()
    finally:
        await engine.dispose()
    return found


async def one_batch(url: str) -> dict[str, Any]:
    """The first batch of due searches (ALERT_BATCH) as an alert task prepares it, in a
    transaction rolled back: `alerts.due_alerts` timed whole, and the statements of its
    matching (the window's copy, its index, the matching statements) timed apart; the
    rest is locking the searches, writing the mails and moving the quiet ones on."""
    settings = load_settings(database_url=url, environment="development")
    engine = create_engine(settings, role="bench")
    started_at: dict[int, float] = {}
    matching = [0.0]

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started_at[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        took = time.perf_counter() - started_at.pop(id(cursor), time.perf_counter())
        if "alert_window" in statement:
            matching[0] += took

    try:
        async with create_sessionmaker(engine)() as db:
            async with db.begin():
                ids = await saved_repo.due_ids(
                    db, due_by=datetime.now(UTC), after_id=0, limit=alerts.ALERT_BATCH
                )
            event.listen(engine.sync_engine, "before_cursor_execute", before)
            event.listen(engine.sync_engine, "after_cursor_execute", after)
            try:
                async with db.begin():
                    started = time.perf_counter()
                    due = await alerts.due_alerts(db, settings, saved_search_ids=ids)
                    whole = time.perf_counter() - started
                    await db.rollback()
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", before)
                event.remove(engine.sync_engine, "after_cursor_execute", after)
    finally:
        await engine.dispose()
    return {
        "searches": len(ids),
        "mails_written": len(due),
        "seconds": round(whole, 3),
        "matching_seconds": round(matching[0], 3),
        "rest_seconds": round(whole - matching[0], 3),
    }


async def schedule(url: str) -> int:
    settings = load_settings(database_url=url, environment="development")
    engine = create_engine(settings, role="bench")
    try:
        return await alerts.schedule_due(create_sessionmaker(engine))
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="reuse the seeded database")
    args = parser.parse_args()
    server = load_settings(environment="development").database
    url = server.set(database=f"jobboard_bench_{args.jobs}").render_as_string(hide_password=False)
    prepare_database(url, args.jobs, reuse=args.keep)
    rng = random.Random(7)  # noqa: S311 - repeatable data, not secrets
    add_searches(url, args.searches, rng)
    log(f"{args.searches} saved searches due")
    sample = searches(random.Random(7), 40)  # noqa: S311

    batch = asyncio.run(one_batch(url))
    log(f"one batch prepared apart: {batch}")
    mail = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    before = database_stats(url)
    started = time.perf_counter()
    asked = asyncio.run(schedule(url))
    scheduled = time.perf_counter() - started
    log(f"{asked} alert tasks asked for in {scheduled:.1f}s")
    environment = env_for(
        url,
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(mail),
        LOG_LEVEL="warning",
        WORKER_HEARTBEAT_FILE=str(mail / "alive"),
    )
    workers = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "backend", "worker", "--until-empty"),
                *("--concurrency", str(CONCURRENCY)),
            ],
            env=environment,
        )
        for _ in range(WORKERS)
    ]
    # Done when no alert task waits or runs (the workers would go on with whatever
    # periodic task comes due meanwhile, an hourly one's mails say: they are stopped then).
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        while conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'send_job_alerts' "
            "AND status IN ('todo', 'doing')"
        ).fetchone() != (0,):
            time.sleep(0.5)
    elapsed = time.perf_counter() - started
    after = database_stats(url)
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    mails = len(list(mail.glob("*.eml")))
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        left = conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'send_job_alerts'"
        ).fetchone()
        still_due = conn.execute(
            "SELECT count(*) FROM saved_searches WHERE next_alert_at <= now()"
        ).fetchone()
        per_day = conn.execute(
            "SELECT count(*) FROM jobs WHERE status = 'published' "
            "AND published_at > now() - interval '1 day'"
        ).fetchone()
    explained = asyncio.run(_plans(url, sample))
    scans = [plan for plan in explained if "Seq Scan on jobs" in plan]
    delta = {key: after[key] - before[key] for key in STATS}
    result = {
        "jobs": args.jobs,
        "jobs_published_in_the_window": per_day[0] if per_day else None,
        "saved_searches": args.searches,
        "alert_tasks": asked,
        "schedule_seconds": round(scheduled, 2),
        "wall_seconds": round(elapsed, 1),
        "alerts_per_second": round(asked / elapsed, 1),
        "mails": mails,
        "tasks_left": left[0] if left else None,
        "searches_still_due": still_due[0] if still_due else None,
        "worker_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "database": delta,
        "database_per_alert": {
            key: round(value / max(asked, 1), 1) for key, value in delta.items()
        },
        "one_batch_prepared_apart": batch,
        "sampled_plans": len(explained),
        "sampled_plans_scanning_jobs": len(scans),
        "workers": WORKERS,
        "concurrency": CONCURRENCY,
        "cpus": os.cpu_count(),
    }
    out = RESULTS / f"{datetime.now(UTC):%Y-%m-%dT%H%M%SZ}-alerts"
    out.mkdir(parents=True)
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "explain-alerts.txt").write_text("\n\n".join(explained) + "\n")
    print(json.dumps(result, indent=2))
    for path in mail.glob("*"):
        path.unlink()
    mail.rmdir()
    if scans:
        sys.exit("an alert's matching query scanned the jobs table: see explain-alerts.txt")


if __name__ == "__main__":
    main()
