"""`ksps serve --workers N`: N server processes on one port (SO_REUSEPORT), joined over Redis.

The parent only supervises: it starts the workers, waits until each listens (then calls `ready`, which prints the
banner), restarts one that crashes later (after a pause), and on SIGINT or SIGTERM asks every worker to stop
gracefully. A worker that fails before it listens (address in use, Redis unreachable) stops them all: its exit
status becomes the command's.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing as mp
import queue
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from .cli import EXIT_ERROR, EXIT_LISTEN
from .errors import ListenError
from .logs import configure_logging
from .server.config import ServerConfig

__all__ = ["run_workers"]

log = logging.getLogger("ksps.workers")

_RESTART_PAUSE = 1.0


def _worker(config: ServerConfig, log_level: str, log_format: str, listening: Any) -> None:
    from .server import Server

    configure_logging(log_level, log_format)
    server = Server(config)
    try:
        server.Run(ready=lambda: listening.put(server.urls))
    except ListenError as exc:
        print(f"ksps serve: {exc}", file=sys.stderr)
        sys.exit(EXIT_LISTEN)


def run_workers(
    count: int, config: ServerConfig, log_level: str, log_format: str, *, ready: Callable[[list[str]], None]
) -> int:
    """Run `count` workers until SIGINT/SIGTERM; returns the exit status for the command."""
    context = mp.get_context("spawn")
    stopping = threading.Event()
    listening = context.Queue()
    config = dataclasses.replace(config, reuse_port=True)

    def start(number: int) -> BaseProcess:
        process = context.Process(
            target=_worker, args=(config, log_level, log_format, listening), name=f"ksps-worker-{number}", daemon=False
        )
        process.start()
        log.info("started worker %d (pid %s)", number, process.pid)
        return process

    def request_stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    workers = [start(number) for number in range(count)]
    status = _wait_listening(workers, listening, stopping, ready)
    while status is None and not stopping.wait(0.2):  # supervision tick: notice crashed workers
        for number, process in enumerate(workers):
            if process.exitcode is not None and not stopping.is_set():
                log.error("worker %d exited with %s; restarting it", number, process.exitcode)
                if not stopping.wait(_RESTART_PAUSE):
                    workers[number] = start(number)
    for process in workers:
        if process.pid is not None and process.exitcode is None:
            process.terminate()  # SIGTERM: each worker stops gracefully
    for process in workers:
        process.join(15)
        if process.exitcode is None:
            process.kill()
    return status or 0


def _wait_listening(
    workers: list[BaseProcess], listening: Any, stopping: threading.Event, ready: Callable[[list[str]], None]
) -> int | None:
    """None once every worker listens (after calling `ready`); else the exit status of the first that failed."""
    urls: list[str] = []
    waiting = len(workers)
    while waiting and not stopping.is_set():
        try:
            urls = listening.get(timeout=0.2)
            waiting -= 1
        except queue.Empty:
            failed = [process.exitcode for process in workers if process.exitcode is not None]
            if failed:
                return EXIT_LISTEN if EXIT_LISTEN in failed else EXIT_ERROR
    if not waiting:
        ready(urls)
    return None
