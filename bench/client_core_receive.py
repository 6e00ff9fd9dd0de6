"""The Python client core's cost per received delivery: `ClientSession.receive` of `publish` frames.

No sockets: one session, registered and subscribed, is fed N pre-encoded delivery frames in a loop; the figure
is CPU nanoseconds per frame (thread CPU time, so a busy machine inflates it less; min and median of the
repeats). Two kinds of frames: `plain` (a topic without history, the original frame) and `offset` (a topic
with history: the frame carries `offset`, spec §14.2). The driver's own work (callbacks) is not included:
this isolates decoding and the session's bookkeeping.

To compare two versions of the core in the same run, run it with each on the path, alternating, e.g.:

    for i in 1 2 3; do PYTHONPATH=<old>/src python bench/client_core_receive.py; \
                       PYTHONPATH=src python bench/client_core_receive.py; done

Usage: python bench/client_core_receive.py [--frames 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from ksps.client.core import ClientSession, SessionConfig


def registered_session() -> ClientSession:
    """A session that is ready and subscribed to `t`."""
    session = ClientSession(SessionConfig(id="c1", address="localhost:9313"), random=lambda: 0.5)
    session.start(0)
    session.opened(1)
    session.receive(b'{"action":"pong","id":"c1","rid":"1"}', 2)
    session.subscribe("t", handle="h", now=3)
    session.receive(b'{"action":"subscribed","topic":"t","rid":"2","offset":0,"epoch":"e"}', 4)
    return session


def per_frame_ns(frames: list[bytes]) -> float:
    session = registered_session()
    receive = session.receive
    start = time.thread_time_ns()
    for frame in frames:
        receive(frame, 5)
    return (time.thread_time_ns() - start) / len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    def payload(n: int) -> str:
        return f'{{"data":{{"sensor":"t-1","value":21.5,"unit":"C","seq":{n}}},"from":"c9"}}'

    kinds = {
        "plain": [f'{{"action":"publish","topic":"t","data":{payload(n)}}}'.encode() for n in range(options.frames)],
        "offset": [f'{{"action":"publish","topic":"t","offset":{n + 1},"data":{payload(n)}}}'.encode()
                   for n in range(options.frames)],
    }
    result = {}
    for name, frames in kinds.items():
        runs = [per_frame_ns(frames) for _ in range(options.repeat)]
        result[name] = {"min_ns": round(min(runs)), "median_ns": round(statistics.median(runs))}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
