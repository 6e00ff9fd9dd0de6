"""The admin page: `/admin`, a live view of one node, and its JSON endpoints (docs/observability.md, spec §1.5).

Off unless `admin_token` is set (then `/admin` and below are 404 like any unknown path). The page itself is a
static file with no data in it: it asks for the token, keeps it in `sessionStorage` and sends it as
`Authorization: Bearer` to the endpoints, which answer 401 without it. A header, not a cookie, so another site
cannot make a browser call them (no CSRF), and the server sends no CORS headers.

Everything here runs when an admin asks (about once a second per open page), never per message: the rates
are differences of the broker's counters between two calls, kept in a small ring.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections import deque
from collections.abc import Mapping
from heapq import nlargest
from http import HTTPStatus
from importlib import resources
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import msgspec

from ..logs import ThrottledLog
from ..protocol import decode_json_or_text
from .pages import Page, text

if TYPE_CHECKING:
    from .core import ServerCore

__all__ = ["AdminPages"]

log = logging.getLogger("ksps.server")

#: Rows of the connection and topic tables, refusals shown; the JSON stays small with any number of clients.
MAX_ROWS = 50
#: Rate samples kept (one per call at most every `_MIN_SAMPLE` seconds): a minute at one poll a second.
SAMPLES = 61
_MIN_SAMPLE = 0.5
#: Longest topic and data of a test publication, in characters.
MAX_PUBLISH_DATA = 4096

_JSON = "application/json"
#: The page loads nothing from elsewhere; its one inline script and style run by their hashes only (no
#: 'unsafe-inline'), so nothing a table cell could contain would ever run.
_CSP = (
    "default-src 'none'; script-src {script}; style-src {style}; connect-src 'self'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _html() -> tuple[bytes, str]:
    """The page and its Content-Security-Policy, with the hashes of its inline script and style."""
    page = resources.files("ksps").joinpath("static", "admin.html").read_bytes()
    return page, _CSP.format(script=_hash(page, b"script"), style=_hash(page, b"style"))


def _hash(page: bytes, tag: bytes) -> str:
    start = page.index(b">", page.index(b"<" + tag)) + 1
    body = page[start : page.index(b"</" + tag + b">", start)]
    return "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"


class AdminPages:
    """Answers `/admin`, `/admin/api/state` and `/admin/api/publish` for the upgrade router."""

    def __init__(self, core: ServerCore, token: str) -> None:
        self._core = core
        self._expected = f"Bearer {token}".encode()
        self._started = time.monotonic()
        #: (monotonic time, publications, deliveries) at the latest calls.
        self._samples: deque[tuple[float, int, int]] = deque(maxlen=SAMPLES)
        self._log = ThrottledLog()
        self._page: tuple[bytes, str] | None = None

    def __call__(self, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str], address: str) -> Page:
        """The answer for `path` (under `/admin`) from client `address`."""
        if path in ("/admin", "/admin/"):
            if self._page is None:
                self._page = _html()
            page, policy = self._page
            return Page(200, page, "text/html; charset=utf-8", {"Content-Security-Policy": policy})
        if path not in ("/admin/api/state", "/admin/api/publish"):
            return text(HTTPStatus.NOT_FOUND, "Not Found")
        if not self._authorized(headers.get("Authorization", "")):
            self._core.router.count_refusal("admin", address)
            self._log.warning("admin", "refused an admin request from %s: 401, missing or wrong admin token", address)
            return Page(
                HTTPStatus.UNAUTHORIZED, b"Unauthorized: admin token required", headers={"WWW-Authenticate": "Bearer"}
            )
        if path == "/admin/api/publish":
            return self._publish(query)
        return _json(HTTPStatus.OK, self.state())

    def _authorized(self, header: str) -> bool:
        # Constant time: the comparison must not tell how much of a guess was right.
        return hmac.compare_digest(header.encode("utf-8", "surrogatepass"), self._expected)

    def _publish(self, query: Mapping[str, list[str]]) -> Page:
        # A GET with the topic and data in the query: picows reads GET requests without a body only.
        topic = query.get("topic", [""])[0]
        data = query.get("data", [""])[0]
        if not topic or len(topic.encode()) > self._core.config.max_topic_bytes or len(data) > MAX_PUBLISH_DATA:
            return _json(HTTPStatus.BAD_REQUEST, {"error": "a topic (up to max_topic_bytes) and data are needed"})
        value = decode_json_or_text(data)
        self._core.broker.publish(topic, msgspec.Raw(msgspec.json.encode(value)), self._core.id)
        return _json(HTTPStatus.OK, {"published": topic})

    def state(self) -> dict[str, Any]:
        """This node's state, bounded: counts, the latest connections, the busiest topics, rates, refusals."""
        core = self._core
        now = core.loop.time()
        stats = core.broker.stats
        mono = time.monotonic()
        if not self._samples or mono - self._samples[-1][0] >= _MIN_SAMPLE:
            self._samples.append((mono, stats.published, stats.delivered + stats.delivered_direct))
        connections = nlargest(MAX_ROWS, core.connections, key=lambda c: c.opened_at)
        topics = core.broker.topics
        busiest = nlargest(MAX_ROWS, ((sum(topics.count(t)), t) for t in topics.topics()))
        topic_count, ws, internal = topics.totals()
        budget = core.output_budget
        return {
            "node": core.id,
            "uptime": round(mono - self._started, 1),
            "url": core.url,
            "cluster": self._cluster(),
            "connections": {
                "count": len(core.connections),
                "registered": core.broker.count_clients(),
                "latest": [
                    {
                        "address": c.remote,
                        "client_id": c.client_id,
                        "identity": c.identity.id if c.identity is not None else None,
                        "age": round(now - c.opened_at, 1),
                    }
                    for c in connections
                ],
            },
            "topics": {
                "count": topic_count,
                "subscriptions": ws + internal,
                "top": [{"topic": t, "subscribers": n} for n, t in busiest],
            },
            "totals": {"published": stats.published, "delivered": stats.delivered + stats.delivered_direct},
            "rates": _rates(self._samples),
            "closes": {
                "slow_consumer": core.broker.slow_consumers_closed + budget.dropped,
                "limits": dict(core.limit_closes),
            },
            "send_queue_bytes": budget.total,
            "refusals": {
                "counts": dict(core.refusals),
                "recent": [
                    {"time": round(at, 3), "reason": reason, "address": address}
                    for at, reason, address in reversed(core.router.recent_refusals)
                ],
            },
        }

    def _cluster(self) -> list[dict[str, Any]] | None:
        cluster = self._core.cluster
        if cluster is None:
            return None
        now = time.monotonic()
        nodes = sorted(cluster.view.nodes.items())[:MAX_ROWS]
        return [
            {"node": name, "clients": node.clients, "topics": len(node.topics), "seen": round(now - node.seen_at, 1)}
            for name, node in nodes
        ]


def _rates(samples: deque[tuple[float, int, int]]) -> list[dict[str, float]]:
    """Publications and deliveries per second between consecutive samples, oldest first."""
    rates = []
    for (t0, p0, d0), (t1, p1, d1) in pairwise(samples):
        span = max(t1 - t0, 1e-6)
        rates.append({"published": round((p1 - p0) / span, 1), "delivered": round((d1 - d0) / span, 1)})
    return rates


def _json(status: int, body: object) -> Page:
    return Page(status, msgspec.json.encode(body), _JSON)
