"""`ksps serve --workers N`: N server processes on one port (SO_REUSEPORT), joined over Redis.

The parent only supervises: it starts the workers, restarts one that crashes (after a pause), and on SIGINT or
SIGTERM asks every worker to stop gracefully.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import threading
from multiprocessing.process import BaseProcess
from typing import Any

from .logs import configure_logging

__all__ = ["run_workers"]

log = logging.getLogger("ksps.workers")

_RESTART_PAUSE = 1.0


def _worker(options: dict[str, Any], log_level: str, log_format: str) -> None:
    from .server import Server, ServerConfig

    configure_logging(log_level, log_format)
    Server(ServerConfig(**options, reuse_port=True)).Run()


def run_workers(count: int, options: dict[str, Any], log_level: str, log_format: str) -> int:
    """Run `count` workers until SIGINT/SIGTERM; returns the exit status for the command."""
    context = mp.get_context("spawn")
    stopping = threading.Event()

    def start(number: int) -> BaseProcess:
        process = context.Process(
            target=_worker, args=(options, log_level, log_format), name=f"ksps-worker-{number}", daemon=False
        )
        process.start()
        log.info("started worker %d (pid %s)", number, process.pid)
        return process

    def request_stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    workers = [start(number) for number in range(count)]
    while not stopping.wait(0.2):  # supervision tick: notice crashed workers
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
    return 0
