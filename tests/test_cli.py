"""`python -m backend` commands, run as the operator would."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL

from backend.db import admin
from tests.conftest import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[1]


def run(url: URL, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "SECRET_KEY": TEST_SECRET_KEY,
        "BCRYPT_ROUNDS": "4",
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "backend", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
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
        row = conn.execute("SELECT role::text, hashed_password FROM users").fetchone()
    assert row is not None
    assert row[0] == "admin"
    assert row[1].startswith("$bcrypt-sha256$")
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
