"""`ksps bench`: a quick fan-out and latency run against any server, to size a deployment.

Opens `--subscribers` connections on one topic and publishes to it at `--rate` for `--duration` seconds
(after a warm-up) from other connections, then prints deliveries/s, latency percentiles, lost deliveries
and errors. The load generator is `_loadgen` (pure Python, on picows); `_display` draws the output.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import time
from typing import Any

from . import _signals
from ._display import Display, make_display
from ._loadgen import PER_PUBLISHER_RATE, BenchPlan, BenchStats, run_bench
from ._target import EXIT_FAILED, EXIT_USAGE, CommandFailed, Target, add_target_options, fail

__all__ = ["add_bench"]

#: Seconds between two progress updates.
_TICK = 0.25


def add_bench(subparsers: Any) -> None:
    """Add `ksps bench`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="measure fan-out and latency against a server",
        description="Open SUBSCRIBERS connections on one topic, publish to it at RATE publications/s from other "
        "connections for DURATION seconds, and print deliveries/s, latency p50/p90/p99/max, lost deliveries "
        "and errors. Publishers send at most "
        f"{PER_PUBLISHER_RATE:,.0f} frames/s each, under the server's default limit of 20,000 per connection "
        "(ksps serve --max-frames-per-second); a higher --rate opens more publishers. A server holds at most 256 "
        "connections per client address by default (ksps serve --max-connections-per-address). It must accept "
        "anonymous clients (a token binds one ID, spec §10). Everything runs in this one Python process: when "
        "it uses a whole core the summary says so, and the figures are a lower bound.",
    )
    parser.add_argument("--subscribers", type=int, default=100, help="subscribing connections (default: 100)")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds of publishing (default: 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of publishing not measured (default: 1)")
    parser.add_argument("--size", type=int, default=100, help="bytes of each publication's data (default: 100)")
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="publications per second, all publishers (default: 1000)"
    )
    parser.add_argument("--topic", help="topic of the run (default: ksps-bench-<random>)")
    parser.add_argument("--plain", action="store_true", help="plain text even on a terminal (default: rich on a TTY)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object (default: a table)")
    add_target_options(parser, identity=False)
    parser.set_defaults(run=_run_bench, id=None, token=None)


def _plan(args: argparse.Namespace) -> BenchPlan:
    if not all(math.isfinite(value) for value in (args.duration, args.warmup, args.rate)):
        raise CommandFailed("--duration, --warmup and --rate must be finite numbers", code=EXIT_USAGE)
    if args.subscribers < 1:
        raise CommandFailed("--subscribers must be >= 1", code=EXIT_USAGE)
    if args.duration <= 0 or args.warmup < 0:
        raise CommandFailed("--duration must be > 0 and --warmup >= 0", code=EXIT_USAGE)
    if args.size < 0:
        raise CommandFailed("--size must be >= 0", code=EXIT_USAGE)
    if args.rate <= 0:
        raise CommandFailed("--rate must be > 0", code=EXIT_USAGE)
    topic = args.topic or f"ksps-bench-{os.urandom(4).hex()}"
    return BenchPlan(args.subscribers, args.duration, args.size, args.rate, args.warmup, topic)


def _run_bench(args: argparse.Namespace) -> int:
    try:
        plan, target = _plan(args), Target.from_args(args)
    except CommandFailed as exc:
        return fail("bench", exc)
    return _signals.run(_bench(target, plan, make_display(plain=args.plain, as_json=args.json)))


async def _bench(target: Target, plan: BenchPlan, display: Display) -> int:
    stats = BenchStats(plan)
    run = asyncio.ensure_future(_run(target, stats, display))

    def stop() -> None:
        run.cancel()

    _signals.on_stop_signals(stop)
    try:
        await run
    except asyncio.CancelledError:
        display.close()
        return 130
    except CommandFailed as exc:
        display.close()
        return fail("bench", exc)
    display.finish(stats)
    return EXIT_FAILED if stats.errors or stats.disconnects or stats.lost else 0


async def _run(target: Target, stats: BenchStats, display: Display) -> None:
    display.connecting(stats)
    ticker: asyncio.Future[None] | None = None

    def on_ready() -> None:
        nonlocal ticker
        ticker = asyncio.ensure_future(_tick(stats, display))

    try:
        await run_bench(target, stats.plan, stats, on_ready=on_ready)
    finally:
        if ticker is not None:
            ticker.cancel()


async def _tick(stats: BenchStats, display: Display) -> None:
    """Redraw the progress every `_TICK` seconds (a display refresh, not a synchronisation)."""
    while True:
        if stats.started:
            display.progress(stats, min(time.monotonic() - stats.started, stats.plan.warmup + stats.plan.duration))
        await asyncio.sleep(_TICK)
