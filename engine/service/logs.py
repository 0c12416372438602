"""The service's log: pairsync's own lines (one per run, one per webhook, problems), third-party loggers quiet.

`--log-level` sets pairsync's level; the libraries underneath (the Stripe SDK, httpx, APScheduler, uvicorn) log
only warnings unless the level is `debug`. `--log-format json` writes one JSON object per line for log shippers.
Every line passes the secret redaction filter.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from engine.secrets import RedactingFilter

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
QUIET = (
    "alembic", "stripe", "httpx", "httpcore", "apscheduler", "uvicorn", "uvicorn.error", "uvicorn.access", "asyncio"
)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One object per line: time (UTC, ISO 8601), level, logger, message, and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(level: str = "info", fmt: str = "text") -> None:
    """Replace the root handlers with one on stderr; quiet third-party loggers unless debugging."""
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else logging.Formatter(TEXT)
    if fmt != "json":
        formatter.converter = _utc  # the same UTC timestamps as the CLI and the API
        formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
        formatter.default_msec_format = "%s.%03dZ"
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = getattr(logging, level.upper())
    root.setLevel(numeric)
    logging.getLogger("pairsync").setLevel(numeric)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)


def _utc(seconds: float | None) -> Any:
    return datetime.fromtimestamp(seconds or 0, UTC).timetuple()
