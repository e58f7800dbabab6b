"""Password hashing runs off the event loop, on lower-priority threads."""

import os
import threading
from pathlib import Path

import pytest

from backend.core.security import HASH_THREAD_NICE, PasswordHasher, available_cpus


async def test_hashing_runs_on_its_own_lower_priority_threads() -> None:
    hasher = PasswordHasher(4, threads=2)
    try:
        loop_thread = threading.get_native_id()
        thread, nice = await hasher._run(
            lambda: (
                threading.get_native_id(),
                os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
            )
        )
        assert thread != loop_thread
        assert nice == os.getpriority(os.PRIO_PROCESS, loop_thread) + HASH_THREAD_NICE
        hashed = await hasher.hash("a long enough password")
        assert await hasher.verify("a long enough password", hashed) == (True, None)
        assert await hasher.verify("another password", hashed) == (False, None)
    finally:
        hasher.close()


async def test_an_unreadable_stored_hash_is_no_match() -> None:
    hasher = PasswordHasher(4)
    try:
        assert await hasher.verify("a long enough password", "not-a-hash") == (False, None)
        assert await hasher.verify("a long enough password", None) == (False, None)
    finally:
        hasher.close()


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("max 100000", None), ("150000 100000", 2), ("50000 100000", 1), ("100000 100000", 1)],
)
def test_hashing_threads_follow_the_cpu_quota(
    tmp_path: Path, cpu_max: str, expected: int | None
) -> None:
    quota = tmp_path / "cpu.max"
    quota.write_text(cpu_max + "\n")
    affinity = len(os.sched_getaffinity(0))
    assert available_cpus(quota) == (affinity if expected is None else min(affinity, expected))
    assert available_cpus(tmp_path / "missing") == affinity
