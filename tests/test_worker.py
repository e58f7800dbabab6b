"""Workers as deployed: `python -m backend worker` processes, a real SMTP server on
loopback, committed data. What a request asks for is sent even if the API dies right
after answering; a refusing SMTP server means retries, then a failed task an operator
retries; a worker killed mid-task leaves its task to another; two workers catching up on
a day of alerts send each saved search's mail once."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from sqlalchemy.engine import URL

from backend.db import admin
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.queue import SEND_PASSWORD_RESET, enqueue
from backend.services import alerts
from tests.conftest import TEST_SECRET_KEY, app_database, make_settings
from tests.test_server import start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]
PASSWORD_HASH = "$bcrypt-sha256$not-a-real-hash"


class SmtpServer:
    """An SMTP server on loopback that accepts, refuses (451) or stalls, as told."""

    def __init__(self) -> None:
        self.mode = "accept"
        # Accepting this many in all, then refusing (None: no such limit).
        self.accept_at_most: int | None = None
        self.received: list[EmailMessage] = []
        self.refused = 0
        self.rcpt_started = 0

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self.rcpt_started += 1
        if self.mode == "stall":
            await asyncio.sleep(30)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        full = self.accept_at_most is not None and len(self.received) >= self.accept_at_most
        if self.mode == "refuse" or full:
            self.refused += 1
            return "451 4.3.0 Try again later"
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.received if message["To"] == address]


@contextmanager
def serving(server: SmtpServer) -> Iterator[int]:
    """`server` listening on a free loopback port (the port), until the block ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpServer, int]]:
    server = SmtpServer()
    with serving(server) as port:
        yield server, port


@pytest.fixture
def database(database_url: URL) -> Iterator[URL]:
    url = database_url.set(database=f"jobboard_worker_{uuid.uuid4().hex[:12]}")
    admin.create_database(url)
    admin.upgrade(url)
    try:
        yield url
    finally:
        admin.drop_database(url)


def worker_environment(url: URL, smtp_port: int, **env: str) -> dict[str, str]:
    app_url, prepared = app_database(url)
    return {
        **os.environ,
        "DATABASE_URL": app_url.render_as_string(hide_password=False),
        "DB_PREPARED_STATEMENTS": str(prepared).lower(),
        # PgBouncer in transaction mode cannot LISTEN: poll instead.
        "WORKER_LISTEN_NOTIFY": str(prepared).lower(),
        "SECRET_KEY": TEST_SECRET_KEY,
        "BCRYPT_ROUNDS": "4",
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_STARTTLS": "false",
        "SMTP_TIMEOUT_SECONDS": "60",
        "FRONTEND_URL": "https://jobs.example",
        "WORKER_POLL_SECONDS": "0.2",
        "TASK_MAX_ATTEMPTS": "3",
        "TASK_RETRY_BASE_SECONDS": "1",
        "LOG_LEVEL": "warning",
        **env,
    }


