"""How `ksps bench` shows its run: a rich progress bar and table on a terminal, plain lines otherwise.

`rich` is optional (the `cli` extra, ``pip install 'ksps-server[cli]'``): a server deployment does not need it, and
without it a terminal gets the plain output with a hint. Pipes and files always get plain text.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Protocol, TextIO

from ._loadgen import BenchStats

__all__ = ["Display", "make_display", "notes", "summary_figures", "summary_rows"]

#: Share of one core above which the load generator, not the server, probably set the pace.
CPU_BOUND = 0.9


class Display(Protocol):
    """What the bench run tells its display."""

    def connecting(self, stats: BenchStats) -> None:
        """Connections are being set up."""

    def progress(self, stats: BenchStats, elapsed: float) -> None:
        """`elapsed` seconds of publishing have passed."""

    def finish(self, stats: BenchStats) -> None:
        """The run is over: show the summary."""

    def close(self) -> None:
        """Stop drawing (also after a failure)."""


def summary_rows(stats: BenchStats) -> list[tuple[str, str]]:
    """The summary as (figure, value) rows, the same in both displays."""
    seconds = stats.measured_seconds or math.nan
    rows = [
        ("subscribers", f"{stats.plan.subscribers}"),
        ("publishers", f"{stats.plan.publishers}"),
        ("payload", f"{stats.plan.size} bytes"),
        ("publications/s", f"{stats.measured_sent / seconds:,.0f}"),
        ("deliveries/s", f"{stats.measured_received / seconds:,.0f}"),
        ("latency p50", _ms(stats.percentile_ms(0.50))),
        ("latency p90", _ms(stats.percentile_ms(0.90))),
        ("latency p99", _ms(stats.percentile_ms(0.99))),
        ("latency max", _ms(stats.percentile_ms(1.0))),
        ("lost", f"{stats.lost}"),
        ("errors", f"{stats.errors + stats.disconnects}"),
        ("load generator CPU", f"{stats.cpu_seconds / stats.wall_seconds:.0%}" if stats.wall_seconds else "-"),
    ]
    return rows


def summary_figures(stats: BenchStats) -> dict[str, Any]:
    """The summary as numbers (latencies in ms, None without samples), for `--json`."""
    seconds = stats.measured_seconds or math.nan

    def ms(fraction: float) -> float | None:
        value = stats.percentile_ms(fraction)
        return None if math.isnan(value) else round(value, 3)

    return {
        "subscribers": stats.plan.subscribers,
        "publishers": stats.plan.publishers,
        "size": stats.plan.size,
        "rate": stats.plan.rate,
        "duration": stats.plan.duration,
        "publications_per_second": round(stats.measured_sent / seconds, 1),
        "deliveries_per_second": round(stats.measured_received / seconds, 1),
        "latency_ms": {"p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "max": ms(1.0)},
        "lost": stats.lost,
        "errors": stats.errors + stats.disconnects,
        "loadgen_cpu": round(stats.cpu_seconds / stats.wall_seconds, 3) if stats.wall_seconds else None,
        "notes": notes(stats),
    }


def notes(stats: BenchStats) -> list[str]:
    """Lines that qualify the figures: errors, and a load generator that was the bottleneck."""
    lines = []
    if stats.first_error:
        lines.append(f"first error: {stats.first_error}")
    achieved = stats.measured_sent / stats.measured_seconds if stats.measured_seconds else 0.0
    if achieved < 0.95 * stats.plan.rate:
        lines.append(
            f"the publishers sent {achieved:,.0f} of the {stats.plan.rate:,.0f} publications/s asked: the server "
            "or this machine is saturated, and latency includes queueing"
        )
    if stats.wall_seconds and stats.cpu_seconds / stats.wall_seconds > CPU_BOUND:
        lines.append(
            "the load generator used a whole core: the figures are what it could take in, a lower bound of the "
            "server's; run several `ksps bench` at once with fewer --subscribers each, or bench/ (Go)"
        )
    return lines


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f} ms"


def make_display(*, plain: bool, as_json: bool = False, out: TextIO | None = None) -> Display:
    """Rich on a terminal when it is installed and `plain` is off; plain text otherwise; one JSON object
    (and the plain progress lines on stderr) with `as_json`."""
    out = out or sys.stdout
    if as_json:
        return _JsonDisplay(out)
    if not plain and out.isatty():
        try:
            return _RichDisplay(out)
        except ImportError:
            print("(pip install 'ksps-server[cli]' for a progress bar and a table)", file=sys.stderr)
    return _PlainDisplay(out)


class _PlainDisplay:
    """One progress line per second on stderr, the summary as aligned `figure  value` lines on `out`."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._shown = -1

    def connecting(self, stats: BenchStats) -> None:
        plan = stats.plan
        print(
            f"ksps bench: {plan.subscribers} subscribers, {plan.publishers} publisher(s), {plan.rate:g} "
            f"publications/s of {plan.size} bytes on {plan.topic!r} for {plan.duration:g} s after a "
            f"{plan.warmup:g} s warm-up",
            file=sys.stderr,
            flush=True,
        )

    def progress(self, stats: BenchStats, elapsed: float) -> None:
        if int(elapsed) > self._shown:
            self._shown = int(elapsed)
            print(f"  {elapsed:4.0f} s  sent {stats.sent}  delivered {stats.received}", file=sys.stderr, flush=True)

    def finish(self, stats: BenchStats) -> None:
        rows = summary_rows(stats)
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value}", file=self._out)
        for line in notes(stats):
            print(f"note: {line}", file=self._out)
        self._out.flush()

    def close(self) -> None:
        pass


class _JsonDisplay(_PlainDisplay):
    """The plain progress on stderr, then the summary as one JSON object on `out`."""

    def finish(self, stats: BenchStats) -> None:
        print(json.dumps(summary_figures(stats)), file=self._out, flush=True)


class _RichDisplay:
    """A progress bar over the publishing time, then a table."""

    def __init__(self, out: TextIO) -> None:
        from rich.console import Console  # ImportError: no `cli` extra, the caller falls back to plain

        self._console = Console(file=out)
        self._progress: Any = None
        self._task: Any = None

    def connecting(self, stats: BenchStats) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        plan = stats.plan
        self._console.print(
            f"[bold]ksps bench[/]: {plan.subscribers} subscribers, {plan.publishers} publisher(s), "
            f"{plan.rate:g} publications/s of {plan.size} bytes for {plan.duration:g} s (+{plan.warmup:g} s warm-up)"
        )
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"),
            TimeRemainingColumn(), console=self._console, transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("connecting", total=plan.warmup + plan.duration, detail="")

    def progress(self, stats: BenchStats, elapsed: float) -> None:
        detail = f"sent {stats.sent:,}  delivered {stats.received:,}"
        self._progress.update(self._task, completed=elapsed, description="publishing", detail=detail)

    def finish(self, stats: BenchStats) -> None:
        from rich.table import Table

        self.close()
        table = Table(title="ksps bench", show_header=True)
        table.add_column("figure")
        table.add_column("value", justify="right")
        for name, value in summary_rows(stats):
            table.add_row(name, value)
        self._console.print(table)
        for line in notes(stats):
            self._console.print(f"[yellow]note[/]: {line}")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
