"""`make run` on a machine with no PostgreSQL: seen from a network namespace of its own, where
nothing answers at the default address, `python -m backend run` starts the built-in
PostgreSQL (its data in `.pgdata/` where it runs), migrates, serves, says so in one line,
and stops the server with itself; the next run finds the data again. Production refuses it,
and a DATABASE_URL given on purpose is never replaced by it."""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.test_server import free_port

ROOT = Path(__file__).resolve().parents[1]


def command(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "POSTGRES_EMBEDDED_DIR")
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "backend", *args],
        cwd=cwd,
        env={**environment, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def servers_on(data: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(data) in (process.info["cmdline"] or []):
            found.append(process)
    return found


def run_without_a_network(folder: Path, port: int) -> str:
    """`python -m backend run` in `folder`, in a network namespace of its own (nothing
    answers at localhost:5432 there); what it and the requests made there printed."""
    unshare, curl = shutil.which("unshare"), shutil.which("curl")
    assert unshare is not None
    assert curl is not None
    script = f"""
set -u
ip link set lo up
"{sys.executable}" -m backend run --port {port} > run.log 2>&1 &
for _ in $(seq 1 90); do
  curl -fsS http://127.0.0.1:{port}/health/ready && break
  sleep 1
done
echo
curl -fsS "http://127.0.0.1:{port}/api/v1/jobs?limit=1"
echo
kill -TERM %1
wait
"""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "POSTGRES_EMBEDDED_DIR")
    }
    done = subprocess.run(  # noqa: S603
        [unshare, "--net", "bash", "-c", script],
        cwd=folder,
        env={**environment, "PYTHONPATH": str(ROOT), "DRAIN_SECONDS": "0"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    log = (folder / "run.log").read_text()
    assert done.returncode == 0, done.stdout + done.stderr + log
    return done.stdout + "\n" + log


@pytest.mark.skipif(
    os.geteuid() != 0, reason="a network namespace of its own needs root (CI runs as root)"
)
def test_make_runs_path_starts_the_built_in_postgresql_where_none_answers(
    tmp_path: Path,
) -> None:
    # What `make run` leaves in the checkout before it runs: a .env with a new key and no
    # DATABASE_URL of its own (the template's default address).
    (tmp_path / ".env").write_text(f"SECRET_KEY={secrets.token_urlsafe(48)}\nBCRYPT_ROUNDS=4\n")
    data = tmp_path / ".pgdata"
    try:
        output = run_without_a_network(tmp_path, free_port())
        assert '{"status":"ok","database":"ok"}' in output
        assert '{"items":[],"next_cursor":null}' in output
        (said,) = [line for line in output.splitlines() if "built-in PostgreSQL" in line]
        assert said == (
            "no PostgreSQL answers at localhost:5432: using the built-in PostgreSQL (data in"
            " .pgdata/, stopped with the server; .env says so for the other commands); for"
            " your own, set DATABASE_URL in .env and remove POSTGRES_EMBEDDED_DIR"
        )
        assert "created database jobboard" in output
        assert "database is at the newest migration" in output
        assert (data / "PG_VERSION").read_text().strip() == "18"
        assert "POSTGRES_EMBEDDED_DIR=.pgdata" in (tmp_path / ".env").read_text().splitlines()
        # Stopped with the app.
        assert servers_on(data) == []

        # The next run finds its data again, and so does any other command meanwhile.
        again = run_without_a_network(tmp_path, free_port())
        assert '{"status":"ok","database":"ok"}' in again
        assert "built-in PostgreSQL" not in again
        assert "created database" not in again
        assert servers_on(data) == []
        status = command(tmp_path, "tasks", "status")
        assert status.returncode == 0, status.stderr
        assert status.stdout.splitlines()[0].split() == ["task", "waiting", "running", "failed"]
        assert servers_on(data) == []
    finally:
        for server in servers_on(data):
            server.kill()


def test_production_never_starts_the_built_in_postgresql(tmp_path: Path) -> None:
    key = secrets.token_urlsafe(48)
    refused = command(
        tmp_path,
        "migrate",
        ENVIRONMENT="production",
        SECRET_KEY=key,
        MAIL_BACKEND="smtp",
        POSTGRES_EMBEDDED_DIR=str(tmp_path / ".pgdata"),
    )
    assert refused.returncode == 1
    assert "POSTGRES_EMBEDDED_DIR is for development" in refused.stderr
    assert not (tmp_path / ".pgdata").exists()
    run = command(tmp_path, "run", ENVIRONMENT="production", SECRET_KEY=key, MAIL_BACKEND="smtp")
    assert run.returncode == 1
    assert run.stderr.strip() == (
        "error: run is for development; production runs migrate, serve and worker apart"
        " (docs/operations.md)"
    )


def test_a_database_url_given_on_purpose_is_never_replaced(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    given = command(
        tmp_path,
        "run",
        "--port",
        str(free_port()),
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{port}/jobboard",
    )
    assert given.returncode == 1
    assert given.stderr.strip() == (
        f"error: no PostgreSQL answers at 127.0.0.1:{port}: start it, or remove DATABASE_URL"
        " from .env to use the built-in one"
    )
    assert not (tmp_path / ".pgdata").exists()
