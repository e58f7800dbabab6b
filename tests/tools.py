"""Debian's programs the tests run for real (haproxy, PgBouncer, promtool)."""

import os
import shutil
from pathlib import Path

import pytest


def debian_program(name: str, package: str | None = None) -> str:
    """The path of `name`; missing, a skip here and a failure in CI (.ci/run installs it)."""
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (.ci/run installs it)")
        pytest.skip(f"{name} is not installed (apt-get install {package or name})")
    return found