def start_worker(
    url: URL, smtp_port: int, log: Path, *args: str, **env: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "backend", "worker", *args],
        cwd=ROOT,
        env=worker_environment(url, smtp_port, **env),
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def command(url: URL, smtp_port: int, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "backend", *args],
        cwd=ROOT,
        env=worker_environment(url, smtp_port, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_for(condition: Callable[[], bool], *, seconds: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def sql(url: URL, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(admin.conninfo(url), autocommit=True) as connection:
        cursor = connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def add_user(url: URL, email: str, role: str = "candidate") -> int:
    ((user_id,),) = sql(
        url,
        "INSERT INTO users (email, hashed_password, full_name, role, email_verified_at) "
        "VALUES (%s, %s, %s, %s, now()) RETURNING id",
        email,
        PASSWORD_HASH,
        email.split("@")[0].title(),
        role,
    )
    return int(user_id)


def tasks(url: URL, name: str = SEND_PASSWORD_RESET) -> list[tuple[Any, ...]]:
    """The queue's `name` tasks (a worker also queues its periodic ones)."""
    return sql(
        url,
        "SELECT id, task_name, status, attempts FROM procrastinate_jobs WHERE task_name = %s "
        "ORDER BY id",
        name,
    )


async def ask_for_reset(url: URL, user_id: int) -> None:
    """What `POST /auth/password-reset` commits, for a known user."""
    settings = make_settings(url, direct=True)
    engine = create_engine(settings, role="tests")
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            await enqueue(db, SEND_PASSWORD_RESET, user_id=user_id)
    finally:
        await engine.dispose()


def test_a_committed_request_is_mailed_although_the_api_died_right_after(
    database: URL, smtp: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    add_user(database, "ada@example.com")
    # The API alone, no worker: it answers, then is killed outright.
    server = start_server(database)
    try:
        import httpx

        answer = httpx.post(
            f"{server.url}/api/v1/auth/password-reset", json={"email": "ada@example.com"}
        )
        assert answer.status_code == 202
        refused = httpx.post(
            f"{server.url}/api/v1/auth/register",
            json={
                "email": "ada@example.com",
                "password": "long enough passphrase",
                "full_name": "A",
            },
        )
        assert refused.status_code == 409  # failed: asks for no confirmation mail
    finally:
        server.process.kill()
        server.process.wait()
    assert [task[1] for task in tasks(database)] == [SEND_PASSWORD_RESET]
    assert inbox.received == []

    heartbeat = {"WORKER_HEARTBEAT_FILE": str(tmp_path / "alive")}
    assert command(database, port, "worker", "--check", **heartbeat).returncode == 1
    worker = start_worker(database, port, tmp_path / "worker.log", **heartbeat)
    try:
        wait_for(lambda: len(inbox.received) == 1, what="the reset mail")
        wait_for(lambda: tasks(database) == [], what="the task to finish")
        alive = command(database, port, "worker", "--check", **heartbeat)
        assert alive.returncode == 0, alive.stderr
    finally:
        stop(worker)
    # Stopped: no longer alive (what the compose and Kubernetes health checks ask).
    assert command(database, port, "worker", "--check", **heartbeat).returncode == 1
    (mail,) = inbox.to("ada@example.com")
    assert mail["Subject"] == "Reset your password"
    assert "https://jobs.example/reset-password?token=" in str(mail.get_body(("plain",)))
    assert len(inbox.received) == 1
    assert sql(database, "SELECT count(*) FROM sent_mails") == [(1,)]
    assert sql(database, "SELECT count(*) FROM password_reset_tokens") == [(1,)]


def test_a_refusing_smtp_server_means_retries_then_a_failed_task_to_retry(
    database: URL, smtp: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    inbox.mode = "refuse"
    user_id = add_user(database, "grace@example.com")
    asyncio.run(ask_for_reset(database, user_id))
    server = start_server(database)
    worker = start_worker(database, port, tmp_path / "worker.log")
    try:
        # Three tries (TASK_MAX_ATTEMPTS), a second apart (1 ** attempt), then failed.
        wait_for(lambda: [t[2:] for t in tasks(database)] == [("failed", 3)], what="failure")
        assert inbox.refused == 3
        assert inbox.received == []
        # No reset link was left behind for a mail that never went out.
        assert sql(database, "SELECT count(*) FROM password_reset_tokens") == [(0,)]
        # The API kept answering meanwhile.
        import httpx

        assert httpx.get(f"{server.url}/health/ready").status_code == 200

        listed = command(database, port, "tasks", "failed")
        assert listed.returncode == 0, listed.stderr
        (task_id, *_rest) = tasks(database)[0]
        assert f"{task_id}\t{SEND_PASSWORD_RESET}(user_id={user_id})\t3 attempts" in listed.stdout

        inbox.mode = "accept"
        retried = command(database, port, "tasks", "retry", "--all")
        assert retried.returncode == 0, retried.stderr
        assert "1 tasks queued again" in retried.stdout
        wait_for(lambda: len(inbox.received) == 1, what="the mail after the retry")
        wait_for(lambda: tasks(database) == [], what="the retried task to finish")
        assert command(database, port, "tasks", "failed").stdout.strip() == "no failed tasks"
        missing = command(database, port, "tasks", "retry", "999999")
        assert missing.returncode == 1
        assert "not failed tasks: 999999" in missing.stderr
    finally:
        stop(worker)
        stop_server(server)
    assert len(inbox.to("grace@example.com")) == 1


def test_a_task_of_a_worker_killed_mid_send_is_run_by_another(
    database: URL, smtp: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    inbox.mode = "stall"
    user_id = add_user(database, "linus@example.com")
    asyncio.run(ask_for_reset(database, user_id))
    quick = {"WORKER_STALLED_SECONDS": "2"}
    first = start_worker(database, port, tmp_path / "first.log", **quick)
    try:
        wait_for(lambda: inbox.rcpt_started == 1, what="the first worker to start sending")
    finally:
        first.kill()
        first.wait()
    assert [t[2] for t in tasks(database)] == ["doing"]
    inbox.mode = "accept"
    second = start_worker(database, port, tmp_path / "second.log", **quick)
    try:
        # The second worker's periodic check finds the dead worker's task and runs it.
        wait_for(
            lambda: len(inbox.received) == 1, seconds=60, what="the mail from the second worker"
        )
        wait_for(lambda: tasks(database) == [], what="the task to finish")
    finally:
        stop(second)
    assert len(inbox.to("linus@example.com")) == 1


def test_two_workers_catch_up_a_missed_day_of_alerts_once_each(
    database: URL, smtp: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    now = datetime.now(UTC)
    employer = add_user(database, "boss@example.com", role="employer")
    ((company_id,),) = sql(
        database,
        "INSERT INTO companies (name, owner_id) VALUES ('Acme', %s) RETURNING id",
        employer,
    )
    # Thirty saved searches two days overdue (the workers were down), each for one word.
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    searches: dict[int, tuple[str, str]] = {}
    for number in range(30):
        email = f"seeker{number}@example.com"
        user_id = add_user(database, email)
        word = words[number % len(words)]
        ((saved_id,),) = sql(
            database,
            "INSERT INTO saved_searches (user_id, name, query, frequency, alerted_through, "
            "next_alert_at) VALUES (%s, %s, %s, 'daily', %s, %s) RETURNING id",
            user_id,
            word,
            f'{{"q": "{word}"}}',
            now - timedelta(days=3),
            now - timedelta(days=2),
        )
        searches[saved_id] = (email, word)
    # Jobs published over those days, and some after the last due time (for tomorrow).
    published: dict[str, list[int]] = {word: [] for word in words}
    for hours in range(2, 72, 3):
        word = words[hours % len(words)]
        ((job_id,),) = sql(
            database,
            "INSERT INTO jobs (company_id, title, description, location, workplace, "
            "employment_type, status, published_at) VALUES (%s, %s, 'Work.', 'Lisbon', "
            "'remote', 'full_time', 'published', %s) RETURNING id",
            company_id,
            f"{word.title()} engineer",
            now - timedelta(hours=hours),
        )
        published[word].append(job_id)
    # Due two days ago and, a day later, one day ago: the one mail covers both windows.
    last_due = now - timedelta(days=1)

    settings = make_settings(database, direct=True)

    async def schedule() -> int:
        engine = create_engine(settings, role="tests")
        try:
            return await alerts.schedule_due(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    assert asyncio.run(schedule()) == 30
    workers = [
        start_worker(database, port, tmp_path / f"w{n}.log", "--until-empty") for n in range(2)
    ]
    try:
        for worker in workers:
            assert worker.wait(timeout=120) == 0
    finally:
        for worker in workers:
            stop(worker)
    assert tasks(database, "send_job_alerts") == []
    for saved_id, (email, word) in searches.items():
        expected = {
            job_id
            for job_id in published[word]
            if sql(database, "SELECT published_at < %s FROM jobs WHERE id = %s", last_due, job_id)[
                0
            ][0]
        }
        mails = inbox.to(email)
        if not expected:
            assert mails == []
            continue
        (mail,) = mails
        body = str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        mailed = {int(part.split()[0]) for part in body.split("https://jobs.example/jobs/")[1:]}
        assert mailed == expected, (saved_id, word)
        ((through,),) = sql(
            database, "SELECT alerted_through FROM saved_searches WHERE id = %s", saved_id
        )
        assert through == last_due


def test_a_batch_of_alerts_whose_mail_server_refuses_midway_sends_each_mail_once(
    database: URL, smtp: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    now = datetime.now(UTC)
    employer = add_user(database, "chief@example.com", role="employer")
    ((company_id,),) = sql(
        database,
        "INSERT INTO companies (name, owner_id) VALUES ('Acme', %s) RETURNING id",
        employer,
    )
    sql(
        database,
        "INSERT INTO jobs (company_id, title, description, location, workplace, "
        "employment_type, status, published_at) VALUES (%s, 'Kayak guide', 'Paddle.', "
        "'Porto', 'onsite', 'full_time', 'published', %s)",
        company_id,
        now - timedelta(hours=3),
    )
    addresses = [f"paddler{number}@example.com" for number in range(5)]
    for email in addresses:
        sql(
            database,
            "INSERT INTO saved_searches (user_id, name, query, frequency, alerted_through, "
            "next_alert_at) VALUES (%s, 'Kayaks', '{\"q\": \"kayak\"}', 'daily', %s, %s)",
            add_user(database, email),
            now - timedelta(days=1),
            now - timedelta(minutes=5),
        )
    settings = make_settings(database, direct=True)

    async def schedule() -> int:
        engine = create_engine(settings, role="tests")
        try:
            return await alerts.schedule_due(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    def run() -> None:
        worker = start_worker(database, port, tmp_path / "worker.log", "--until-empty")
        try:
            assert worker.wait(timeout=120) == 0
        finally:
            stop(worker)

    # One batch: the server takes two of its mails and refuses the third; the task fails.
    inbox.accept_at_most = 2
    assert asyncio.run(schedule()) == 5
    run()
    assert len(inbox.received) == 2
    assert inbox.refused == 1
    ((task_id, _, status, attempts),) = tasks(database, "send_job_alerts")
    assert (status, attempts) == ("todo", 1)  # to be tried again, later
    # Its retry, brought forward, sends the three not sent, and none of the two again.
    inbox.accept_at_most = None
    sql(database, "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = %s", task_id)
    run()
    assert sorted(str(mail["To"]) for mail in inbox.received) == addresses
    assert tasks(database, "send_job_alerts") == []
    assert asyncio.run(schedule()) == 0


def test_an_operator_runs_a_periodic_task_now_and_reads_the_queue(
    database: URL, smtp: tuple[SmtpServer, int]
) -> None:
    from backend.db.queue import PERIODIC, queue
    from backend.tasks import handlers

    _, port = smtp
    # Each name the command takes is a periodic task the workers run.
    periodic = {each.task.name for each in queue.periodic_registry.periodic_tasks.values()}
    assert set(PERIODIC.values()) <= periodic <= set(handlers.task_names())
    empty = command(database, port, "tasks", "status")
    assert empty.returncode == 0, empty.stderr
    assert "(no tasks)" in empty.stdout
    queued = command(database, port, "tasks", "run", "purge")
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout == "purge queued: the next free worker runs it\n"
    again = command(database, port, "tasks", "run", "purge")
    assert again.stdout == "purge already waits for a worker: nothing added\n"
    assert [row[2] for row in tasks(database, "purge")] == ["todo"]
    state = command(database, port, "tasks", "status").stdout.splitlines()
    assert state[0].split() == ["task", "waiting", "running", "failed"]
    assert ["purge", "1", "0", "0"] in [line.split() for line in state[1:]]
    unknown = command(database, port, "tasks", "run", "everything")
    assert unknown.returncode == 2
    assert "invalid choice" in unknown.stderr
    ran = command(database, port, "worker", "--until-empty")
    assert ran.returncode == 0, ran.stderr
    # Run and done (succeeded tasks are deleted).
    assert [row for row in tasks(database, "purge") if row[2] == "todo"] == []
