"""Logging: one JSON object a line in production (python-json-logger), readable lines in
development; every line, uvicorn's access log included, carries the id of the request it
was written for (`-` outside requests)."""

import logging
import logging.config
from contextvars import ContextVar
from typing import Any

from backend.core.config import Settings

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.__dict__.pop("color_message", None)  # uvicorn's copy with terminal colours
        return True


class TaskArgumentsFilter(logging.Filter):
    """Task logs name each task, never its arguments (an address, for one).

    procrastinate writes a task as `name[id](argument=value, ...)` in its messages and puts
    the whole task, arguments included, in the record (`job`, or `jobs` for a batch): here
    a task is `name[id]` in the message and its record keeps no arguments.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        if isinstance(fields.get("job"), dict):
            fields["job"] = self._without_arguments(record, fields["job"])
        if isinstance(fields.get("jobs"), list):
            fields["jobs"] = [
                self._without_arguments(record, job) if isinstance(job, dict) else job
                for job in fields["jobs"]
            ]
        return True

    @staticmethod
    def _without_arguments(record: logging.LogRecord, job: dict[str, Any]) -> dict[str, Any]:
        named = f"{job.get('task_name')}[{job.get('id')}]"
        call = job.get("call_string")
        if isinstance(call, str) and isinstance(record.msg, str):
            record.msg = record.msg.replace(call, named)
        kept = {key: value for key, value in job.items() if key != "task_kwargs"}
        if "call_string" in kept:
            kept["call_string"] = named
        return kept


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
                "filters": ["request_id", "task_arguments"],
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
