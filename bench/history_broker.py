"""Cost of history on the broker's publish path, in-process (no sockets): 1 publisher -> N subscribers.

Measures `FrameHandler.handle` of a `publish` frame with N subscribed fake connections that only count the
frames they get, for history off, on for other topics only, and on for the topic (memory engine). The best of
--repeat runs of the process's CPU time is reported, which is robust on a shared, noisy machine. To compare
two versions, run it with `PYTHONPATH=<their src>`, alternating.

Usage: python bench/history_broker.py [--subscribers 100] [--messages 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from ksps.broker import Broker, FederationConfig, FrameHandler
from ksps.broker.history import HistoryPolicy, MemoryHistory, TopicHistory, TopicPolicies
from ksps.broker.permissions import Access
from ksps.protocol import Frame


class CountingPeer:
    """A connection that only counts frames."""

    def __init__(self, client_id: str) -> None:
        self.client_id: str | None = client_id
        self.identity = None
        self.access = Access.everything()
        self.client_address = "127.0.0.1"
        self.frames = 0

    def send(self, frame: Frame) -> None:
        self.frames += 1

    def close(self, code: int, reason: str) -> None:
        pass

    def authenticate(self, identity: Any, access: Access) -> None:
        self.identity, self.access = identity, access


class _Scheduler:
    def call_later(self, delay: float, callback: Any, /) -> Any:
        return None

    def time(self) -> float:
        return time.monotonic()


class _Runner:
    def run(self, lane: object, call: Any, done: Any) -> None:
        call()


def run(mode: str, subscribers: int, messages: int) -> float:
    broker = Broker("server", _Scheduler(), _Runner())
    if mode != "off":
        rules = [("other.*", HistoryPolicy(1000, 300.0))] if mode == "other-topics" else []
        default = HistoryPolicy(1000, 300.0) if mode == "this-topic" else None
        broker.history = TopicHistory(MemoryHistory(time.monotonic), TopicPolicies(rules, default))
    federation = FederationConfig(address="127.0.0.1:9313", path="/ws/bus")
    handler = FrameHandler(broker, federation, relay=None)  # type: ignore[arg-type]
    for n in range(subscribers):
        peer = CountingPeer(f"s{n}")
        broker.register(peer, f"s{n}")  # type: ignore[arg-type]
        broker.topics.add_peer("sensors", peer)  # type: ignore[arg-type]
    publisher = CountingPeer("pub")
    broker.register(publisher, "pub")  # type: ignore[arg-type]
    frame = b'{"action":"publish","topic":"sensors","data":{"sensor":"t-1","value":21.5,"pad":"xxxxxxxxxxxxxxxx"}}'
    # CPU time of this process, not wall time: on a busy machine the wall clock also counts the time the
    # process waited for a core.
    start = time.process_time()
    for _ in range(messages):
        handler.handle(publisher, frame)  # type: ignore[arg-type]
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    best: dict[str, float] = {}
    for _ in range(args.repeat):  # interleaved, so drift hits every mode alike
        for mode in ("off", "other-topics", "this-topic"):
            elapsed = run(mode, args.subscribers, args.messages)
            best[mode] = min(best.get(mode, elapsed), elapsed)
    base = best["off"]
    for mode, elapsed in best.items():
        per = elapsed / args.messages * 1e6
        print(f"{mode:13s} {per:7.2f} µs per publication to {args.subscribers}  ({elapsed / base - 1:+.1%} vs off)")


if __name__ == "__main__":
    main()
