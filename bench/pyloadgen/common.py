"""What the Python load generator's subcommands share: their two-phase shape, the payload, small helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: The payload of the publish scenarios (client_bench's): a small JSON object.
PAYLOAD: dict[str, Any] = {"sensor": "t-1", "value": 21.5, "unit": "C", "seq": 0}


async def _nothing() -> None:
    return None


@dataclass
class Setup:
    """What a subcommand returns once its connections are set up."""

    ready: dict[str, Any]
    measure: Callable[[], Awaitable[dict[str, Any]]]
    close: Callable[[], Awaitable[None]] = field(default=_nothing)


def address_of(url: str) -> str:
    """`host:port` of a ws:// URL, as the ksps client's `address` option wants it."""
    return urlsplit(url).netloc


def percentile(sorted_samples: list[float], q: float) -> float:
    return sorted_samples[int(q * (len(sorted_samples) - 1))]
