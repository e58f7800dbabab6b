"""The proxy in front of the API (deploy/haproxy/haproxy.cfg), run for real: what the app
server cannot bound (slow request heads and bodies, header counts), it bounds."""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from tests.test_server import Server, free_port, start_server, stop_server

CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "haproxy" / "haproxy.cfg"
REQUEST_TIMEOUT = 1.0


def haproxy() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("haproxy is not installed (.ci/run installs it)")
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    return found


def proxy_environment(api_port: int, proxy_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "HTTP_REQUEST_TIMEOUT": f"{REQUEST_TIMEOUT:g}s",
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
def proxied(migrated_url: URL) -> Iterator[int]:
    binary = haproxy()
    server: Server = start_server(migrated_url)
    proxy_port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [binary, "-db", "-f", str(CONFIG)],
        env=proxy_environment(server.port, proxy_port),
        stdout=subprocess.DEVNULL,
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


def test_a_slow_request_head_is_cut_off(proxied: int) -> None:
    answer, elapsed = exchange(proxied, b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert REQUEST_TIMEOUT <= elapsed < REQUEST_TIMEOUT + 3, elapsed


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
