"""Running a command's coroutine so that Ctrl+C and SIGTERM end it cleanly instead of with a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["on_stop_signals", "run"]


def on_stop_signals(stop: Callable[[], None]) -> None:
    """Call `stop` on SIGINT or SIGTERM (from inside the running loop)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Windows has no loop signal handlers: Ctrl+C then raises KeyboardInterrupt, caught by `run`.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)


def run(main: Coroutine[Any, Any, int]) -> int:
    """`asyncio.run(main)`; a Ctrl+C that arrives before the handlers are set exits with 130."""
    try:
        return asyncio.run(main)
    except KeyboardInterrupt:
        return 130
