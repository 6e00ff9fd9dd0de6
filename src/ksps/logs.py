"""Structured logging for `ksps serve`: one line per event, `key=value` (logfmt) or JSON."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

__all__ = ["PeerLogFilter", "SampledLog", "ThrottledLog", "configure_logging"]


#: Runs a callback after a delay (`loop.call_later`, or the broker's `Scheduler.call_later`).
CallLater = Callable[[float, Callable[[], None]], object]


def call_later_in_running_loop(delay: float, callback: Callable[[], None]) -> object:
    """`call_later` on the running event loop; nothing when no loop runs (then only later lines report drops)."""
    try:
        return asyncio.get_running_loop().call_later(delay, callback)
    except RuntimeError:
        return None


class ThrottledLog:
    """Warnings that a client can trigger at will, at most one line per `interval` seconds per kind.

    Lines dropped meanwhile are counted: the next line of that kind says `(and N more like it)`, and when a
    burst ends before the next line, the last dropped line is logged with that count once the interval is
    over, so a flood cannot fill a disk and an operator still learns how large it was.
    """

    def __init__(
        self,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
        call_later: CallLater | None = call_later_in_running_loop,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._log = logger or logging.getLogger("ksps.server")
        self._call_later = call_later
        self._last: dict[str, float] = {}
        self._dropped: dict[str, int] = {}
        #: The last dropped line of each kind, logged with the count if the burst ends before the next line.
        self._pending: dict[str, tuple[str, tuple[object, ...]]] = {}

    def admit(self, kind: str) -> int | None:
        """None when a line of this `kind` went out less than `interval` ago; else how many were dropped."""
        now = self._clock()
        last = self._last.get(kind, -self.interval)
        if now - last < self.interval:
            self._dropped[kind] = self._dropped.get(kind, 0) + 1
            return None
        self._last[kind] = now
        self._pending.pop(kind, None)
        return self._dropped.pop(kind, 0)

    def warning(self, kind: str, message: str, *args: object) -> None:
        """Log `message % args` at warning unless a line of this `kind` was logged less than `interval` ago."""
        dropped = self.admit(kind)
        if dropped is None:
            if kind not in self._pending and self._call_later is not None:
                delay = self._last[kind] + self.interval - self._clock()
                self._call_later(max(delay, 0.0), lambda: self._flush(kind))
            self._pending[kind] = (message, args)
        elif dropped:
            self._log.warning(message + _MORE, *args, dropped)
        else:
            self._log.warning(message, *args)

    def _flush(self, kind: str) -> None:
        pending = self._pending.get(kind)
        if pending is None:
            return  # a later line already reported the count
        dropped = self.admit(kind)
        if dropped is None:  # the clock says the interval is not over yet: wait for the next line instead
            return
        message, args = pending
        if dropped > 1:  # the line shown is itself one of the dropped ones
            self._log.warning(message + _MORE, *args, dropped - 1)
        else:
            self._log.warning(message, *args)


_MORE = " (and %d more like it)"


class SampledLog:
    """Info lines about routine events (a connection opened or closed), sampled under churn.

    The first `burst` lines of a kind in each `interval` go out; the rest are counted, and the count is logged
    as one line when the interval ends (by a timer, so a burst that stops is still reported) or when the next
    line of that kind starts a new interval, whichever comes first. A flood of connections then costs at most
    about `burst + 1` lines per kind per interval (docs/observability.md).
    """

    def __init__(
        self,
        *,
        burst: int = 10,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
        call_later: CallLater | None = call_later_in_running_loop,
    ) -> None:
        self.burst = burst
        self.interval = interval
        self._clock = clock
        self._log = logger or logging.getLogger("ksps.server")
        self._call_later = call_later
        #: kind -> [start of its interval, lines logged in it, lines skipped in it]
        self._windows: dict[str, list[float]] = {}

    def info(self, kind: str, message: str, *args: object) -> None:
        """Log `message % args` at info, unless `burst` lines of this `kind` went out in this interval."""
        if not self._log.isEnabledFor(logging.INFO):
            return
        now = self._clock()
        window = self._windows.get(kind)
        if window is None or now - window[0] >= self.interval:
            if window is not None:
                self._report(kind, window, now)
            window = self._windows[kind] = [now, 0, 0]
        if window[1] < self.burst:
            window[1] += 1
            self._log.info(message, *args)
            return
        window[2] += 1
        if window[2] == 1 and self._call_later is not None:
            start = window[0]
            self._call_later(max(start + self.interval - now, 0.0), lambda: self._flush(kind, start))

    def _flush(self, kind: str, start: float) -> None:
        window = self._windows.get(kind)
        if window is not None and window[0] == start:  # else a later line already started a new interval
            self._report(kind, window, self._clock())
            window[2] = 0

    def _report(self, kind: str, window: list[float], now: float) -> None:
        if window[2]:
            self._log.info(
                "%d more %s lines not logged in %.0f s (at most %d a second are)",
                window[2],
                kind,
                max(now - window[0], self.interval),
                self.burst,
            )


class PeerLogFilter(logging.Filter):
    """Throttles what picows logs about misbehaving peers, and gives it its true level.

    picows logs each frame its parser refuses ("WS parser error", answered with 1002/1009) at ERROR: a client
    error, not a server one, and one line per bad frame lets a client fill a disk. Every record at warning or
    above goes through a :class:`ThrottledLog` keyed by its message template.
    """

    #: Message templates of records about the peer, logged at warning instead of error.
    _PEER_CAUSED = ("WS parser error",)
    #: picows' info lines about every connection: internals (ksps logs its own line per connection, with the
    #: client ID and close code), so logged at debug, shown only when debug is on.
    _INTERNALS = ("New connection accepted", "Disconnected", "WS connection established")

    def __init__(self, interval: float = 1.0) -> None:
        super().__init__()
        self._throttle = ThrottledLog(interval)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return True
        if record.levelno == logging.INFO and str(record.msg).startswith(self._INTERNALS):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        template = str(record.msg)
        if record.levelno > logging.WARNING and template.startswith(self._PEER_CAUSED):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        dropped = self._throttle.admit(template)
        if dropped:
            record.msg = template + _MORE
            record.args = (*(record.args if isinstance(record.args, tuple) else (record.args,)), dropped)
        return dropped is not None


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


def configure_logging(level: str = "info", fmt: str = "logfmt") -> None:
    """Send ksps logs to stderr at `level` (debug, info, warning, error) as `logfmt` or `json`."""
    handler = logging.StreamHandler()
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _LogfmtFormatter())
    # Records of child loggers skip the root's level: the handler applies it to all of them, so a line that
    # `PeerLogFilter` lowered to debug is not shown at info.
    handler.setLevel(level.upper())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # picows at its own level: its per-connection lines arrive at debug (`PeerLogFilter`), the keepalive
    # timeouts and oversized requests at info, its errors about peers at warning.
    logging.getLogger("picows").setLevel(level.upper())
