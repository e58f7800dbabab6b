"""Unknown and known emails cost comparable time: no account enumeration by stopwatch.

Loose bounds on the ratio of medians over many interleaved samples, so that a noisy
machine does not fail them, while skipping the hash (a ratio near 0.1 at cost 10) would.
"""

import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import ClientFactory
from tests.factories import create_user

SAMPLES = 15
LOW, HIGH = 0.67, 1.5


async def median_ratio(
    first: Callable[[int], Awaitable[httpx.Response]],
    second: Callable[[int], Awaitable[httpx.Response]],
) -> float:
    timings: tuple[list[float], list[float]] = ([], [])
    for sample in range(SAMPLES):
        for call, bucket in ((first, timings[0]), (second, timings[1])):
            started = time.perf_counter()
            await call(sample)
            bucket.append(time.perf_counter() - started)
    return statistics.median(timings[0]) / statistics.median(timings[1])


async def test_sign_in_costs_the_same_for_unknown_and_known_emails(
    make_client: ClientFactory, db: AsyncSession, app: FastAPI
) -> None:
    client = await make_client(
        bcrypt_rounds=10, rate_limits_enabled=False, login_max_failures=10_000
    )
    hashed = await create_user(db, client.app)  # type: ignore[attr-defined]

    async def unknown(sample: int) -> httpx.Response:
        data = {"username": f"nobody{sample}@example.com", "password": "wrong password"}
        response = await client.post("/api/v1/auth/token", data=data)
        assert response.status_code == 401
        return response

    async def known(sample: int) -> httpx.Response:
        data = {"username": hashed.email, "password": "wrong password"}
        response = await client.post("/api/v1/auth/token", data=data)
        assert response.status_code == 401
        return response

    ratio = await median_ratio(unknown, known)
    assert LOW < ratio < HIGH, ratio


async def test_password_reset_costs_the_same_for_unknown_and_known_emails(
    make_client: ClientFactory, db: AsyncSession, app: FastAPI
) -> None:
    client = await make_client(rate_limits_enabled=False, mail_backend="console")
    user = await create_user(db, app)

    async def unknown(sample: int) -> httpx.Response:
        response = await client.post(
            "/api/v1/auth/password-reset", json={"email": f"nobody{sample}@example.com"}
        )
        assert response.status_code == 202
        return response

    async def known(sample: int) -> httpx.Response:
        response = await client.post("/api/v1/auth/password-reset", json={"email": user.email})
        assert response.status_code == 202
        return response

    ratio = await median_ratio(unknown, known)
    assert 0.5 < ratio < 2.0, ratio
