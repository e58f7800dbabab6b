"""The README's curl walk-through runs top to bottom, as written, on a fresh database."""

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from backend.db import admin
from tests.test_server import start_server, stop_server

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- walk-through:"
WRITTEN_FOR = "http://127.0.0.1:8000"


def walk_through() -> list[str]:
    """The shell blocks the README marks as the walk-through, in order."""
    readme = (ROOT / "README.md").read_text()
    return re.findall(re.escape(MARKER) + r"[^\n]*\n```sh\n(.*?)```", readme, flags=re.DOTALL)


def test_the_walk_through_covers_every_section() -> None:
    script = "\n".join(walk_through())
    for step in (
        "/auth/register",
        "create-admin",
        "/companies",
        "/jobs",
        "/moderation/jobs",
        "/applications",
        "/saved-searches",
        "/notifications",
        "/admin/users",
        "/auth/refresh",
        "/auth/logout",
    ):
        assert step in script, step


@pytest.fixture
def fresh_database(database_url: URL) -> Iterator[URL]:
    url = database_url.set(database=f"jobboard_readme_{uuid.uuid4().hex[:12]}")
    admin.create_database(url)
    admin.upgrade(url)
    try:
        yield url
    finally:
        admin.drop_database(url)


def test_the_walk_through_runs_as_written(fresh_database: URL, tmp_path: Path) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    assert shutil.which("curl") is not None, "curl is not installed (apt-get install curl)"
    server = start_server(fresh_database)
    try:
        # Every command must succeed: curl fails on an HTTP error status (and prints the
        # problem), and the script stops at the first failing command.
        prelude = 'set -euo pipefail\ncurl() { command curl --fail-with-body --show-error "$@"; }\n'
        script = prelude + "\n".join(walk_through()).replace(WRITTEN_FOR, server.url)
        (tmp_path / "walk.sh").write_text(script)
        environment = {
            **os.environ,
            "DATABASE_URL": fresh_database.render_as_string(hide_password=False),
            "BCRYPT_ROUNDS": "4",
        }
        result = subprocess.run(  # noqa: S603
            [bash, str(tmp_path / "walk.sh")],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop_server(server)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # What each step should have shown, in the order it ran.
    for expected in (
        '"email":"grace@example.com"',  # /users/me of the candidate
        '"title":"Staff Python Developer"',  # the edit under If-Match, then the search
        '"decision":"approved"',  # the admin's approval of the held job
        '"status":"interviewing"',  # the candidate's own applications
        '"is_active":false',  # deactivated by the admin
        '"access_token"',  # the refresh
    ):
        assert expected in out, (expected, out)
    assert out.index('"status":"interviewing"') < out.index('"is_active":false')


def project_commands() -> list[str]:
    """The README's `.venv/bin/python -m backend ...` lines outside the walk-through (the
    demo data, say), as written."""
    readme = (ROOT / "README.md").read_text()
    outside = re.sub(re.escape(MARKER) + r"[^\n]*\n```sh\n.*?```", "", readme, flags=re.DOTALL)
    blocks = re.findall(r"```sh\n(.*?)```", outside, flags=re.DOTALL)
    return [
        line.split("  #")[0].strip()
        for block in blocks
        for line in block.splitlines()
        if line.startswith(".venv/bin/python -m backend")
    ]


def test_the_readmes_other_commands_run_as_written(fresh_database: URL) -> None:
    commands = project_commands()
    assert ".venv/bin/python -m backend seed --jobs 10000" in commands
    python = Path(sys.executable)
    for command in commands:
        program, *arguments = command.split()
        assert program == ".venv/bin/python"
        done = subprocess.run(  # noqa: S603
            [str(python), *arguments],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": fresh_database.render_as_string(hide_password=False),
                "BCRYPT_ROUNDS": "4",
            },
            # What an operator types at a prompt (create-admin's password, twice).
            input="a long admin passphrase\n" * 2,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
