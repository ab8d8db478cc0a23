"""Structured logging for the service: one line per event, plain ``key=value`` or JSON.

Context travels in ``extra=`` (``log.info("crawl finished", extra={"source": "hrana", "status": "ok"})``);
both formats print every extra field, so journald, Docker and log shippers see the same facts.
JSON is chosen with ``log: {json: true}`` in settings.yaml (or ``TOCSIN_LOG_JSON=1``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from config.schema import LogSettings

ENV_JSON = "TOCSIN_LOG_JSON"
# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is printed.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_NOISY = ("apscheduler.executors", "apscheduler.scheduler", "urllib3", "asyncio")


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD and not key.startswith("_")
    }


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the extra fields, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(extra_fields(record))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2026-11-25T04:00:00.000+00:00 INFO monitor.service: message key=value ...``"""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        fields = extra_fields(record)
        if fields:
            line += " " + " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text_value(value: Any) -> str:
    text = str(value)
    return (
        json.dumps(text, ensure_ascii=False)
        if (not text or any(c.isspace() for c in text))
        else text
    )


def wants_json(settings: LogSettings) -> bool:
    env = os.environ.get(ENV_JSON, "").strip().lower()
    if env in {"1", "true", "yes"}:
        return True
    if env in {"0", "false", "no"}:
        return False
    return settings.json_format


def configure_logging(settings: LogSettings, *, stream: TextIO | None = None) -> logging.Handler:
    """Replace the root handlers with one structured handler on stderr; returns it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if wants_json(settings) else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    # APScheduler logs every run at INFO; its warnings (missed runs, max instances) still come through.
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
