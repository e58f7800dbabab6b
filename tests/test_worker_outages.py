"""The worker outlives what the API outlives: a PostgreSQL of its own (initdb) is stopped
for ten seconds, or has its connections killed, under a running `python -m backend worker`,
with LISTEN/NOTIFY on and off. The worker stays up, carries on with the next task by itself,
and every line it writes meanwhile is JSON that names no task argument."""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope, Session

from backend.db import admin
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.queue import SEND_EMAIL_VERIFICATION, enqueue
from tests.conftest import make_settings
from tests.test_read_replica import BIN, Cluster, new_cluster
from tests.test_worker import (
    SmtpServer,
    add_user,
    ask_for_reset,
    serving,
    sql,
    start_worker,
    stop,
    wait_for,
)

pytestmark = pytest.mark.skipif(not (BIN / "initdb").exists(), reason="no PostgreSQL server")

# As long as the outage: the worker's retries must outlast it, not race it.
OUTAGE_SECONDS = 10


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A migrated PostgreSQL of the module's own, which its tests may stop."""
    root = Path(tempfile.mkdtemp(prefix="jobboard-outage-"))
    shutil.chown(root, "postgres") if os.geteuid() == 0 else None
    server = new_cluster(root, "data")
    try:
        server.start()
        admin.create_database(server.url)
        admin.upgrade(server.url)
        yield server
    finally:
        if (server.directory / "postmaster.pid").exists():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpServer, int]]:
    server = SmtpServer()
    with serving(server) as port:
        yield server, port


def _worker(cluster: Cluster, smtp_port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """`python -m backend worker` on `cluster` directly (never through PgBouncer: the
    outage is the server's), logging JSON at INFO into `log`."""
    return start_worker(
        cluster.url,
        smtp_port,
        log,
        DATABASE_URL=cluster.url.render_as_string(hide_password=False),
        DB_PREPARED_STATEMENTS="true",
        LOG_LEVEL="info",
        LOG_FORMAT="json",
        **env,
    )


def _reset_mailed(cluster: Cluster, inbox: SmtpServer, address: str, count: int) -> None:
    user_id = add_user(cluster.url, address)
    asyncio.run(ask_for_reset(cluster.url, user_id))
    wait_for(lambda: len(inbox.to(address)) == count, seconds=60, what=f"mail {count}")


def _lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("listen", [True, False], ids=["listen-notify", "polling"])
@pytest.mark.parametrize("outage", ["stop", "killed-connections"])
def test_the_worker_carries_on_after_the_database_comes_back(
    cluster: Cluster,
    smtp: tuple[SmtpServer, int],
    tmp_path: Path,
    listen: bool,
    outage: str,
) -> None:
    inbox, port = smtp
    log = tmp_path / "worker.log"
    worker = _worker(
        cluster,
        port,
        log,
        WORKER_LISTEN_NOTIFY=str(listen).lower(),
        # Heartbeats and the stalled-worker check run often, so that they meet the outage.
        WORKER_STALLED_SECONDS="6",
    )
    first = f"first-{uuid.uuid4().hex[:8]}@example.com"
    second = f"second-{uuid.uuid4().hex[:8]}@example.com"
    try:
        _reset_mailed(cluster, inbox, first, 1)
        named = sql(
            cluster.url,
            "SELECT DISTINCT application_name FROM pg_stat_activity "
            "WHERE datname = current_database()",
        )
        # The tasks' engine and the queue's own connections, each named for what it is.
        assert {("jobboard-worker",), ("jobboard-queue",)} <= set(named)
        if outage == "stop":
            cluster.stop()
            time.sleep(OUTAGE_SECONDS)
            assert worker.poll() is None, log.read_text()[-3000:]
            cluster.start()
        else:
            sql(
                cluster.url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
        # Long enough for every side task of the worker to have met the outage.
        time.sleep(8)
        assert worker.poll() is None, log.read_text()[-3000:]
        _reset_mailed(cluster, inbox, second, 1)
        assert worker.poll() is None
    finally:
        stop(worker)
    assert worker.returncode == 0
    lines = _lines(log)
    assert lines
    for line in lines:
        record = json.loads(line)  # every line, tracebacks included, is one JSON object
        assert first not in line, line
        assert second not in line, line
        assert {"level", "message"} <= record.keys()
    if outage == "stop":
        assert any("database" in json.loads(line)["message"] for line in lines)


def test_a_worker_stopped_with_a_task_in_hand_names_the_task_not_its_arguments(
    cluster: Cluster, smtp: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    inbox.mode = "stall"  # the mail server keeps the task in hand
    log = tmp_path / "worker.log"
    worker = _worker(cluster, port, log)
    user_id = add_user(cluster.url, f"held-{uuid.uuid4().hex[:8]}@example.com")
    try:
        asyncio.run(ask_for_reset(cluster.url, user_id))
        wait_for(lambda: inbox.rcpt_started == 1, what="the worker to start sending")
        worker.send_signal(signal.SIGTERM)
        wait_for(lambda: "Waiting for job to finish" in log.read_text(), what="the stop")
    finally:
        worker.kill()
        worker.wait()
    held = [
        json.loads(line)["message"] for line in _lines(log) if "Waiting for job to finish" in line
    ]
    # A periodic task may start in the same moment and be named too; the mail is named once.
    resets = [message for message in held if "send_password_reset[" in message]
    assert len(resets) == 1, held
    assert "user_id" not in log.read_text()


class StoppingSmtp(SmtpServer):
    """Stops the database as it takes the first mail, and only then says it accepted it:
    the one window a mail can be sent twice (accepted, its record not yet committed)."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__()
        self.cluster = cluster

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if not self.received:
            self.cluster.stop()
        return await super().handle_DATA(server, session, envelope)


def test_a_mail_accepted_as_the_database_went_away_comes_again_as_the_same_message(
    cluster: Cluster, tmp_path: Path
) -> None:
    inbox = StoppingSmtp(cluster)
    log = tmp_path / "worker.log"
    address = f"window-{uuid.uuid4().hex[:8]}@example.com"
    (user_id,) = sql(
        cluster.url,
        "INSERT INTO users (email, hashed_password, full_name, role) "
        "VALUES (%s, %s, 'Window', 'candidate') RETURNING id",
        address,
        "$bcrypt-sha256$not-a-real-hash",
    )[0]
    with serving(inbox) as port:
        worker = _worker(cluster, port, log, WORKER_STALLED_SECONDS="4")
        try:
            asyncio.run(_ask_for_confirmation(cluster, user_id, address))
            wait_for(lambda: len(inbox.to(address)) == 1, what="the first copy")
            time.sleep(2)  # the worker meets the closed database
            cluster.start()
            # The task, never recorded as done, runs again once its first try is seen
            # stalled.
            wait_for(lambda: len(inbox.to(address)) == 2, seconds=90, what="the second copy")
            time.sleep(6)  # and then it is recorded: no third
            assert worker.poll() is None
        finally:
            stop(worker)
            if not (cluster.directory / "postmaster.pid").exists():
                cluster.start()
    first, second = inbox.to(address)
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].endswith("@jobboard>")


async def _ask_for_confirmation(cluster: Cluster, user_id: int, address: str) -> None:
    """What registering commits: the confirmation mail's task."""
    settings = make_settings(cluster.url, direct=True)
    engine = create_engine(settings, role="tests")
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            await enqueue(db, SEND_EMAIL_VERIFICATION, user_id=user_id, email=address)
    finally:
        await engine.dispose()
