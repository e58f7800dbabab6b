"""`python -m backend` commands, run as the operator would: in this process, through the
same entry point (`backend.cli.main`), with their own environment, standard input and
output; one test runs the real `python -m backend` process."""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from sqlalchemy.engine import URL

from backend.db import admin
from tests.conftest import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[1]


def run(url: URL, *args: str, stdin: str = "", **settings: str) -> subprocess.CompletedProcess[str]:
    from backend import cli

    env = {
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "SECRET_KEY": TEST_SECRET_KEY,
        "BCRYPT_ROUNDS": "4",
        **settings,
    }
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, env),
        mock.patch.object(sys, "stdin", io.StringIO(stdin)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        contextlib.chdir(ROOT),
    ):
        try:
            code = cli.main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess(
        ["python", "-m", "backend", *args], code, out.getvalue(), err.getvalue()
    )


@pytest.fixture
def fresh_url(database_url: URL) -> Iterator[URL]:
    url = database_url.set(database=f"jobboard_cli_{uuid.uuid4().hex[:12]}")
    try:
        yield url
    finally:
        admin.drop_database(url)


def _conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def test_migrate_creates_the_database_and_is_idempotent(fresh_url: URL) -> None:
    first = run(fresh_url, "migrate")
    assert first.returncode == 0, first.stderr
    assert "created database" in first.stdout
    second = run(fresh_url, "migrate")
    assert second.returncode == 0, second.stderr
    assert "created database" not in second.stdout
    with psycopg.connect(_conninfo(fresh_url)) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


def test_create_admin_reads_the_password_twice_from_stdin(fresh_url: URL) -> None:
    assert run(fresh_url, "migrate").returncode == 0
    password = "an admin's long passphrase"
    result = run(
        fresh_url, "create-admin", "--email", "Root@Example.com", stdin=f"{password}\n{password}\n"
    )
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout + result.stderr
    with psycopg.connect(_conninfo(fresh_url)) as conn:
        row = conn.execute(
            "SELECT role::text, hashed_password, email_verified_at IS NOT NULL FROM users"
        ).fetchone()
    assert row is not None
    assert row[0] == "admin"
    assert row[1].startswith("$bcrypt-sha256$")
    assert row[2] is True  # an operator typed the address: nothing to confirm
    again = run(
        fresh_url, "create-admin", "--email", "root@example.com", stdin=f"{password}\n{password}\n"
    )
    assert again.returncode == 1
    assert "already registered" in again.stderr


