"""`python -m backend backup` and `restore`, as an operator runs them after losing a
database: a populated database backed up while a worker holds a task, the worker lost, the
backup restored into a new database, and a worker and the API carrying on there. Every mail
goes out once: what was sent before the backup is not sent again (its record came with the
backup), what waited in the queue is sent, and the task the lost worker held is run again
by the new one. The database's settings (`TimeZone`, `statement_timeout`) come back too.
"""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from backend.db import admin
from tests.test_server import start_server, stop_server
from tests.test_worker import (
    SmtpServer,
    add_user,
    ask_for_reset,
    command,
    database,
    smtp,
    sql,
    start_worker,
    stop,
    tasks,
    wait_for,
)

__all__ = ["database", "smtp"]  # fixtures this module's tests use


@pytest.fixture
def restored_url(database_url: URL) -> Iterator[URL]:
    url = database_url.set(database=f"jobboard_restored_{uuid.uuid4().hex[:12]}")
    try:
        yield url
    finally:
        admin.drop_database(url)


def direct(url: URL) -> str:
    """`url` as DATABASE_URL straight to PostgreSQL (pg_restore sets session state that a
    transaction-mode PgBouncer would hand to the app's next transactions)."""
    return url.render_as_string(hide_password=False)


def show(url: URL, setting: str) -> str:
    ((value,),) = sql(url, f"SHOW {setting}")
    return str(value)


def test_a_backup_restored_into_a_new_database_carries_on_without_sending_twice(
    database: URL, restored_url: URL, smtp: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    migrated = command(
        database, port, "migrate", DB_STATEMENT_TIMEOUT_MS="12000", DATABASE_URL=direct(database)
    )
    assert migrated.returncode == 0, migrated.stderr
    name = str(database.database)
    sql(database, f"ALTER DATABASE \"{name}\" SET work_mem TO '8MB'")
    ada, bob, carol = (add_user(database, f"{who}@example.com") for who in ("ada", "bob", "carol"))
    quick = {"WORKER_STALLED_SECONDS": "2", "WORKER_CONCURRENCY": "1"}

    # Sent before the backup.
    asyncio.run(ask_for_reset(database, ada))
    worker = start_worker(database, port, tmp_path / "first.log", **quick)
    try:
        wait_for(lambda: len(inbox.received) == 1, what="ada's mail")
        wait_for(lambda: tasks(database) == [], what="ada's task to finish")
        # In the worker's hands at the backup (its SMTP server stalls), then lost with it.
        inbox.mode = "stall"
        asyncio.run(ask_for_reset(database, carol))
        wait_for(lambda: inbox.rcpt_started == 2, what="the worker to start carol's mail")
        # Waiting in the queue at the backup (the one worker is busy).
        asyncio.run(ask_for_reset(database, bob))
        assert [task[2] for task in tasks(database)] == ["doing", "todo"]

        backup_file = tmp_path / "jobboard.dump"
        backed_up = command(
            database, port, "backup", str(backup_file), DATABASE_URL=direct(database)
        )
        assert backed_up.returncode == 0, backed_up.stderr
        assert backed_up.stdout.splitlines() == [
            f"backed up database {name} to {backup_file}",
            "set these again after a restore (ALTER DATABASE ... SET): work_mem=8MB",
        ]
    finally:
        worker.kill()  # the machine is lost, and its database with it
        worker.wait()
    inbox.mode = "accept"
    assert [message["To"] for message in inbox.received] == ["ada@example.com"]

    restored = command(
        restored_url,
        port,
        "restore",
        str(backup_file),
        DB_STATEMENT_TIMEOUT_MS="12000",
        DATABASE_URL=direct(restored_url),
    )
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith(f"restored {backup_file} into database ")
    assert show(restored_url, "TimeZone") == "UTC"
    assert show(restored_url, "statement_timeout") == "12s"
    assert sql(restored_url, "SELECT count(*) FROM users") == [(3,)]
    assert sql(restored_url, "SELECT count(*) FROM sent_mails") == [(1,)]

    worker = start_worker(restored_url, port, tmp_path / "second.log", **quick)
    server = start_server(restored_url)
    try:
        ready = httpx.get(f"{server.url}/health/ready")
        assert ready.status_code == 200, ready.text
        wait_for(lambda: len(inbox.received) == 3, seconds=60, what="bob's and carol's mails")
        wait_for(lambda: tasks(restored_url) == [], what="the restored tasks to finish")
    finally:
        stop_server(server)
        stop(worker)
    assert sorted(message["To"] for message in inbox.received) == [
        "ada@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
    assert sql(restored_url, "SELECT count(*) FROM sent_mails") == [(3,)]


def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(
    database: URL, smtp: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    _, port = smtp
    add_user(database, "ada@example.com")
    backup_file = tmp_path / "jobboard.dump"
    assert (
        command(
            database, port, "backup", str(backup_file), DATABASE_URL=direct(database)
        ).returncode
        == 0
    )
    add_user(database, "bob@example.com")

    again = command(database, port, "restore", str(backup_file), DATABASE_URL=direct(database))
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        f"error: restore failed: database {database.database} is not empty: restore into a"
        " new database, then point the app at it"
    ]
    assert sql(database, "SELECT count(*) FROM users") == [(2,)]

    missing = command(database, port, "restore", str(tmp_path / "nothing.dump"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"error: restore failed: no backup at {tmp_path}/nothing.dump"
    nowhere = command(database, port, "backup", str(tmp_path / "no" / "such" / "dir.dump"))
    assert nowhere.returncode == 1
    (line,) = nowhere.stderr.strip().splitlines()
    assert line.startswith("error: backup failed: pg_dump: error: could not open output file")
