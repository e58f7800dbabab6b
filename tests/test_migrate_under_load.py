"""A migration that adds a column to a big table and fills it, run while a real server
process serves reads of that table.

Written the way docs/deployment.md asks (`backend.db.online_ddl`: the column added in a moment, the
backfill in batches outside the migration's transaction, the index built concurrently),
every read is answered within READ_BOUND and the server stays ready. Written naively (the
column added and filled in one transaction), the same change makes every read wait for the
whole fill and the server says it is not ready meanwhile: that part shows the measurement
can fail.
"""

import os
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import URL

from backend.db import admin
from backend.seed import seed
from tests.conftest import make_settings
from tests.test_server import Server, start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]
JOBS = 20_000
# A read may be slowed (the backfill takes CPU from a two-core machine), never held up.
READ_BOUND = 1.0

NAIVE = '''
"""Add jobs.summary and fill it, in the migration's transaction."""
import sqlalchemy as sa
from alembic import op

revision = "9001_naive"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("summary", sa.Text(), nullable=True))
    op.execute("UPDATE jobs SET summary = md5(description) || left(description, 100)")
    op.execute("UPDATE jobs SET summary = upper(summary)")


def downgrade() -> None:
    op.drop_column("jobs", "summary")
'''

ONLINE = '''
"""Add jobs.digest, fill it in batches, index it concurrently."""
import sqlalchemy as sa
from alembic import op

from backend.db import online_ddl

revision = "9002_online"
down_revision = "9001_naive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("digest", sa.Text(), nullable=True))
    online_ddl.backfill(
        "jobs",
        "digest = md5(description) || left(description, 100)",
        where="digest IS NULL",
        batch=2_000,
    )
    online_ddl.create_index_concurrently("ix_jobs_digest", "jobs", ["digest"])


def downgrade() -> None:
    online_ddl.drop_index_concurrently("ix_jobs_digest")
    op.drop_column("jobs", "digest")
'''


@dataclass
class Load:
    """Reads of the jobs table, one after another, until stopped."""

    server: Server
    job_ids: list[int]
    stop: threading.Event = field(default_factory=threading.Event)
    reads: list[tuple[int, float]] = field(default_factory=list)
    readiness: list[int] = field(default_factory=list)

    def read(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                path = (
                    f"/api/v1/jobs/{self.job_ids[n % len(self.job_ids)]}"
                    if n % 2
                    else f"/api/v1/jobs?limit=5&q={('engineer', 'manager', 'designer')[n % 3]}"
                )
                started = time.monotonic()
                status = client.get(path).status_code
                self.reads.append((status, time.monotonic() - started))

    def probe(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            while not self.stop.is_set():
                self.readiness.append(client.get("/health/ready").status_code)
                time.sleep(0.2)

    def during(self, work: "threading.Thread") -> float:
        """Run `work` under this load; how long it took."""
        threads = [threading.Thread(target=self.read) for _ in range(2)]
        threads.append(threading.Thread(target=self.probe))
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # reads under way before the migration starts
        started = time.monotonic()
        work.start()
        work.join()
        if isinstance(work, Migration) and work.error is not None:
            self.stop.set()
            raise work.error
        took = time.monotonic() - started
        time.sleep(0.3)
        self.stop.set()
        for thread in threads:
            thread.join()
        return took


@pytest.fixture
def big_database(database_url: URL) -> Iterator[URL]:
    url = database_url.set(database=f"jobboard_load_{uuid.uuid4().hex[:12]}")
    admin.create_database(url)
    try:
        admin.upgrade(url)
        admin.configure_database(url, statement_timeout_ms=15_000)
        seed(make_settings(url), jobs=JOBS)
        yield url
    finally:
        admin.drop_database(url)


def upgrade_with(url: URL, versions: Path, revision: str) -> "Migration":
    config = admin.alembic_config(url)
    # alembic.ini separates paths with the system's separator (path_separator = os).
    config.set_main_option(
        "version_locations", os.pathsep.join([str(ROOT / "alembic" / "versions"), str(versions)])
    )
    config.attributes["configure_logging"] = False
    from alembic import command

    return Migration(target=command.upgrade, args=(config, revision))


class Migration(threading.Thread):
    """A thread that keeps what its target raised, for the test to raise again."""

    error: BaseException | None = None

    def run(self) -> None:
        try:
            super().run()
        except BaseException as exc:
            self.error = exc


def test_a_backfill_in_batches_never_holds_up_reads(big_database: URL, tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    with psycopg.connect(admin.conninfo(big_database)) as conn:
        (head,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or ("",)
        job_ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM jobs WHERE status = 'published'"
                " AND expires_at > now() + interval '1 day' ORDER BY id LIMIT 500"
            )
        ]
        total = conn.execute("SELECT count(*) FROM jobs").fetchone()
    assert total == (JOBS,)
    (versions / "naive.py").write_text(textwrap.dedent(NAIVE).format(head=head))
    (versions / "online.py").write_text(textwrap.dedent(ONLINE))
    server = start_server(big_database)
    try:
        naive = Load(server, job_ids)
        naive_took = naive.during(upgrade_with(big_database, versions, "9001_naive"))
        online = Load(server, job_ids)
        online_took = online.during(upgrade_with(big_database, versions, "9002_online"))
    finally:
        stop_server(server)

    with psycopg.connect(admin.conninfo(big_database)) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "9002_online",
        )
        left = conn.execute("SELECT count(*) FROM jobs WHERE digest IS NULL").fetchone()
        valid = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_jobs_digest'::regclass"
        ).fetchone()
    assert left == (0,)
    assert valid == (True,)

    # The naive fill held the table for its whole run: reads waited nearly as long, and
    # readiness said so.
    assert naive_took > 2 * READ_BOUND, f"the table is too small to show anything: {naive_took}"
    assert max(took for _, took in naive.reads) > max(naive_took - 0.5, READ_BOUND)
    assert 503 in naive.readiness
    # The fill in batches ran at least as long, and held nothing up.
    assert online_took > 2 * READ_BOUND, online_took
    statuses = {status for status, _ in online.reads}
    assert statuses == {200}, statuses
    slowest = max(took for _, took in online.reads)
    assert slowest < READ_BOUND, (slowest, online_took)
    assert len(online.reads) > 20
    assert set(online.readiness) == {200}