@pytest.mark.parametrize(
    ("email", "stdin", "message"),
    [
        ("admin@example.com", "first password\nsecond password\n", "do not match"),
        ("admin@example.com", "short\nshort\n", "characters"),
        ("admin@example.com", "", "characters"),
        ("not-an-email", "long enough\nlong enough\n", "not a valid email"),
    ],
)
def test_create_admin_refuses_bad_input(
    fresh_url: URL, email: str, stdin: str, message: str
) -> None:
    assert run(fresh_url, "migrate").returncode == 0
    result = run(fresh_url, "create-admin", "--email", email, stdin=stdin)
    assert result.returncode == 1
    assert message in result.stderr
    with psycopg.connect(_conninfo(fresh_url)) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_production_without_a_secret_key_refuses_in_one_line(fresh_url: URL) -> None:
    env_url = fresh_url
    result = subprocess.run(
        [sys.executable, "-m", "backend", "migrate"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "ENVIRONMENT": "production",
            "SECRET_KEY": "",
            "DATABASE_URL": env_url.render_as_string(hide_password=False),
        },
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "SECRET_KEY is not set" in result.stderr


def test_purge_removes_only_what_is_dead(fresh_url: URL) -> None:
    assert run(fresh_url, "migrate").returncode == 0
    with psycopg.connect(_conninfo(fresh_url)) as conn:
        user_id = conn.execute(
            "INSERT INTO users (email, hashed_password, full_name, role) "
            "VALUES ('p@example.com', 'x', 'P', 'candidate') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        sessions = {
            "live": "now() + interval '1 day', NULL",
            "expired": "now() - interval '1 second', NULL",
            "revoked": "now() + interval '1 day', now() - interval '1 second'",
        }
        for name, values in sessions.items():
            conn.execute(
                f"INSERT INTO sessions (id, user_id, expires_at, revoked_at) "
                f"VALUES (md5(%s)::uuid, %s, {values})",
                (name, user_id),
            )
            conn.execute(
                "INSERT INTO refresh_tokens (token_hash, session_id, expires_at, spent_at) "
                "VALUES (sha256(%s::bytea), md5(%s)::uuid, now() + interval '1 day', now())",
                (name.encode(), name),
            )
        for name, expires, used in [
            ("fresh", "now() + interval '1 hour'", "NULL"),
            ("used", "now() + interval '1 hour'", "now() - interval '1 second'"),
            ("expired", "now() - interval '1 second'", "NULL"),
        ]:
            conn.execute(
                "INSERT INTO password_reset_tokens (token_hash, user_id, expires_at, used_at) "
                f"VALUES (sha256(%s::bytea), %s, {expires}, {used})",
                (name.encode(), user_id),
            )
        # The longest window is a day's publications: a count of 23 hours ago still
        # limits one.
        conn.execute(
            "INSERT INTO auth_attempts (kind, key, created_at) VALUES "
            "('login_email', 'old', now() - interval '25 hours'), "
            "('post_account', 'day', now() - interval '23 hours'), ('login_email', 'new', now())"
        )
        conn.execute(
            "INSERT INTO sent_mails (key, sent_at) VALUES "
            "('old', now() - interval '31 days'), ('recent', now() - interval '29 days')"
        )
        conn.execute(
            "INSERT INTO search_outbox (job_id, created_at) VALUES "
            "(1, now() - interval '25 hours'), (2, now() - interval '23 hours')"
        )
    result = run(fresh_url, "purge")
    assert result.returncode == 0, result.stderr
    assert "2 sessions" in result.stdout
    assert "2 reset tokens" in result.stdout
    assert "1 throttle events" in result.stdout
    assert "1 send records" in result.stdout
    assert "1 search changes" in result.stdout
    with psycopg.connect(_conninfo(fresh_url)) as conn:
        assert conn.execute("SELECT id = md5('live')::uuid FROM sessions").fetchall() == [(True,)]
        # The live session's spent refresh token stays: it is how a replay is recognised.
        assert conn.execute("SELECT count(*) FROM refresh_tokens").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM password_reset_tokens").fetchone() == (1,)
        assert conn.execute("SELECT key FROM auth_attempts ORDER BY key").fetchall() == [
            ("day",),
            ("new",),
        ]
        assert conn.execute("SELECT key FROM sent_mails").fetchall() == [("recent",)]
        assert conn.execute("SELECT job_id FROM search_outbox").fetchall() == [(2,)]
    # Running it again, as cron on another replica might, is harmless.
    again = run(fresh_url, "purge")
    assert again.returncode == 0
    assert "0 sessions" in again.stdout


def test_seed_fills_a_database_that_people_can_sign_in_to(fresh_url: URL) -> None:
    assert run(fresh_url, "migrate").returncode == 0
    result = run(fresh_url, "seed", "--jobs", "200")
    assert result.returncode == 0, result.stderr
    assert "jobboard-demo" in result.stdout
    with psycopg.connect(_conninfo(fresh_url)) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM companies), "
            "(SELECT count(*) FROM users WHERE role = 'employer'), "
            "(SELECT count(*) FROM users WHERE role = 'candidate'), "
            "(SELECT count(*) FROM users WHERE role = 'admin'), "
            "(SELECT count(*) FROM applications), "
            "(SELECT count(DISTINCT title) FROM jobs), "
            "(SELECT count(*) FROM jobs WHERE search IS NULL)"
        ).fetchone()
        assert counts is not None
        jobs, companies, employers, candidates, admins, applications, titles, unindexed = counts
        assert (jobs, companies, employers, candidates, admins) == (200, 10, 5, 20, 1)
        assert 0 < applications <= 100
        assert titles > 20
        assert unindexed == 0
        # Some jobs wait for a moderator, each since a time; nothing else has one.
        held = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'pending'), "
            "count(*) FILTER (WHERE (status = 'pending') <> (submitted_at IS NOT NULL)) FROM jobs"
        ).fetchone()
        assert held is not None
        assert held[0] > 0
        assert held[1] == 0
        # Two companies of ten are verified at their website's domain; two published jobs
        # have an open report.
        verified = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE website = 'https://' || verified_domain) "
            "FROM companies WHERE verified_at IS NOT NULL"
        ).fetchone()
        assert verified == (2, 2)
        reports = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE j.status = 'published') "
            "FROM job_reports r JOIN jobs j ON j.id = r.job_id WHERE r.resolved_at IS NULL"
        ).fetchone()
        assert reports is not None
        assert reports[0] == reports[1] >= 1
        # Demo accounts have no inbox: they count as confirmed.
        assert conn.execute(
            "SELECT count(*) FROM users WHERE email_verified_at IS NULL"
        ).fetchone() == (0,)
        hashed = conn.execute(
            "SELECT hashed_password FROM users WHERE email = 'candidate1@seed.example.com'"
        ).fetchone()
    assert hashed is not None
    from passlib.context import CryptContext

    assert CryptContext(schemes=["bcrypt_sha256"]).verify("jobboard-demo", hashed[0])

    # Seeding again adds more, numbering on.
    again = run(fresh_url, "seed", "--jobs", "20")
    assert again.returncode == 0, again.stderr
    with psycopg.connect(_conninfo(fresh_url)) as conn:
        assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (220,)
        assert conn.execute(
            "SELECT count(*) FROM users WHERE email = 'candidate21@seed.example.com'"
        ).fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM users WHERE role = 'admin'").fetchone() == (1,)


