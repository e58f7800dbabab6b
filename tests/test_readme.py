"""The README's curl walk-through runs top to bottom, as written, on a fresh database."""

import os
import re
import shutil
import subprocess
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
        '"status":"interviewing"',  # the candidate's own applications
        '"is_active":false',  # deactivated by the admin
        '"access_token"',  # the refresh
    ):
        assert expected in out, (expected, out)
    assert out.index('"status":"interviewing"') < out.index('"is_active":false')
