"""Abuse cases of issue 11 (rows 1-11) against a `ksps serve` subprocess with its defaults: what each costs.

    python bench/abuse.py                  every case, about 5 s of abuse each (about 3 minutes in all)
    python bench/abuse.py --quick          every case, shorter and with smaller counts (about 70 s)
    python bench/abuse.py --cases 1,4,7    only these rows

Per case, on a fresh server: its RSS before, at the peak and after the abuser left; its open fds; a
bystander's ping round trip (p50/p99) during the abuse; how the abuser ended and when. Prints a table and
writes bench/results/abuse.json. Loopback only; every case is bounded in count and time and the run stops by
itself. Not a test: docs/reliability.md quotes its figures. Row 9 needs TLS files (made with trustme), row 10
a `redis-server` on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import abuse_broker as broker
from harness import abuse_cases as transport
from harness.abuse_broker import RedisProcess, cluster_options
from harness.abuse_cases import Env, Outcome
from harness.abuse_probe import Bystander, Sampler, ServerProcess, background

BENCH = Path(__file__).resolve().parent

Case = Callable[[Env], Awaitable[Outcome]]
#: Row of issue 11 -> (name, case).
CASES: dict[int, tuple[str, Case]] = {
    1: ("ping-flood", transport.ping_flood),
    2: ("fragment-flood", transport.fragment_flood),
    3: ("deep-nesting", transport.deep_nesting),
    4: ("pending-acks", broker.pending_acks),
    5: ("slow-subscribers", broker.slow_subscribers),
    6: ("many-topics", broker.many_topics),
    7: ("frame-flood", transport.frame_flood),
    8: ("idle-connections", transport.idle_connections),
    9: ("tls-silent", transport.tls_silent),
    10: ("cluster-split-id", broker.cluster_split_id),
    11: ("framing", transport.framing),
}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="", help="comma-separated rows of issue 11 (default: all, 1-11)")
    parser.add_argument("--quick", action="store_true", help="shorter abuse and smaller counts")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "abuse.json", help="JSON results file")
    return parser.parse_args()


def _tls_options(directory: Path) -> list[str]:
    import trustme  # a test dependency of ksps (pyproject.toml)

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    cert, key = directory / "cert.pem", directory / "key.pem"
    certificate.private_key_pem.write_to_path(str(key))
    certificate.cert_chain_pems[0].write_to_path(str(cert))
    return ["--tls-cert", str(cert), "--tls-key", str(key)]


async def run_case(row: int, quick: bool, scratch: Path) -> dict[str, Any]:
    name, case = CASES[row]
    redis = None
    options: list[str] = []
    if row == 9:
        options = _tls_options(scratch)
    if row == 10:
        redis = RedisProcess()
        redis.start()
        options = cluster_options(redis)
    server = ServerProcess(options)
    try:
        server.wait_ready()
        env = Env(server, seconds=2.0 if quick else 5.0, scale=0.2 if quick else 1.0, redis=redis)
        sampler, bystander = Sampler(server), Bystander()
        result: dict[str, Any] = {"row": row, "case": name}
        async with background(sampler.run(), bystander.run(server.port) if row != 9 else asyncio.sleep(0)):
            await asyncio.sleep(0.5)  # let the bystander register and the sampler take a baseline
            result["rss_before_mb"], result["fds_before"] = round(server.rss_mb(), 1), server.fds()
            warnings_before = server.count(r"level=(warning|error)")
            bystander.rtts.clear()
            started = time.monotonic()
            outcome = await asyncio.wait_for(case(env), 20 * env.seconds + 30)
            result["case_seconds"] = round(time.monotonic() - started, 1)
            p50, p99 = bystander.percentiles()
            result["ping_p50_ms"] = round(p50, 1) if p50 is not None else None
            result["ping_p99_ms"] = round(p99, 1) if p99 is not None else None
            result["ping_timeouts"] = bystander.timeouts
            await asyncio.sleep(1.0)  # the "after" figures: one second after the abuser left
        result["rss_peak_mb"], result["rss_after_mb"] = round(sampler.peak_rss, 1), round(server.rss_mb(), 1)
        result["fds_peak"], result["fds_after"] = sampler.peak_fds, server.fds()
        result["abuser"], result["closed_after_s"] = outcome.abuser, _round(outcome.closed_after_s)
        result["log_warnings"] = server.count(r"level=(warning|error)") - warnings_before
        result["log_sample"] = [line[:200] for line in server.matching(r"level=(warning|error)")[warnings_before:][:3]]
        result["server_alive"] = server.process.poll() is None
        result["extra"] = outcome.extra
        return result
    finally:
        server.stop()
        if redis is not None:
            redis.kill()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def print_table(results: list[dict[str, Any]]) -> None:
    head = f"{'#':>2} {'case':<17} {'RSS MB before/peak/after':>25} {'fds b/p/a':>15} {'ping p50/p99 ms':>16}  abuser"
    print(head)
    print("-" * len(head))
    for r in results:
        if "error" in r:
            print(f"{r['row']:>2} {r['case']:<17} failed: {r['error']}")
            continue
        rss = f"{r['rss_before_mb']}/{r['rss_peak_mb']}/{r['rss_after_mb']}"
        fds = f"{r['fds_before']}/{r['fds_peak']}/{r['fds_after']}"
        ping = f"{r['ping_p50_ms']}/{r['ping_p99_ms']}" + (
            f" ({r['ping_timeouts']} lost)" if r["ping_timeouts"] else ""
        )
        when = f" after {r['closed_after_s']} s" if r["closed_after_s"] is not None else ""
        print(f"{r['row']:>2} {r['case']:<17} {rss:>25} {fds:>15} {ping:>16}  {r['abuser'][:90]}{when}")


async def main() -> int:
    args = _arguments()
    rows = [int(row) for row in args.cases.split(",")] if args.cases else sorted(CASES)
    unknown = set(rows) - set(CASES)
    if unknown:
        print(f"unknown cases: {sorted(unknown)} (rows 1-11 of issue 11)", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for row in rows:
            print(f"row {row}: {CASES[row][0]} ...", file=sys.stderr, flush=True)
            try:
                results.append(await run_case(row, args.quick, Path(scratch)))
            except Exception as exc:  # one broken case must not lose the figures of the others
                results.append({"row": row, "case": CASES[row][0], "error": f"{type(exc).__name__}: {exc}"})
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "results": results,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
