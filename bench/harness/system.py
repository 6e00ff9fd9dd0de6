"""What the harness reads from the operating system: a process's CPU time and memory, the machine's load."""

from __future__ import annotations

import os
import platform
import resource
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def wait_for_port(port: int, timeout: float, alive: Callable[[], bool]) -> bool:
    """Wait until something accepts connections on the loopback `port`; False if it never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_for_http(port: int, path: str, timeout: float) -> bool:
    """Wait until GET `path` on the loopback `port` answers 200 (a readiness probe); False if it never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def cpu_seconds(pid: int) -> float:
    """CPU time of a process so far, all its threads, in seconds.

    Read from each thread's /proc/PID/task/TID/schedstat (nanoseconds) rather than /proc/PID/stat (clock ticks
    of 10 ms, too coarse for short runs); a thread that exits takes its time with it, which the servers here
    do not do while they are measured. Falls back to /proc/PID/stat where schedstat is missing.
    """
    try:
        return (
            sum(
                int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
                for task in os.listdir(f"/proc/{pid}/task")
            )
            / 1e9
        )
    except (FileNotFoundError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def open_files(pid: int) -> int:
    """Descriptors the process has open now."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def open_file_limit(pid: int) -> int:
    """The process's soft limit on open descriptors."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass(frozen=True)
class MachineCpu:
    """Busy and total CPU time of the whole machine (all cores), in seconds, from /proc/stat."""

    busy: float
    total: float

    @classmethod
    def now(cls) -> MachineCpu:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return cls(busy=(sum(values[:8]) - idle) / _TICK, total=sum(values[:8]) / _TICK)

    def busy_since(self, earlier: MachineCpu) -> float:
        return self.busy - earlier.busy


def describe_machine() -> dict[str, object]:
    """The facts a reader needs to compare runs: CPU model, cores, memory, OS, Python and Go versions."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    try:
        go = subprocess.run(["go", "version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        go = "unavailable"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "go": go,
        "open_file_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants that are alive (a server with worker processes counts as a whole)."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:
            continue
        tree.append(current)
        for task in tasks:
            try:
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
            except OSError:
                continue
            todo.extend(int(child) for child in children)
    return tree
