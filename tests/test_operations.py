"""docs/operations.md as an operator runs it: every shell block, top to bottom and as
written, in one shell, against a throwaway database; the server and the worker are the ones
its deploy section starts. The Kubernetes blocks are checked against deploy/kubernetes, and
the Prometheus configuration by promtool."""

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import URL

from backend.db import admin
from tests.conftest import TEST_SECRET_KEY
from tests.test_server import free_port
from tests.tools import debian_program

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ROOT / "docs" / "operations.md"
KUBERNETES_MARK = "<!-- kubernetes: checked against deploy/kubernetes, not run -->"


def blocks(language: str) -> list[tuple[bool, str]]:
    """The document's `language` blocks in order, each with whether it is marked as
    Kubernetes (checked, not run)."""
    text = OPERATIONS.read_text()
    found = []
    for match in re.finditer(rf"(?:^([^\n]*)\n)?^```{language}\n(.*?)^```$", text, re.M | re.S):
        found.append(((match.group(1) or "").strip() == KUBERNETES_MARK, match.group(2)))
    return found


def run_blocks() -> list[str]:
    return [body for kubernetes, body in blocks("sh") if not kubernetes]


def commands(body: str) -> list[str]:
    return [line.strip() for line in body.splitlines() if line.strip()]


def test_the_document_covers_deploy_migrate_back_up_restore_watch_and_recover() -> None:
    script = "\n".join(run_blocks())
    for command in (
        "python -m backend migrate",
        "python -m backend serve",
        "python -m backend worker &",
        "python -m backend worker --check",
        "python -m backend backup",
        "python -m backend restore",
        "python -m backend tasks status",
        "python -m backend tasks failed",
        "python -m backend tasks retry --all",
        "python -m backend tasks run alerts",
        "python -m backend purge",
        "/health/ready",
        "/metrics",
    ):
        assert command in script, command
    headings = re.findall(r"^## (.+)$", OPERATIONS.read_text(), flags=re.M)
    assert headings == [
        "Deploy a release",
        "See that it serves",
        "Watch",
        "Back up",
        "Restore",
        "Recover",
        "Alerts",
    ]
    # The README sends operators here.
    assert "(docs/operations.md)" in (ROOT / "README.md").read_text()


def test_the_kubernetes_commands_name_what_deploy_kubernetes_holds() -> None:
    (body,) = [body for kubernetes, body in blocks("sh") if kubernetes]
    migrate = yaml.safe_load((ROOT / "deploy/kubernetes/migrate/kustomization.yaml").read_text())
    job = f"job/jobboard-migrate{migrate['nameSuffix']}"
    lines = commands(body)
    applied = [line.split()[-1] for line in lines if line.startswith("kubectl apply -k ")]
    assert applied == [
        "deploy/kubernetes/namespace",
        "deploy/kubernetes/migrate",
        "deploy/kubernetes",
    ]
    for directory in applied:
        assert (ROOT / directory / "kustomization.yaml").is_file(), directory
    # The migration is waited for before the release's pods are applied.
    waits = [index for index, line in enumerate(lines) if job in line and "wait" in line]
    assert waits
    assert waits[0] < lines.index("kubectl apply -k deploy/kubernetes")
    for deployment in re.findall(r"deployment/([\w-]+)", body):
        assert f"name: {deployment}\n" in "".join(
            path.read_text() for path in (ROOT / "deploy/kubernetes").glob("*.yaml")
        ), deployment


def test_the_prometheus_configuration_is_valid(tmp_path: Path) -> None:
    (configuration,) = [body for _, body in blocks("yaml")]
    loaded = yaml.safe_load(configuration)
    assert {job["job_name"] for job in loaded["scrape_configs"]} == {
        "jobboard-api",
        "jobboard-worker",
    }
    # As Prometheus would read it, from the repository's root.
    loaded["rule_files"] = [str(ROOT / path) for path in loaded["rule_files"]]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(loaded))
    done = subprocess.run(  # noqa: S603
        [debian_program("promtool", "prometheus"), "check", "config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "10 rules found" in done.stdout


@pytest.fixture
def databases(database_url: URL) -> Iterator[tuple[URL, URL]]:
    suffix = uuid.uuid4().hex[:12]
    live = database_url.set(database=f"jobboard_ops_{suffix}")
    restored = database_url.set(database=f"jobboard_ops_restored_{suffix}")
    try:
        yield live, restored
    finally:
        admin.drop_database(live)
        admin.drop_database(restored)


def test_every_command_runs_as_written(databases: tuple[URL, URL], tmp_path: Path) -> None:
    live, restored = databases
    bash, curl, psql = shutil.which("bash"), shutil.which("curl"), shutil.which("psql")
    assert bash is not None
    assert curl is not None, "curl is not installed (apt-get install curl)"
    assert psql is not None, "psql is not installed (apt-get install postgresql-client)"
    port = free_port()
    script = "\n".join(
        [
            "set -euo pipefail",
            # What the deploy section starts in the background ends with the script.
            "trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT",
            *run_blocks(),
        ]
    )
    environment = {
        **os.environ,
        # `python` is the project's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": live.render_as_string(hide_password=False),
        "NEW_DATABASE_URL": restored.render_as_string(hide_password=False),
        # A Unix socket's folder, for a server that listens on one only (the built-in one).
        "PGHOST": str(live.host or live.query.get("host")),
        "PGPORT": str(live.port or 5432),
        "PGUSER": str(live.username),
        "PGPASSWORD": str(live.password or ""),
        "PGDATABASE": str(live.database),
        "API": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "METRICS_PORT": str(free_port()),
        "WORKER_METRICS_PORT": str(free_port()),
        "WORKER_QUEUE_CHECK_SECONDS": "1",
        "WORKER_HEARTBEAT_FILE": str(tmp_path / "worker-alive"),
        "SECRET_KEY": TEST_SECRET_KEY,
        "BCRYPT_ROUNDS": "4",
        "MAIL_BACKEND": "file",
        "MAIL_FILE_DIR": str(tmp_path / "mail"),
        "LOG_LEVEL": "warning",
        "DRAIN_SECONDS": "0",
    }
    done = subprocess.run(  # noqa: S603
        [bash, "-c", script],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    output = done.stdout
    # What the blocks printed, in order.
    assert "database is at the newest migration" in output
    assert '"status":"ok"' in output
    assert "a worker is alive" in output
    assert "jobboard-api" in output  # pg_stat_activity names the processes
    assert "jobboard_queue_checked_timestamp_seconds " in output
    assert re.search(r"(?im)^x-request-id: [0-9a-f]{32}\r?$", output)
    assert re.search(r"backed up database \S+ to jobboard-\d{8}T\d{6}Z\.dump", output)
    assert f"into database {restored.database}" in output
    assert "no failed tasks" in output
    assert "schedule_job_alerts queued" in output
    assert list(tmp_path.glob("jobboard-*.dump"))
