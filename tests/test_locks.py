"""The lock files every install reads: each pins what its requirements file asks for, at
the same version, and every package in it carries hashes (so pip installs nothing else)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def pins(path: Path) -> dict[str, str]:
    """Every `name==version` a requirements file asks for, following `-r` includes."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("-r "):
            found.update(pins(path.parent / line.removeprefix("-r ").strip()))
        elif match := PIN.match(line):
            found[normal(match[1])] = match[2]
    return found


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """Each package of a lock file: its version and how many hashes it lists."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in path.read_text().splitlines():
        if match := PIN.match(line):
            current = normal(match[1])
            entries[current] = (match[2], 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
        elif line and not line.startswith((" ", "#")):
            current = None
    return entries


@pytest.mark.parametrize(
    ("requirements", "lock"),
    [
        ("requirements.txt", "requirements.lock"),
        ("requirements-dev.txt", "requirements-dev.lock"),
        ("requirements-bench.txt", "requirements-bench.lock"),
    ],
)
def test_a_lock_pins_its_requirements_with_hashes(requirements: str, lock: str) -> None:
    wanted = pins(ROOT / requirements)
    entries = locked(ROOT / lock)
    assert wanted, requirements
    for name, version in wanted.items():
        assert name in entries, f"{name} is not in {lock}: run `make lock`"
        assert entries[name][0] == version, f"{lock} has {name} {entries[name][0]}, not {version}"
    assert all(hashes > 0 for _, hashes in entries.values()), lock
    # Nothing of the machine it was written on (local indexes, wheel folders).
    assert "--find-links" not in (ROOT / lock).read_text()
    assert "index-url" not in (ROOT / lock).read_text().replace("--no-emit-index-url", "")


def test_the_packages_imported_directly_are_pinned() -> None:
    # What the code imports by name is pinned in requirements.txt itself, not left to the
    # resolver (starlette under FastAPI, greenlet under SQLAlchemy).
    wanted = pins(ROOT / "requirements.txt")
    for name in ("starlette", "greenlet", "psycopg", "sqlalchemy", "fastapi", "pydantic"):
        assert name in wanted, name


def test_every_install_reads_a_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes --no-deps -r requirements-dev.lock" in makefile
    assert "--require-hashes --no-deps -r requirements-bench.lock" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes --no-deps -r requirements.lock" in dockerfile
    assert not re.search(r"pip install[^\n]*-r requirements(-dev|-bench)?\.txt", makefile)