def test_seed_is_not_cut_short_by_the_statement_timeout_of_requests(fresh_url: URL) -> None:
    # `migrate` sets the database's statement_timeout for requests; a bulk load of a million
    # jobs takes longer than any request may, and must not be cancelled by it.
    assert run(fresh_url, "migrate", DB_STATEMENT_TIMEOUT_MS="1").returncode == 0
    result = run(fresh_url, "seed", "--jobs", "2000")
    assert result.returncode == 0, result.stderr
    # The database's 1 ms timeout would apply to any first statement, a SET among them: the
    # count's connection starts without it.
    with psycopg.connect(_conninfo(fresh_url), options="-c statement_timeout=0") as conn:
        assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (2000,)


def test_seed_refuses_zero_jobs(fresh_url: URL) -> None:
    assert run(fresh_url, "migrate").returncode == 0
    result = run(fresh_url, "seed", "--jobs", "0")
    assert result.returncode == 1
    assert "--jobs" in result.stderr


def _spawn(url: URL, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "SECRET_KEY": TEST_SECRET_KEY,
    }
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "backend", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_two_migrations_at_once_both_succeed(fresh_url: URL) -> None:
    runs = [_spawn(fresh_url, "migrate") for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sum("created database" in out for out, _ in outputs) == 1
    with psycopg.connect(_conninfo(fresh_url)) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


def test_configuring_a_database_from_several_processes_at_once_succeeds(fresh_url: URL) -> None:
    # What two `migrate` runs starting together do last: set the database's defaults. Two
    # ALTER DATABASE ... SET at once can fail with "tuple concurrently updated".
    admin.create_database(fresh_url)

    def configure(_: int) -> None:
        admin.configure_database(fresh_url, statement_timeout_ms=15_000)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(configure, range(40)))
    with psycopg.connect(_conninfo(fresh_url)) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("15s",)


def test_a_migration_blocked_by_a_long_query_gives_up_in_one_line(fresh_url: URL) -> None:
    admin.create_database(fresh_url)
    admin.upgrade(fresh_url, "0004_job_titles")
    with psycopg.connect(_conninfo(fresh_url)) as holder:
        # A long read of users: the next migration's ALTER TABLE must wait for it.
        holder.execute("SELECT count(*) FROM users")
        result = run(fresh_url, "migrate")
        holder.rollback()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1, result.stderr
    assert "LockNotAvailable" in error[0]
    assert "lock timeout" in error[0]
    assert run(fresh_url, "migrate").returncode == 0


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["create-admin", "--email", "ops@example.com"],
        ["purge"],
        ["seed", "--jobs", "5"],
    ],
)
def test_an_unreachable_database_is_one_line_naming_host_and_port(
    database_url: URL, command: list[str]
) -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    unreachable = database_url.set(host="127.0.0.1", port=1)
    result = run(unreachable, *command, stdin="a long enough password\n" * 2)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot reach the database at 127.0.0.1:1"), lines[0]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("given", [None, "postgresql+psycopg://app:p%26ss@db.internal:6432/board"])
