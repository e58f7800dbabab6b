"""Draining on SIGTERM: readiness turns 503 while the process keeps serving, then it stops.

A load balancer takes a replica out of rotation only after its readiness probe fails, so a
replica that stopped listening at once on SIGTERM would abort requests still routed to it.
Here the first SIGTERM only marks the app as draining (`/health/ready` answers 503, every
other route keeps serving) and hands the signal to the server DRAIN_SECONDS later; the
server then finishes what is in flight within SHUTDOWN_GRACE_SECONDS. A second SIGTERM
stops at once.
"""

import asyncio
import logging
import signal
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)


class Drain:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = asyncio.Event()

    def install(self) -> None:
        """Put the drain in front of the server's own SIGTERM handler, if a server installed
        one (uvicorn does, in every worker); elsewhere (tests, scripts) do nothing."""
        previous = signal.getsignal(signal.SIGTERM)
        if not self.seconds or not callable(previous):
            return
        loop = asyncio.get_running_loop()

        def on_sigterm(sig: int, frame: FrameType | None) -> None:
            if self.started.is_set():
                previous(sig, frame)  # a second SIGTERM: stop now
                return
            logger.info("SIGTERM: draining for %g s before shutting down", self.seconds)
            loop.call_soon_threadsafe(self._begin, previous, sig, frame)

        signal.signal(signal.SIGTERM, on_sigterm)

    def _begin(self, previous: Any, sig: int, frame: FrameType | None) -> None:
        self.started.set()
        asyncio.get_running_loop().call_later(self.seconds, previous, sig, frame)
