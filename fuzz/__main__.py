"""`make fuzz`: schemathesis against a live server, as anonymous, candidate, employer and admin.

A throwaway database on DATABASE_URL's server, `python -m backend serve` on a free port, an
account of each role (and a company and a published job, so that ids lead somewhere), then a
bounded, seeded schemathesis run per role, stateful phase included. Any 5xx, or any response
that does not match the OpenAPI document (status code, content type, headers, body), fails
the run. Exit status: 0 when every role's run passed.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from backend.core.config import load_settings
from backend.db import admin

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
PASSWORD = "fuzzing passphrase"  # noqa: S105 (a throwaway account's)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not start")


def token(base: str, email: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": email, "password": PASSWORD}
    )
    response.raise_for_status()
    value: str = response.json()["access_token"]
    return value


def accounts(base: str, env: dict[str, str]) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for role in ("candidate", "employer"):
        email = f"fuzz-{role}@example.com"
        httpx.post(
            f"{base}/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "full_name": role, "role": role},
        ).raise_for_status()
        tokens[role] = token(base, email)
    subprocess.run(
        [sys.executable, "-m", "backend", "create-admin", "--email", "fuzz-admin@example.com"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    tokens["admin"] = token(base, "fuzz-admin@example.com")
    # Confirmed addresses, so that the candidate may apply and the employer publish.
    emails = ["fuzz-candidate@example.com", "fuzz-employer@example.com"]
    subprocess.run(  # noqa: S603 - our own command, with addresses written here
        [sys.executable, "-m", "backend", "confirm-email", *emails],
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    employer = {"Authorization": f"Bearer {tokens['employer']}"}
    company = httpx.post(
        f"{base}/api/v1/companies", json={"name": "Fuzz Co"}, headers=employer
    ).json()
    job = {
        "company_id": company["id"],
        "title": "Fuzz Engineer",
        "description": "Breaks things on purpose.",
        "location": "Berlin",
        "workplace": "remote",
        "employment_type": "full_time",
        "status": "published",
    }
    httpx.post(f"{base}/api/v1/jobs", json=job, headers=employer).raise_for_status()
    return tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=15)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--max-time", type=int, default=90, help="seconds per role")
    args = parser.parse_args()

    server_url = load_settings(environment="development").database
    database = server_url.set(database=f"jobboard_fuzz_{uuid.uuid4().hex[:12]}")
    admin.create_database(database)
    mail_dir = tempfile.mkdtemp(prefix="jobboard-fuzz-mail-")
    index_dir = tempfile.mkdtemp(prefix="jobboard-fuzz-search-")
    env = {
        **os.environ,
        "DATABASE_URL": database.render_as_string(hide_password=False),
        "SECRET_KEY": "fuzzing-secret-key-" + uuid.uuid4().hex,
        "BCRYPT_ROUNDS": "4",
        "RATE_LIMITS_ENABLED": "false",
        "LOGIN_MAX_FAILURES": "1000000",
        "MAIL_BACKEND": "file",
        "MAIL_FILE_DIR": mail_dir,
        # Searches go through the search engine, as a deployment's do.
        "SEARCH_INDEX_DIR": index_dir,
        "LOG_LEVEL": "warning",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = None
    try:
        admin.upgrade(database)
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "backend", "serve", "--port", str(port)], env=env, cwd=ROOT
        )
        wait_for(f"{base}/health/ready")
        tokens = accounts(base, env)
        failed = []
        for role in ("anonymous", "candidate", "employer", "admin"):
            print(f"\n=== schemathesis as {role} ===", flush=True)
            command = [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{base}/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                str(args.max_examples),
                "--seed",
                str(args.seed),
                "--max-time",
                str(args.max_time),
                "--generation-allow-x00",
                "true",
                "--warnings",
                "off",
            ]
            if role in tokens:
                command += ["-H", f"Authorization: Bearer {tokens[role]}"]
            if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:  # noqa: S603
                failed.append(role)
        if failed:
            print(f"\nschemathesis failed as: {', '.join(failed)}")
            return 1
        print("\nschemathesis passed as anonymous, candidate, employer and admin")
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        admin.drop_database(database)


if __name__ == "__main__":
    sys.exit(main())
