"""A real streaming standby (initdb, then `pg_basebackup -R`) as DATABASE_READ_URL.

Anonymous public reads go to it while it keeps up; signed-in callers and every write go to
the primary; a standby that lags past the bound or disappears sends reads back to the
primary, and no request meets a 500.
"""

import asyncio
import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import URL, make_url

from backend.db import admin
from backend.db.models import Role
from backend.main import create_app
from tests.conftest import make_settings
from tests.factories import DEFAULT_PASSWORD, assert_problem
from tests.test_races import live_job, live_user
from tests.test_server import free_port

API = "/api/v1"
BIN = next(
    (path for path in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)),
    Path("/usr/lib/postgresql/15/bin"),
)

pytestmark = pytest.mark.skipif(not (BIN / "initdb").exists(), reason="no PostgreSQL server")


def as_postgres(*command: str | Path) -> None:
    """initdb and pg_ctl refuse to run as root."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *map(str, command)], check=True, capture_output=True, timeout=60)  # noqa: S603


@dataclass
class Cluster:
    directory: Path
    port: int

    @property
    def url(self) -> URL:
        return make_url(f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/jobboard")

    def start(self) -> None:
        as_postgres(
            BIN / "pg_ctl", "-D", self.directory, "-l", f"{self.directory}.log", "-w", "start"
        )

    def stop(self) -> None:
        """A fast shutdown; one still waiting after 30 s (seen once on a loaded machine) is
        reported with the server's log, as a warning, and finished by an immediate one: the
        tests' subject is what the server's clients do while it is down."""
        try:
            as_postgres(
                BIN / "pg_ctl", "-D", self.directory, "-m", "fast", "-t", "30", "-w", "stop"
            )
        except subprocess.CalledProcessError:
            log = Path(f"{self.directory}.log")
            tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
            warnings.warn(f"fast shutdown still waiting after 30 s; the log:\n{tail}", stacklevel=2)
            as_postgres(BIN / "pg_ctl", "-D", self.directory, "-m", "immediate", "-w", "stop")

    def execute(self, statement: str) -> None:
        conninfo = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(statement)

    def holds_job(self, job_id: int) -> bool:
        conninfo = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            found = connection.execute("SELECT 1 FROM jobs WHERE id = %s", (job_id,)).fetchone()
        return found is not None


def new_cluster(root: Path, name: str) -> Cluster:
    """A PostgreSQL data directory under `root` (which postgres may write), initialised and
    set to listen on a free loopback port, its socket in `root`; not started."""
    cluster = Cluster(root / name, free_port())
    as_postgres(
        BIN / "initdb", "-D", cluster.directory, "-U", "postgres", "--auth=trust",
        "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
    )  # fmt: skip
    with (cluster.directory / "postgresql.conf").open("a") as conf:
        conf.write(
            f"port = {cluster.port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{root}'\nfsync = off\n"
        )
    return cluster


@dataclass
class Pair:
    primary: Cluster
    standby: Cluster


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """A migrated primary and a streaming standby of it, each on a free port."""
    root = Path(tempfile.mkdtemp(prefix="jobboard-replica-"))
    shutil.chown(root, "postgres") if os.geteuid() == 0 else None
    primary = new_cluster(root, "primary")
    standby = Cluster(root / "standby", free_port())
    try:
        primary.start()
        admin.create_database(primary.url)
        admin.upgrade(primary.url)
        admin.configure_database(primary.url, statement_timeout_ms=15_000)
        as_postgres(
            BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", standby.directory, "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
        )  # fmt: skip
        with (standby.directory / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port = {standby.port}\n")
        standby.start()
        yield Pair(primary, standby)
    finally:
        for cluster in (standby, primary):
            if (cluster.directory / "postmaster.pid").exists():
                cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


async def eventually(check: Callable[[], Awaitable[bool]], *, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.05)


async def listed(client: httpx.AsyncClient, **headers: str) -> set[int]:
    response = await client.get(f"{API}/jobs", params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    return {job["id"] for job in response.json()["items"]}


# Bound on the standby's lag: room for a slow machine between the last replayed transaction and
# the reads that follow the pause.
MAX_LAG = 5.0


async def test_anonymous_reads_use_a_standby_while_it_keeps_up(pair: Pair) -> None:
    settings = make_settings(
        pair.primary.url,
        direct=True,
        database_read_url=pair.standby.url.render_as_string(hide_password=False),
        db_read_max_lag_seconds=MAX_LAG,
        db_read_check_seconds=0.1,
        rate_limits_enabled=False,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        client.app = app  # type: ignore[attr-defined]
        replica = app.state.replica
        assert replica.usable
        metrics = (await client.get("/metrics")).text
        assert "jobboard_read_replica_usable 1.0" in metrics
        assert 'jobboard_db_pool_connections{database="replica",state="in_use"}' in metrics
        _, employer = await live_user(client, Role.employer)
        first = await live_job(client, employer)

        # The standby itself has replayed the first job, and the app reads from it again (until
        # the standby has replayed a first transaction it cannot tell how far behind it is).
        async def first_replayed() -> bool:
            if not (pair.standby.holds_job(first) and replica.usable):
                return False
            return first in await listed(client)

        await eventually(first_replayed)

        # With its replay paused, the standby answers anonymous readers from the past, within
        # the bound; the employer, signed in, reads the primary and sees what they wrote.
        pair.standby.execute("SELECT pg_wal_replay_pause()")
        try:
            second = await live_job(client, employer)
            assert second not in await listed(client)
            assert (await client.get(f"{API}/jobs/{second}")).status_code == 404
            assert second in await listed(client, **employer)
            assert (await client.get(f"{API}/jobs/{second}", headers=employer)).status_code == 200

            # Past DB_READ_MAX_LAG_SECONDS, everyone reads the primary.
            async def second_listed() -> bool:
                return second in await listed(client)

            await eventually(second_listed, seconds=MAX_LAG + 10)
            assert not replica.usable
            assert replica.lag_seconds is None or replica.lag_seconds > MAX_LAG
        finally:
            pair.standby.execute("SELECT pg_wal_replay_resume()")

        async def usable() -> bool:
            return bool(replica.usable)

        await eventually(usable)

        # The standby goes away: no 500, at most the request that found it gone is a 503,
        # and reads carry on from the primary. The first is a job's page, which reads on a
        # lease of its own rather than a session (`deps.public_compiled_reads`).
        pair.standby.stop()
        try:
            paths = [f"{API}/jobs/{first}", *[f"{API}/jobs"] * 19]
            statuses = [(await client.get(path)).status_code for path in paths]
            assert set(statuses) <= {200, 503}, statuses
            assert statuses.count(503) <= 1, statuses
            assert statuses[-1] == 200
            assert not replica.usable
            assert {first, second} <= await listed(client)
        finally:
            pair.standby.start()
        await eventually(usable)


async def test_an_app_whose_primary_is_a_standby_answers_writes_with_503(pair: Pair) -> None:
    settings = make_settings(pair.standby.url, direct=True)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        body = {"email": "standby@example.com", "password": DEFAULT_PASSWORD, "full_name": "S"}
        problem = assert_problem(await client.post(f"{API}/auth/register", json=body), 503)
        assert "read-only" in str(problem["detail"])
        assert (await client.get(f"{API}/jobs")).status_code == 200
