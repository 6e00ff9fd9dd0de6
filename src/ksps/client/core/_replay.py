"""Feeding the inputs of a trace vector to a :class:`ClientSession` (spec/traces/README.md).

Used by the Python replay test and by scripts/record_traces.py, which records new vectors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ksps.protocol.history import StreamPosition

from ._config import SessionConfig
from ._outputs import Output
from ._session import ClientSession

__all__ = ["apply_input", "new_session"]


def new_session(options: dict[str, Any], random: Iterable[float]) -> ClientSession:
    """A session with a trace's `options`, drawing jitter from its `random` values in order."""
    values = iter(random)

    def draw() -> float:
        try:
            return next(values)
        except StopIteration:
            raise AssertionError("the trace's `random` list ran out") from None

    return ClientSession(SessionConfig.from_json(options), random=draw)


def apply_input(session: ClientSession, item: dict[str, Any], now: int) -> list[Output]:
    """Apply one trace `input` at time `now` and return the outputs."""
    kind = item["type"]
    handle = item.get("handle")
    if kind == "frame":
        return session.receive(json.dumps(item["frame"]).encode(), now)
    if kind == "lost":
        return session.lost(item.get("code"), item.get("reason"), now)
    simple: dict[str, Callable[[int], list[Output]]] = {
        "start": session.start, "opened": session.opened, "timer": session.timer, "close": session.close,
    }
    if kind in simple:
        return simple[kind](now)
    if kind == "subscribe":
        return session.subscribe(
            item["topic"], handle=handle, now=now, join_leave=bool(item.get("join_leave")),
            since=_position(item.get("since")),
        )
    if kind == "history":
        return session.history(
            item["topic"], handle=handle, now=now, since=_position(item.get("since")), limit=item.get("limit"),
            reverse=bool(item.get("reverse")),
        )
    if kind == "unsubscribe":
        return session.unsubscribe(item["topic"], handle=handle, now=now)
    if kind == "presence":
        return session.presence(item["topic"], handle=handle, now=now)
    if kind == "publish":
        return session.publish(item["topic"], item.get("data"), now)
    if kind == "publish_to_id":
        return session.publish_to_id(item["to"], item.get("data"), now)
    if kind == "publish_to_server":
        return session.publish_to_server(item["address"], item.get("data"), bool(item.get("secure")), now)
    timeout = item.get("timeout", 0)
    if kind == "publish_with_ack":
        return session.publish_with_ack(item["topic"], item.get("data"), timeout=timeout, handle=handle, now=now)
    if kind == "publish_to_id_with_ack":
        return session.publish_to_id_with_ack(item["to"], item.get("data"), timeout=timeout, handle=handle, now=now)
    if kind == "cancel":
        return session.cancel(item["ack"], now)
    if kind == "fetch_status":
        return session.fetch_status(item["ack"], now)
    raise ValueError(f"unknown trace input type {kind!r}")


def _position(since: dict[str, Any] | None) -> StreamPosition | None:
    """A trace's `since` member (`{"offset", "epoch"}`) as a position."""
    return None if since is None else StreamPosition(since["offset"], since["epoch"])
