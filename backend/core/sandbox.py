"""Reading an untrusted file in a child process that cannot hang or swamp its parent.

Each call runs one function of `backend.core.documents` in a new process forked from
multiprocessing's fork server (which has the parsers imported already, so a call costs a
fork, not an interpreter start). The child lowers its own limits before it reads a byte:
address space (`RESUME_PARSE_MEMORY_MB`), CPU time, no core file. The parent waits at most
`RESUME_PARSE_SECONDS` for the answer and kills the child past it. A child that dies, runs
out of memory or time, or answers nothing is a refusal like any unreadable file.
"""

import multiprocessing
import resource
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from backend.core.documents import UnreadableDocument

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload([__name__])

# Children at once per process: each may take its memory limit.
_CHILDREN = anyio.CapacityLimiter(2)

Result = TypeVar("Result")


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    seconds: float
    memory_bytes: int


def _child(
    connection: Connection,
    limits: SandboxLimits,
    function: Callable[..., object],
    arguments: tuple[object, ...],
) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    cpu = max(1, int(limits.seconds + 1))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    try:
        answer: tuple[str, object] = ("ok", function(*arguments))
    except UnreadableDocument as error:
        answer = ("refused", str(error))
    except MemoryError:
        answer = ("refused", "Reading the file takes too much memory.")
    except Exception:
        answer = ("refused", "The file cannot be read.")
    connection.send(answer)
    connection.close()


def _run(limits: SandboxLimits, function: Callable[..., object], arguments: tuple[Any, ...]) -> Any:
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(
        target=_child, args=(sender, limits, function, arguments), daemon=True
    )
    process.start()
    sender.close()
    try:
        if not receiver.poll(limits.seconds):
            raise UnreadableDocument("Reading the file takes too long.")
        status, value = receiver.recv()
    except (EOFError, OSError) as error:  # the child died without answering
        raise UnreadableDocument("The file cannot be read.") from error
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
        process.close()
    if status != "ok":
        raise UnreadableDocument(value)
    return value


async def run(limits: SandboxLimits, function: Callable[..., Result], *arguments: Any) -> Result:
    """`function(*arguments)` in a limited child process, off the event loop; raises
    UnreadableDocument for a refusal, a timeout or a child that died."""
    result: Result = await anyio.to_thread.run_sync(
        _run, limits, function, arguments, limiter=_CHILDREN
    )
    return result
