"""A worker's metrics, served on WORKER_METRICS_PORT by a real `python -m backend worker`:
task runs by outcome, mail sent and failed, the queue by state, the process; and the queue's
counts (waiting, oldest waiting) read from committed tasks."""

import asyncio
import subprocess
import time
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import URL

from backend.db.engine import create_engine
from backend.db.repository import task_queue
from tests.conftest import make_settings
from tests.test_server import free_port
from tests.test_worker import (
    SmtpServer,
    add_user,
    ask_for_reset,
    command,
    database,
    smtp,
    start_worker,
    stop,
    tasks,
    wait_for,
)

__all__ = ["database", "smtp"]  # fixtures this module's tests use

RESET = "send_password_reset"


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample the worker serves, by name and labels."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_a_worker_serves_its_tasks_mail_and_queue_as_metrics(
    database: URL, smtp: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    inbox.mode = "refuse"
    user_id = add_user(database, "ada@example.com")
    asyncio.run(ask_for_reset(database, user_id))
    metrics_port = free_port()
    settings = {
        "WORKER_METRICS_PORT": str(metrics_port),
        "WORKER_QUEUE_CHECK_SECONDS": "1",
        "TASK_MAX_ATTEMPTS": "2",
    }
    worker = start_worker(database, port, tmp_path / "worker.log", **settings)
    try:
        wait_for(lambda: [t[2] for t in tasks(database)] == ["failed"], what="two failed tries")
        wait_for(
            lambda: (
                value(scrape(metrics_port), "jobboard_queue_tasks", task=RESET, state="failed") == 1
            ),
            what="the failed task counted",
        )
        samples = scrape(metrics_port)
        assert value(samples, "jobboard_mails_total", outcome="failed") == 2
        assert value(samples, "jobboard_mails_total", outcome="sent") is None
        assert value(samples, "jobboard_task_runs_total", task=RESET, outcome="failed") == 2
        assert value(samples, "jobboard_task_duration_seconds_count", task=RESET) == 2
        assert value(samples, "jobboard_queue_tasks", task=RESET, state="waiting") == 0
        checked = value(samples, "jobboard_queue_checked_timestamp_seconds")
        assert checked is not None
        assert time.time() - 10 < checked <= time.time()
        resident = value(samples, "process_resident_memory_bytes")
        assert resident is not None
        assert resident > 10_000_000

        inbox.mode = "accept"
        retried = command(database, port, "tasks", "retry", "--all")
        assert retried.returncode == 0, retried.stderr
        wait_for(lambda: len(inbox.received) == 1, what="the retried mail")
        wait_for(lambda: tasks(database) == [], what="the task to finish")
        wait_for(
            lambda: (
                value(scrape(metrics_port), "jobboard_queue_tasks", task=RESET, state="failed")
                is None
            ),
            what="the queue counted again",
        )
        samples = scrape(metrics_port)
        assert value(samples, "jobboard_mails_total", outcome="sent") == 1
        assert value(samples, "jobboard_mails_total", outcome="failed") == 2
        assert value(samples, "jobboard_task_runs_total", task=RESET, outcome="succeeded") == 1
    finally:
        stop(worker)


def test_a_second_worker_on_a_taken_metrics_port_says_so_in_one_line(
    database: URL, smtp: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    _, port = smtp
    metrics_port = free_port()
    first = start_worker(
        database, port, tmp_path / "first.log", WORKER_METRICS_PORT=str(metrics_port)
    )
    try:
        wait_for(lambda: _answers(metrics_port), what="the first worker's metrics")
        second = command(database, port, "worker", WORKER_METRICS_PORT=str(metrics_port))
    finally:
        stop(first)
    assert second.returncode == 1
    (line,) = second.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot serve metrics on 127.0.0.1:{metrics_port}: ")


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


async def _count(url: URL) -> task_queue.QueueCounts:
    engine = create_engine(make_settings(url, direct=True), role="tests")
    try:
        async with engine.connect() as connection:
            return await task_queue.count(connection)
    finally:
        await engine.dispose()


def test_the_queue_counts_waiting_tasks_and_how_long_the_oldest_waited(database: URL) -> None:
    first, second = add_user(database, "ada@example.com"), add_user(database, "bob@example.com")
    asyncio.run(ask_for_reset(database, first))
    time.sleep(1.2)
    asyncio.run(ask_for_reset(database, second))
    counts = asyncio.run(_count(database))
    assert counts.tasks[(RESET, "waiting")] == 2
    assert counts.tasks[(RESET, "running")] == 0
    assert counts.tasks[(RESET, "failed")] == 0
    assert 1.2 <= counts.oldest_waiting[RESET] < 30


def test_the_kubernetes_liveness_probe_reads_a_live_workers_heartbeat(
    database: URL, smtp: tuple[SmtpServer, int], tmp_path: Path
) -> None:
    """The probe in deploy/kubernetes/worker.yaml, run as written but for the heartbeat's
    path: it passes while a worker runs and fails once it stopped, without the app."""
    manifest = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes" / "worker.yaml"
    deployment = next(yaml.safe_load_all(manifest.read_text()))
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    probe = container["livenessProbe"]["exec"]["command"]
    (heartbeat,) = [v["value"] for v in container["env"] if v["name"] == "WORKER_HEARTBEAT_FILE"]
    assert "backend" not in " ".join(probe)
    here = tmp_path / "alive"
    command_line = [part.replace(heartbeat, str(here)) for part in probe]
    assert command_line != probe

    def probe_passes() -> bool:
        return subprocess.run(command_line, capture_output=True, check=False).returncode == 0  # noqa: S603

    _, port = smtp
    assert not probe_passes()
    worker = start_worker(database, port, tmp_path / "worker.log", WORKER_HEARTBEAT_FILE=str(here))
    try:
        wait_for(probe_passes, what="the probe to pass")
    finally:
        stop(worker)
    assert not probe_passes()
