"""The HTTP side of a connection: host check, routing, middleware, upgrade hook, origin check (spec §1.5, §12.4)."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from picows import WSListener, WSUpgradeRequest, WSUpgradeResponse, WSUpgradeResponseWithListener

from ..broker.permissions import Identity
from ..logs import SampledLog, ThrottledLog
from .hosts import AllowedHosts
from .pages import Page, PageSource

__all__ = ["Middleware", "Next", "Reject", "UpgradeHook", "UpgradeRequest", "UpgradeRouter"]

log = logging.getLogger("ksps.server")


@dataclass
class UpgradeRequest:
    """What hooks and middleware see of the HTTP upgrade request.

    A middleware that authenticated the request by its own means sets `identity`; the connection then has
    that identity and its permissions (spec §10.1).
    """

    #: The path without the query string.
    path: str
    #: Query parameters; each name maps to its list of values.
    query: Mapping[str, list[str]]
    #: Request headers, case-insensitive.
    headers: Mapping[str, str]
    #: Who the request authenticated as (a token, or a middleware); None = anonymous (spec §10.1).
    identity: Identity | None = None


@dataclass(frozen=True)
class Reject:
    """A middleware's answer that refuses the upgrade with an HTTP status."""

    status: int
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


#: The rest of the chain: returns None to accept, or a Reject.
Next = Callable[[UpgradeRequest], "Reject | None"]
#: A middleware: refuse with a Reject, or pass on by returning `call_next(request)`.
Middleware = Callable[[UpgradeRequest, Next], "Reject | None"]
#: The upgrade hook: False refuses with 403 (the original's `OnUpgradeWS`).
UpgradeHook = Callable[[UpgradeRequest], bool]

#: Refusals kept for the admin page.
RECENT_REFUSALS = 50

#: The admin page: (path, query, headers, client address) -> the answer (server/admin.py).
AdminRoute = Callable[[str, Mapping[str, list[str]], Mapping[str, str], str], Page]

#: URL path -> file of the browser client bundle in the package (built from clients/js, spec §1.5).
_BUNDLES = {"/ksps.js": "ksps.browser.js", "/ksps.min.js": "ksps.browser.min.js"}


def _bundle(name: str) -> bytes | None:
    try:
        return resources.files("ksps").joinpath("static", name).read_bytes()
    except (FileNotFoundError, OSError):
        return None


