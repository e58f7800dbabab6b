"""PgBouncer (Debian's, transaction mode) restarting under the app: while it is away every
request is its right answer or a 503 problem with Retry-After, never a 500; once it is back,
the app carries on without a restart of its own, and no acknowledged write is lost."""

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import URL

from backend.main import create_app
from tests.conftest import EMBEDDED, empty_every_table, make_settings
from tests.factories import DEFAULT_PASSWORD, assert_problem, unique_email
from tests.test_server import free_port
from tests.tools import debian_program

API = "/api/v1"


@dataclass
class Bouncer:
    config: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # PgBouncer refuses to run as root.
        user = ["-u", "postgres"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(  # noqa: S603
            [debian_program("pgbouncer"), *user, str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                psycopg.connect(
                    f"host=127.0.0.1 port={self.port} user=postgres dbname=pgbouncer",
                    autocommit=True,
                ).close()
                return
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise AssertionError("PgBouncer did not start")

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)  # immediate shutdown: clients are cut off
        self.process.wait(timeout=10)


def server_address(url: URL) -> str:
    """Where `url`'s server listens, as PgBouncer's `host=... port=...` (a Unix socket's
    folder for the built-in server)."""
    socket = url.query.get("host")
    host = url.host or (socket if isinstance(socket, str) else "127.0.0.1")
    return f"host={host} port={url.port or 5432}"


def through(url: URL, port: int) -> URL:
    """`url`'s database through the PgBouncer on `port`."""
    query = {key: value for key, value in url.query.items() if key != "host"}
    return url.set(host="127.0.0.1", port=port, query=query)


@pytest.fixture
def bouncer(tmp_path: Path, migrated_url: URL) -> Iterator[Bouncer]:
    port = free_port()
    (tmp_path / "users.txt").write_text('"postgres" ""\n')
    config = tmp_path / "pgbouncer.ini"
    config.write_text(
        f"[databases]\n* = {server_address(migrated_url)}\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {tmp_path / 'users.txt'}\npool_mode = transaction\n"
        "admin_users = postgres\ndefault_pool_size = 10\n"
    )
    tmp_path.chmod(0o755)
    running = Bouncer(config, port)
    running.start()
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.stop()


@pytest.mark.skipif(
    EMBEDDED,
    reason="PgBouncer runs as the postgres user, and the built-in server's socket is its own"
    " user's alone",
)
async def test_a_restarting_pgbouncer_costs_503s_never_500s(
    bouncer: Bouncer, migrated_url: URL
) -> None:
    settings = make_settings(
        through(migrated_url, bouncer.port),
        direct=True,
        db_prepared_statements=False,
        rate_limits_enabled=False,
    )
    app = create_app(settings)
    try:
        await restart_under(app, bouncer)
    finally:
        empty_every_table(migrated_url)


async def restart_under(app: FastAPI, bouncer: Bouncer) -> None:
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        first = {"email": unique_email("bounced"), "password": DEFAULT_PASSWORD, "full_name": "B"}
        assert (await client.post(f"{API}/auth/register", json=first)).status_code == 201

        bouncer.stop()
        second = {**first, "email": unique_email("bounced")}
        answers = [
            await client.get(f"{API}/jobs"),
            await client.post(f"{API}/auth/register", json=second),
            await client.post(
                f"{API}/auth/token", data={"username": first["email"], "password": DEFAULT_PASSWORD}
            ),
            await client.get("/health/ready"),
        ]
        for answer in answers:
            assert_problem(answer, 503)
            assert int(answer.headers["Retry-After"]) > 0

        bouncer.start()
        assert (await client.get(f"{API}/jobs")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200
        # The acknowledged account is there; the refused one was never written.
        token = await client.post(
            f"{API}/auth/token", data={"username": first["email"], "password": DEFAULT_PASSWORD}
        )
        assert token.status_code == 200
        assert (await client.post(f"{API}/auth/register", json=second)).status_code == 201
