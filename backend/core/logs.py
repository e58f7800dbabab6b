"""Logging: one JSON object a line in production (python-json-logger), readable lines in
development; every line, uvicorn's access log included, carries the id of the request it
was written for (`-` outside requests)."""

import logging
import logging.config
import re
import time
from contextvars import ContextVar
from typing import Any

from backend.core.config import Settings

request_id: ContextVar[str] = ContextVar("request_id", default="-")
# When the request being served arrived (`time.perf_counter()`), for its access line.
request_started: ContextVar[float | None] = ContextVar("request_started", default=None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.__dict__.pop("color_message", None)  # uvicorn's copy with terminal colours
        return True


# Where a task is written `name[id](`, its arguments follow up to the matching `)`.
_CALL = re.compile(r"([\w.:]+\[(?:\d+|None)\])\(")


def without_call_arguments(text: str) -> str:
    """`text` with every task written as `name[id](argument=value, ...)` cut to `name[id]`.

    The arguments are Python reprs, so a parenthesis inside a quoted string does not end
    them; one left unclosed cuts the rest of the text.
    """
    parts: list[str] = []
    position = 0
    while (found := _CALL.search(text, position)) is not None:
        parts.append(text[position : found.end(1)])
        position = _after_arguments(text, found.end())
    parts.append(text[position:])
    return "".join(parts)


def _after_arguments(text: str, start: int) -> int:
    """The index just past the `)` closing the argument list that starts at `start`."""
    depth, quote, index = 1, "", start
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1  # the escaped character cannot close the string
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return len(text)


class AccessFieldsFilter(logging.Filter):
    """uvicorn's access line with its figures as fields of their own: `method`, `path`,
    `status` and `duration_ms` (from the request's arrival to its response's start, which is
    when uvicorn writes the line), so that a log search can filter and sum them."""

    def filter(self, record: logging.LogRecord) -> bool:
        arguments = record.args
        if record.name == "uvicorn.access" and isinstance(arguments, tuple) and len(arguments) == 5:
            _, method, path, _, status = arguments
            fields = record.__dict__
            fields["method"], fields["path"], fields["status"] = method, path, status
            started = request_started.get()
            if started is not None:
                fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return True


class TaskArgumentsFilter(logging.Filter):
    """Task logs name each task, never its arguments (an address, for one).

    procrastinate writes a task as `name[id](argument=value, ...)` in its messages (with or
    without the task in the record) and puts the whole task, arguments included, in the
    record (`job`, or `jobs` for a batch): here a task is `name[id]` in every message and
    its record keeps no arguments.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        if isinstance(fields.get("job"), dict):
            fields["job"] = self._without_arguments(fields["job"])
        if isinstance(fields.get("jobs"), list):
            fields["jobs"] = [
                self._without_arguments(job) if isinstance(job, dict) else job
                for job in fields["jobs"]
            ]
        if record.name.startswith("procrastinate"):
            record.msg = without_call_arguments(record.getMessage())
            record.args = None
        return True

    @staticmethod
    def _without_arguments(job: dict[str, Any]) -> dict[str, Any]:
        kept = {key: value for key, value in job.items() if key != "task_kwargs"}
        if "call_string" in kept:
            kept["call_string"] = f"{job.get('task_name')}[{job.get('id')}]"
        return kept


# The housekeeping task that runs every ten seconds: its routine runs are not news.
ROUTINE_TASKS = ("retry_stalled_tasks[",)


class RoutineTasksFilter(logging.Filter):
    """Drop the queue's INFO lines about a routine run of ROUTINE_TASKS (deferred, started,
    succeeded: three lines every ten seconds); its warnings and errors stay, and so does
    everything at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not record.name.startswith("procrastinate"):
            return True
        message = record.getMessage()
        return not any(task in message for task in ROUTINE_TASKS)


def log_format(settings: Settings) -> str:
    if settings.log_format is not None:
        return settings.log_format
    return "json" if settings.environment == "production" else "text"


def logging_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the app and uvicorn alike."""
    level = settings.log_level.upper()
    # uvicorn's loggers write through the root handler, not handlers of their own.
    through_root = {"handlers": [], "propagate": True}
    # The access log's lines are at INFO. Above it, the logger has nowhere to write: uvicorn
    # then skips building each line (the client's address, the quoted path), which it would
    # otherwise do on every request for the level to drop.
    threshold = logging.getLevelNamesMapping().get(level, logging.NOTSET)
    access = through_root if threshold <= logging.INFO else {"handlers": [], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "task_arguments": {"()": TaskArgumentsFilter},
            "access_fields": {"()": AccessFieldsFilter},
            "routine_tasks": {"()": RoutineTasksFilter},
        },
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",  # ISO 8601, UTC
            },
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": log_format(settings),
                "filters": ["routine_tasks", "request_id", "task_arguments", "access_fields"],
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {**through_root, "level": level},
            "uvicorn.error": through_root,
            "uvicorn.access": access,
        },
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))