class UpgradeRouter:
    """Decides, for each HTTP request, between a WebSocket connection and an HTTP answer."""

    def __init__(
        self,
        path: str,
        allowed_origins: tuple[str, ...],
        serve_bundle: bool,
        make_listener: Callable[[UpgradeRequest], WSListener],
    ) -> None:
        self.path = path
        self.allowed_origins = allowed_origins
        self.serve_bundle = serve_bundle
        self.middleware: list[Middleware] = []
        self.hook: UpgradeHook | None = None
        #: Accepted `Host` values; set by the server once it knows its port (None = not checked).
        self.hosts: AllowedHosts | None = None
        #: Plain HTTP answers by path: `probes` before the Host check (health probes come from local agents
        #: with a bare IP as Host), `pages` after it (`/metrics`). The WebSocket path takes precedence.
        self.probes: dict[str, PageSource] = {}
        self.pages: dict[str, PageSource] = {}
        #: Requests refused since the start, by reason (read by `/metrics`).
        self.refusals: dict[str, int] = {}
        #: The latest refusals, (wall-clock time, reason, client address), for the admin page; bounded.
        self.recent_refusals: deque[tuple[float, str, str]] = deque(maxlen=RECENT_REFUSALS)
        #: The admin page's answer for `/admin` and below, when enabled (server/admin.py).
        self.admin: AdminRoute | None = None
        self._log = ThrottledLog()
        #: Refusals a client can cause but an operator wants to see: at info, sampled under floods.
        self._sampled = SampledLog()
        self._make_listener = make_listener
        self._bundle_cache: dict[str, bytes | None] = {}

    def __call__(self, request: WSUpgradeRequest, address: str = "") -> WSListener | WSUpgradeResponseWithListener:
        """Route one request from client `address` (for logs): a connection, or an HTTP answer."""
        target = urlsplit(request.path.decode("latin-1"))
        path = target.path
        if path != self.path and (probe := self.probes.get(path)) is not None:
            return _page(probe())  # health probes: no Host check (docs/observability.md)
        # Then first of all (spec §12.4): a name the server does not know as its own is DNS rebinding, or a mistake.
        if self.hosts is not None and not self.hosts.allows(host := request.headers.get("Host")):
            self.count_refusal("host", address)
            self._log.warning(
                "host",
                "refused a request from %s for Host %r: not an allowed host (allowed: %s); "
                "if it is this server's name, add it to --allowed-hosts",
                address,
                host,
                self.hosts.describe(),
            )
            return _answer(HTTPStatus.FORBIDDEN, "Forbidden: host not allowed")
        if self.serve_bundle and path in _BUNDLES:
            return self._serve_bundle(_BUNDLES[path])
        if path != self.path:
            if (page := self.pages.get(path)) is not None:
                return _page(page())
            if self.admin is not None and (path == "/admin" or path.startswith("/admin/")):
                return _page(self.admin(path, parse_qs(target.query), request.headers, address))
            self.count_refusal("not_found", address)
            self._sampled.info(
                "refused request",
                "refused %s from %s: 404, the WebSocket endpoint is %s (--path)",
                path,
                address,
                self.path,
            )
            return _answer(HTTPStatus.NOT_FOUND, "Not Found")
        upgrade = UpgradeRequest(path, parse_qs(target.query, keep_blank_values=True), request.headers)
        refusal = self.check(upgrade, address)
        if refusal is not None:
            return WSUpgradeResponseWithListener(
                WSUpgradeResponse.create_error_response(refusal.status, refusal.body.encode(), dict(refusal.headers)),
                None,
            )
        return self._make_listener(upgrade)

    def wants_connection(self, request: WSUpgradeRequest) -> bool:
        """Whether `request` is for the WebSocket path (others are plain HTTP pages or 404s)."""
        return urlsplit(request.path.decode("latin-1")).path == self.path

    def count_refusal(self, reason: str, address: str) -> None:
        """Count a refused request by reason, and keep it in `recent_refusals` for the admin page."""
        self.refusals[reason] = self.refusals.get(reason, 0) + 1
        self.recent_refusals.append((time.time(), reason, address))

    def check(self, request: UpgradeRequest, address: str) -> Reject | None:
        """Run the middleware, the upgrade hook and the origin check on an upgrade to the WebSocket path.

        None accepts it; a Reject refuses it (counted and logged here). The picows listener and the ASGI
        mount (ksps.asgi) both call it, so a hook or middleware applies to every way in.
        """
        refusal = self._run_chain(request, address)
        if refusal is not None and refusal is not _HOOK_REFUSAL and refusal is not _ORIGIN_REFUSAL:
            # Hook and origin refusals were counted and logged where they were decided.
            reason = "unauthorized" if refusal.status == HTTPStatus.UNAUTHORIZED else f"http_{refusal.status}"
            self.count_refusal(reason, address)
            self._sampled.info(
                "refused request", "refused upgrade from %s: %d %s", address, refusal.status, refusal.body
            )
        return refusal

    def _run_chain(self, request: UpgradeRequest, address: str) -> Reject | None:
        # The first middleware added runs first; the hook and origin check run after the whole chain.
        def final(req: UpgradeRequest) -> Reject | None:
            if self.hook is not None and not self.hook(req):
                self.count_refusal("hook", address)
                self._sampled.info("refused request", "refused upgrade from %s: 403 by the OnUpgradeWS hook", address)
                return _HOOK_REFUSAL
            if not self._origin_allowed(req):
                self.count_refusal("origin", address)
                self._log.warning(
                    "origin",
                    "refused upgrade from %s: 403, origin %s not allowed: add it to --allowed-origins "
                    "if this site may connect",
                    address,
                    req.headers.get("Origin"),
                )
                return _ORIGIN_REFUSAL
            return None

        call: Next = final
        for middleware in reversed(self.middleware):
            call = _bind(middleware, call)
        return call(request)

    def _origin_allowed(self, request: UpgradeRequest) -> bool:
        origin = request.headers.get("Origin")
        if not origin or "*" in self.allowed_origins:
            return True
        if origin in self.allowed_origins:
            return True
        return urlsplit(origin).netloc.lower() == request.headers.get("Host", "").lower()

    def _serve_bundle(self, name: str) -> WSUpgradeResponseWithListener:
        if name not in self._bundle_cache:
            self._bundle_cache[name] = _bundle(name)
        body = self._bundle_cache[name]
        if body is None:
            return _answer(HTTPStatus.NOT_FOUND, "client bundle not built")
        return WSUpgradeResponseWithListener(
            WSUpgradeResponse.create_ok_response(
                body, {"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache"}
            ),
            None,
        )


#: The refusals of the hook and the origin check (counted and logged where they are decided).
_HOOK_REFUSAL = Reject(403, "Forbidden")
_ORIGIN_REFUSAL = Reject(403, "Forbidden: origin not allowed")


def _page(page: Page) -> WSUpgradeResponseWithListener:
    headers = {"Content-Type": page.content_type, "Cache-Control": "no-cache", **page.headers}
    if page.status < 400:
        response = WSUpgradeResponse.create_ok_response(page.body, headers)
    else:
        response = WSUpgradeResponse.create_error_response(page.status, page.body, headers)
    return WSUpgradeResponseWithListener(response, None)


def _bind(middleware: Middleware, call_next: Next) -> Next:
    return lambda request: middleware(request, call_next)


def _answer(status: HTTPStatus, body: str) -> WSUpgradeResponseWithListener:
    response = WSUpgradeResponse.create_error_response(status, body.encode())
    return WSUpgradeResponseWithListener(response, None)
