"""Structured logging for `ksps serve`: one line per event, `key=value` (logfmt) or JSON."""

from __future__ import annotations

import json
import logging
import time

__all__ = ["LogThrottle", "configure_logging", "more"]


class LogThrottle:
    """At most one log line per `interval` seconds for one kind of event that a client can repeat at will.

    Call it at each event: it returns None when the line should be skipped, otherwise how many were
    skipped since the last line (for a "(N more)" suffix), so a flood cannot fill a disk.
    """

    def __init__(self, interval: float = 1.0) -> None:
        self._interval = interval
        self._next = 0.0
        self._skipped = 0

    def __call__(self) -> int | None:
        now = time.monotonic()
        if now < self._next:
            self._skipped += 1
            return None
        self._next = now + self._interval
        skipped, self._skipped = self._skipped, 0
        return skipped


def more(skipped: int) -> str:
    """The suffix of a throttled log line: ` (N more like it)` when some were skipped."""
    return f" ({skipped} more like it)" if skipped else ""


class _LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line = (
            f'time={stamp}Z level={record.levelname.lower()} logger={record.name} msg="{_quote(record.getMessage())}"'
        )
        if record.exc_info:
            line += f' exc="{_quote(self.formatException(record.exc_info))}"'
        return line


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "time": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def configure_logging(level: str = "warning", fmt: str = "logfmt") -> None:
    """Send ksps logs to stderr at `level` (debug, info, warning, error) as `logfmt` or `json`."""
    handler = logging.StreamHandler()
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # picows logs every accepted connection at info; keep that for debug runs only.
    logging.getLogger("picows").setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
