"""`python -m backend serve` as deployed: a real server process on a real socket."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from tests.conftest import TEST_SECRET_KEY, app_database

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()]
        # multiprocessing's resource tracker is a child too, but serves nothing.
        return [
            pid
            for pid in pids
            if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def start_server(
    url: URL,
    *args: str,
    port: int | None = None,
    log: Path | None = None,
    cwd: Path | None = None,
    **env: str,
) -> Server:
    """`python -m backend serve` on `url`'s database; what it logs goes to `log`, if given;
    run in `cwd` (a folder with no `.env`, say), if given."""
    port = port or free_port()
    app_url, prepared = app_database(url)
    environment = {
        **os.environ,
        "DATABASE_URL": app_url.render_as_string(hide_password=False),
        "DB_PREPARED_STATEMENTS": str(prepared).lower(),
        "SECRET_KEY": TEST_SECRET_KEY,
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "warning",
        # Stopped at once unless a test is about the drain.
        "DRAIN_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
        **env,
    }
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "backend", "serve", "--port", str(port), *args],
        cwd=cwd or ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb") if log else subprocess.DEVNULL,
    )
    server = Server(process, port)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{server.url}/health/live", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


def stop_server(server: Server) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def test_several_processes_with_metrics_on_refuse_to_start(migrated_url: URL) -> None:
    app_url, _ = app_database(migrated_url)
    refused = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "backend", "serve", "--workers", "2", "--port", str(free_port())],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": app_url.render_as_string(hide_password=False),
            "SECRET_KEY": TEST_SECRET_KEY,
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "error: --workers above 1 serves /metrics from whichever process takes the scrape: run"
        " one process a container (more containers for more), or set METRICS_ENABLED=false"
    ]


def test_metrics_on_a_port_of_their_own_are_not_on_the_app_port(migrated_url: URL) -> None:
    metrics_port = free_port()
    server = start_server(migrated_url, METRICS_PORT=str(metrics_port))
    try:
        assert httpx.get(f"{server.url}/metrics").status_code == 404
        assert httpx.get(f"{server.url}/api/v1/jobs").status_code == 200
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    finally:
        stop_server(server)
    lines = text.splitlines()
    assert any(
        line.startswith(
            'jobboard_http_requests_total{method="GET",route="/api/v1/jobs",status="200"} '
        )
        for line in lines
    ), text
    assert 'jobboard_db_pool_connections{database="primary",state="in_use"} 0.0' in lines
    assert any(line.startswith("process_resident_memory_bytes ") for line in lines)
    # The app's /metrics 404 was counted as what no route matched.
    assert any('route="unmatched",status="404"' in line for line in lines)


def test_links_follow_the_address_the_server_listens_on(migrated_url: URL, tmp_path: Path) -> None:
    """`make run PORT=...`: with no FRONTEND_URL or API_URL set (no `.env` in its folder),
    the feed's links are the server's own address; one set on purpose stays."""
    port = free_port()
    server = start_server(migrated_url, port=port, cwd=tmp_path)
    try:
        feed = httpx.get(f"{server.url}/api/v1/jobs/feed").text
    finally:
        stop_server(server)
    own = f"http://127.0.0.1:{port}"
    assert f'<link rel="self" href="{own}/api/v1/jobs/feed"' in feed
    assert f'<link rel="alternate" href="{own}" type="text/html"' in feed
    server = start_server(migrated_url, cwd=tmp_path, FRONTEND_URL="https://jobs.example")
    try:
        feed = httpx.get(f"{server.url}/api/v1/jobs/feed").text
    finally:
        stop_server(server)
    assert '<link rel="alternate" href="https://jobs.example" type="text/html"' in feed
    assert f'<link rel="self" href="http://127.0.0.1:{server.port}/api/v1/jobs/feed"' in feed


@pytest.fixture
def two_workers(migrated_url: URL) -> Iterator[Server]:
    server = start_server(migrated_url, "--workers", "2", METRICS_ENABLED="false")
    try:
        yield server
    finally:
        stop_server(server)


def send_head(port: int, head: bytes, *, chunk: int = 64 * 1024) -> bytes:
    """Send a request head (possibly never finished) and read what the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        try:
            for start in range(0, len(head), chunk):
                connection.sendall(head[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: what it answered is still there
        try:
            return connection.recv(1024)
        except ConnectionResetError:
            return b""


def test_an_oversized_request_head_is_refused_without_the_worker_growing(
    two_workers: Server,
) -> None:
    # Warm both workers first: what a first request allocates (routes, serializers, metrics)
    # is not what an oversized head would.
    for _ in range(40):
        assert httpx.get(f"{two_workers.url}/health/live").status_code == 200
    before = sum(rss_kib(pid) for pid in two_workers.workers())
    huge_header = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (8 << 20)
    many_headers = b"GET /health/live HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 100_000
    for head in (huge_header, huge_header + b"\r\n\r\n", many_headers, many_headers + b"\r\n"):
        answer = send_head(two_workers.port, head)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:100]
    after = sum(rss_kib(pid) for pid in two_workers.workers())
    assert after - before < 20 * 1024, (before, after)
    # Requests of a normal size go on being served.
    assert httpx.get(f"{two_workers.url}/health/live").status_code == 200


def test_a_worker_too_busy_to_answer_its_supervisor_for_seconds_is_kept(
    two_workers: Server,
) -> None:
    # uvicorn's own default would replace a worker that does not answer within 5 s.
    workers = two_workers.workers()
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGSTOP)
    try:
        time.sleep(7)
    finally:
        os.kill(workers[0], signal.SIGCONT)
    time.sleep(0.5)
    assert two_workers.workers() == workers
    statuses = {httpx.get(f"{two_workers.url}/health/live").status_code for _ in range(10)}
    assert statuses == {200}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_drains_then_stops_within_its_grace(migrated_url: URL, workers: str) -> None:
    server = start_server(
        migrated_url,
        "--workers",
        workers,
        DRAIN_SECONDS="2",
        SHUTDOWN_GRACE_SECONDS="2",
        METRICS_ENABLED="false",
    )
    try:
        assert httpx.get(f"{server.url}/health/ready").status_code == 200
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        # Draining: not ready, so the load balancer stops sending; still serving meanwhile.
        # Each worker hears the signal from its supervisor, on a busy machine some time
        # apart: within a second every one of them says 503.
        in_a_row = 0
        while in_a_row < 5:
            ready = httpx.get(f"{server.url}/health/ready").status_code
            in_a_row = in_a_row + 1 if ready == 503 else 0
            assert time.monotonic() - signalled < 1.5, "still ready a while after SIGTERM"
        assert httpx.get(f"{server.url}/api/v1/jobs").status_code == 200
        assert httpx.get(f"{server.url}/health/live").status_code == 200
        server.process.wait(timeout=15)
        stopped = time.monotonic() - signalled
        assert 2 <= stopped < 2 + 2 + 5, stopped
        # Stopped as asked: uvicorn re-raises the SIGTERM once shut down (one worker), or
        # its supervisor exits 0 once the workers are done.
        assert server.process.returncode in (0, -signal.SIGTERM)
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
