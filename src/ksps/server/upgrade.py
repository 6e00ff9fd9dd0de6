"""The HTTP side of a connection: host check, routing, middleware, upgrade hook, origin check (spec §1.5, §12.4)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from picows import WSListener, WSUpgradeRequest, WSUpgradeResponse, WSUpgradeResponseWithListener

from ..broker.permissions import Identity
from ..logs import ThrottledLog
from .hosts import AllowedHosts

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
        self._log = ThrottledLog()
        self._make_listener = make_listener
        self._bundle_cache: dict[str, bytes | None] = {}

    def __call__(self, request: WSUpgradeRequest) -> WSListener | WSUpgradeResponseWithListener:
        target = urlsplit(request.path.decode("latin-1"))
        # First of all (spec §12.4): a name the server does not know as its own is DNS rebinding, or a mistake.
        if self.hosts is not None and not self.hosts.allows(host := request.headers.get("Host")):
            self._log.warning(
                "host",
                "refused a request for Host %r: not an allowed host (allowed: %s); "
                "if it is this server's name, add it to --allowed-hosts",
                host,
                self.hosts.describe(),
            )
            return _answer(HTTPStatus.FORBIDDEN, "Forbidden: host not allowed")
        if self.serve_bundle and target.path in _BUNDLES:
            return self._serve_bundle(_BUNDLES[target.path])
        if target.path != self.path:
            return _answer(HTTPStatus.NOT_FOUND, "Not Found")
        upgrade = UpgradeRequest(target.path, parse_qs(target.query, keep_blank_values=True), request.headers)
        refusal = self._run_chain(upgrade)
        if refusal is not None:
            log.info("refused upgrade of %s: %d %s", target.path, refusal.status, refusal.body)
            return WSUpgradeResponseWithListener(
                WSUpgradeResponse.create_error_response(refusal.status, refusal.body.encode(), dict(refusal.headers)),
                None,
            )
        return self._make_listener(upgrade)

    def _run_chain(self, request: UpgradeRequest) -> Reject | None:
        # The first middleware added runs first; the hook and origin check run after the whole chain.
        def final(req: UpgradeRequest) -> Reject | None:
            if self.hook is not None and not self.hook(req):
                return Reject(403, "Forbidden")
            if not self._origin_allowed(req):
                self._log.warning(
                    "origin",
                    "refused upgrade from Origin %r: not the server's own and not allowed; "
                    "if this site may connect, add it to --allowed-origins",
                    req.headers.get("Origin"),
                )
                return Reject(403, "Forbidden: origin not allowed")
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


def _bind(middleware: Middleware, call_next: Next) -> Next:
    return lambda request: middleware(request, call_next)


def _answer(status: HTTPStatus, body: str) -> WSUpgradeResponseWithListener:
    response = WSUpgradeResponse.create_error_response(status, body.encode())
    return WSUpgradeResponseWithListener(response, None)
