"""The proxy in front of the API (deploy/haproxy/haproxy.cfg), run for real: what the app
server cannot bound (slow request heads and bodies, header counts), it bounds."""

import os
import re
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from tests.conftest import empty_every_table
from tests.factories import DEFAULT_PASSWORD, bearer, unique_email
from tests.test_server import Server, free_port, start_server, stop_server
from tests.tools import debian_program

CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "haproxy" / "haproxy.cfg"
REQUEST_TIMEOUT = 1.0
# What a deployment runs with (README, Limits): the fleet's tests are about restarts, and a
# client thread starved for a second on a loaded machine is not a slow client.
DEPLOYED_REQUEST_TIMEOUT = 10.0


def haproxy() -> str:
    return debian_program("haproxy")


def proxy_environment(
    api_port: int, proxy_port: int, request_timeout: float = REQUEST_TIMEOUT
) -> dict[str, str]:
    return {
        **os.environ,
        "HTTP_REQUEST_TIMEOUT": f"{request_timeout:g}s",
        "API_ADDRESS": f"127.0.0.1:{api_port}",
        "API_REPLICAS": "1",
        "PROXY_BIND": f"127.0.0.1:{proxy_port}",
    }


def test_the_configuration_is_valid() -> None:
    result = subprocess.run(  # noqa: S603
        [haproxy(), "-c", "-f", str(CONFIG)],
        env=proxy_environment(8000, 8080),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def proxy_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proxy") / "haproxy.log"


@pytest.fixture(scope="module")
def proxied(migrated_url: URL, proxy_log: Path) -> Iterator[int]:
    binary = haproxy()
    server: Server = start_server(migrated_url)
    proxy_port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [binary, "-db", "-f", str(CONFIG)],
        env=proxy_environment(server.port, proxy_port),
        stdout=proxy_log.open("wb"),
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{proxy_port}/health/live", timeout=1)
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("the proxy did not come up")
        yield proxy_port
    finally:
        process.terminate()
        process.wait(timeout=10)
        stop_server(server)


def exchange(port: int, *parts: bytes, pause: float = 0.0) -> tuple[bytes, float]:
    """Send `parts` with `pause` between them; the answer's first bytes and when it came."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        try:
            for part in parts:
                connection.sendall(part)
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = connection.recv(256)
        except ConnectionResetError:
            answer = b""
    return answer, time.monotonic() - started


def test_requests_pass_through(proxied: int) -> None:
    response = httpx.get(f"http://127.0.0.1:{proxied}/api/v1/jobs")
    assert response.status_code == 200
    assert response.headers["X-Request-ID"]


def test_the_proxy_logs_the_request_id_the_app_answers(proxied: int, proxy_log: Path) -> None:
    ids = []
    for sent in (None, "made-up-by-the-client"):
        headers = {"X-Request-ID": sent} if sent else {}
        response = httpx.get(f"http://127.0.0.1:{proxied}/api/v1/jobs?limit=1", headers=headers)
        assert response.status_code == 200
        ids.append(response.headers["X-Request-ID"])
    # The proxy's id, a UUID, replaces whatever the client sent.
    assert all(
        re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", i)
        for i in ids
    )
    assert len(set(ids)) == 2
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = proxy_log.read_text().splitlines()
        logged = [line for line in lines if any(f"request_id={i} " in line for i in ids)]
        if len(logged) == 2:
            break
        time.sleep(0.1)
    assert len(logged) == 2, lines[-5:]
    for line, request_id in zip(logged, ids, strict=True):
        assert " 200 " in line
        assert f'request_id={request_id} "GET /api/v1/jobs?limit=1 HTTP/1.1"' in line


@pytest.mark.parametrize(
    "path",
    [
        "/metrics",
        "/metrics/",
        "/metrics?format=text",
        "/%6Detrics",
        "/%6d%65%74%72%69%63%73",
        "/metric%73",
        "//metrics",
        "/./metrics",
        "/x/../metrics",
    ],
)
def test_metrics_are_not_served_through_the_proxy_in_any_spelling(proxied: int, path: str) -> None:
    # Sent as written (an HTTP client would normalise some of these before sending).
    answer, _ = exchange(proxied, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    status = answer.split(b" ", 2)[1]
    assert status in (b"404", b"400"), (path, answer)


# How early haproxy may fire a timeout by the client's clock: it schedules timers from the
# time it cached at its last wake-up, which on a loaded machine can trail the client's
# monotonic clock by a few milliseconds (0.9978 s was seen for a 1 s timeout).
TIMER_SLACK = 0.05


def test_a_slow_request_head_is_cut_off(proxied: int) -> None:
    answer, elapsed = exchange(proxied, b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
    assert answer.startswith(b"HTTP/1.1 408"), answer
    # Cut off by the timeout, not before it (a 408 at once would fail this) nor long after.
    assert REQUEST_TIMEOUT - TIMER_SLACK <= elapsed < REQUEST_TIMEOUT + 3, elapsed


def test_a_body_sent_a_byte_at_a_time_is_cut_off(proxied: int) -> None:
    head = (
        b"POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    )
    answer, elapsed = exchange(proxied, head, *([b" "] * 20), pause=0.2)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert elapsed < REQUEST_TIMEOUT + 5, elapsed


@pytest.mark.parametrize(
    "head",
    [
        b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n",
        b"GET /health/live HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 120 + b"\r\n",
    ],
    ids=["oversized header", "too many headers"],
)
def test_oversized_heads_are_refused(proxied: int, head: bytes) -> None:
    answer, _ = exchange(proxied, head)
    assert answer.startswith(b"HTTP/1.1 400"), answer


# --- a rolling restart through the proxy


@pytest.fixture
def two_replicas_behind_the_proxy(
    migrated_url: URL, tmp_path: Path
) -> Iterator[tuple[int, list[Server]]]:
    """Two replicas behind the deployed configuration, its replica list written out."""
    binary = haproxy()
    with ThreadPoolExecutor(2) as starting:
        replicas = list(starting.map(lambda _: start_replica(migrated_url), range(2)))
    servers = "\n".join(
        f"    server api{number} 127.0.0.1:{replica.port} check"
        for number, replica in enumerate(replicas)
    )
    text = CONFIG.read_text()
    template = next(line for line in text.splitlines() if "server-template" in line)
    config = tmp_path / "haproxy.cfg"
    config.write_text(text.replace(template, servers))
    proxy_port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [binary, "-db", "-f", str(config)],
        env=proxy_environment(0, proxy_port, DEPLOYED_REQUEST_TIMEOUT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{proxy_port}")
        time.sleep(2.5)  # both replicas pass their first checks
        yield proxy_port, replicas
    finally:
        process.terminate()
        process.wait(timeout=10)
        for replica in replicas:
            replica.process.kill()  # nothing left to drain
            replica.process.wait()
        empty_every_table(migrated_url)


def start_replica(url: URL, port: int | None = None) -> Server:
    # Readiness says 503 for 3 s before a replica stops: more than the two checks a second
    # apart that take it out of rotation.
    return start_server(
        url, port=port, DRAIN_SECONDS="3", SHUTDOWN_GRACE_SECONDS="5", RATE_LIMITS_ENABLED="false"
    )


def wait_until_serving(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/jobs", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} does not serve")


def test_a_rolling_restart_under_load_fails_no_request(
    two_replicas_behind_the_proxy: tuple[int, list[Server]], migrated_url: URL
) -> None:
    proxy_port, replicas = two_replicas_behind_the_proxy
    base = f"http://127.0.0.1:{proxy_port}/api/v1"
    body = {"email": unique_email("rolling"), "password": DEFAULT_PASSWORD, "full_name": "R"}
    registered = httpx.post(f"{base}/auth/register", json={**body, "role": "employer"})
    assert registered.status_code == 201, registered.text
    token = httpx.post(
        f"{base}/auth/token", data={"username": body["email"], "password": DEFAULT_PASSWORD}
    )
    employer = bearer(token.json()["access_token"])

    stop = threading.Event()
    outcomes: Counter[str] = Counter()
    created: list[int] = []
    lock = threading.Lock()

    def load(writer: bool) -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            number = 0
            while not stop.is_set():
                number += 1
                try:
                    if writer:
                        name = f"Rolling {threading.get_ident()} {number}"
                        response = client.post("/companies", json={"name": name}, headers=employer)
                    else:
                        response = client.get("/jobs", params={"limit": 5})
                except httpx.TransportError as exc:
                    outcome = type(exc).__name__
                else:
                    outcome = str(response.status_code)
                    if response.status_code == 201:
                        with lock:
                            created.append(response.json()["id"])
                with lock:
                    outcomes[outcome] += 1

    threads = [threading.Thread(target=load, args=(index == 0,)) for index in range(4)]
    for thread in threads:
        thread.start()
    try:
        for index, old in enumerate(replicas):
            time.sleep(0.5)
            stop_server(old)  # SIGTERM, as an orchestrator sends; waits for the exit
            replicas[index] = start_replica(migrated_url, port=old.port)
            time.sleep(2.5)  # two good checks put it back in rotation
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert set(outcomes) == {"200", "201"}, outcomes
    assert outcomes["200"] > 50, outcomes
    assert outcomes["201"] > 10, outcomes
    # Every acknowledged write is there.
    listed: set[int] = set()
    cursor: str | None = None
    while True:
        page = httpx.get(
            f"{base}/companies",
            params={"limit": 100, "cursor": cursor} if cursor else {"limit": 100},
        ).json()
        listed |= {company["id"] for company in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(created) <= listed
