"""Secrets come from `${VAR}` references and are scrubbed from everything pairsync prints or stores."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MASK = "***"


class UnsetVariable(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class Redactor:
    """Remembers secret values and replaces them wherever text leaves the process."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        if len(value) < 4:  # too short to scrub without mangling ordinary text
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pattern = None

    def redact(self, text: str) -> str:
        pattern = self._compiled()
        return pattern.sub(MASK, text) if pattern else text

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            return self._pattern


REDACTOR = Redactor()


def expand(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace `${VAR}` references with the variable's value, remembering it as a secret."""
    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise UnsetVariable(name)
        REDACTOR.add(env[name])
        return env[name]

    return REFERENCE.sub(value, text)


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = REDACTOR.redact(record.getMessage())
        record.args = None
        return True


def install_log_redaction() -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())


class ArgRedactingFilter(logging.Filter):
    """Scrubs secrets from the message and each text argument, keeping the arguments: formatters that
    unpack them (uvicorn's access log: client, method, path...) still work. A webhook URL can carry a
    secret token in its path, so the access log line is scrubbed too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = REDACTOR.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(REDACTOR.redact(a) if isinstance(a, str) else a for a in record.args)
        return True


SERVER_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error")


def install_server_log_redaction() -> None:
    """Scrub the HTTP server's own log handlers (uvicorn sets them up apart from the root logger's)."""
    for name in SERVER_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(ArgRedactingFilter())