def test_make_writes_the_database_url_it_was_given_into_env(
    tmp_path: Path, given: str | None
) -> None:
    for name in ("Makefile", ".env.template"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    if given is not None:
        env["DATABASE_URL"] = given
    make = shutil.which("make")
    assert make is not None
    subprocess.run([make, "-s", ".env"], cwd=tmp_path, env=env, check=True)  # noqa: S603
    written = dict(
        line.split("=", 1)
        for line in (tmp_path / ".env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    template = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.template").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert written["DATABASE_URL"] == (given or template["DATABASE_URL"])
    assert len(written["SECRET_KEY"]) >= 48
    assert written["SECRET_KEY"] != template["SECRET_KEY"]
    assert {k: v for k, v in written.items() if k not in ("DATABASE_URL", "SECRET_KEY")} == {
        k: v for k, v in template.items() if k not in ("DATABASE_URL", "SECRET_KEY")
    }


def test_mail_preview_renders_every_mail_with_sample_data(fresh_url: URL) -> None:
    for name in (
        "password_reset",
        "verify_email",
        "new_applicants",
        "application_status",
        "job_expiring",
    ):
        text = run(fresh_url, "mail", "preview", name)
        assert text.returncode == 0, text.stderr
        assert text.stdout.startswith("Subject: ")
        assert "https://jobs.example/" in text.stdout
        html = run(fresh_url, "mail", "preview", name, "--html")
        assert html.returncode == 0, html.stderr
        assert html.stdout.lstrip().startswith("<!doctype html>")
    alert = run(fresh_url, "mail", "preview", "job_alert")
    assert 'Subject: 23 new jobs for "Remote Python"' in alert.stdout
    assert "... and 22 more" in alert.stdout
    assert "Stop mails like this one" in alert.stdout
    unknown = run(fresh_url, "mail", "preview", "nope")
    assert unknown.returncode == 1
    assert (
        "no mail named 'nope'; there are: application_status, company_invitation, interview, "
        "job_alert, job_closed, "
        "job_closed_unconfirmed, job_comment, job_decision, job_expiring, job_open_check, "
        "job_reported, "
        "new_applicants, password_reset, rejection_after_interview, rejection_position_filled, "
        "rejection_standard, revision_decision, verify_company, verify_email, "
        "webhook_disabled" in unknown.stderr
    )


def test_confirm_email_confirms_registered_addresses_only(fresh_url: URL) -> None:
    assert run(fresh_url, "migrate").returncode == 0
    with psycopg.connect(_conninfo(fresh_url)) as conn:
        conn.execute(
            "INSERT INTO users (email, hashed_password, full_name, role) "
            "VALUES ('late@example.com', 'x', 'L', 'candidate')"
        )
    missing = run(fresh_url, "confirm-email", "late@example.com", "ghost@example.com")
    assert missing.returncode == 1
    assert "ghost@example.com is not registered" in missing.stderr
    with psycopg.connect(_conninfo(fresh_url)) as conn:  # all or nothing
        assert conn.execute("SELECT email_verified_at FROM users").fetchone() == (None,)
    confirmed = run(fresh_url, "confirm-email", "Late@Example.com")
    assert confirmed.returncode == 0, confirmed.stderr
    assert confirmed.stdout == "confirmed late@example.com\n"
    with psycopg.connect(_conninfo(fresh_url)) as conn:
        assert conn.execute("SELECT email_verified_at IS NOT NULL FROM users").fetchone() == (True,)


def test_an_older_release_migrating_a_newer_schema_says_so_in_one_line(fresh_url: URL) -> None:
    assert run(fresh_url, "migrate").returncode == 0
    with psycopg.connect(_conninfo(fresh_url), autocommit=True) as connection:
        # What a newer release's migration leaves: a revision this one has never seen.
        connection.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    result = run(fresh_url, "migrate")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "0099_from_the_future" in result.stderr
    assert "newer release" in result.stderr
    with psycopg.connect(_conninfo(fresh_url)) as connection:
        revisions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert revisions == [("0099_from_the_future",)]  # nothing was changed
