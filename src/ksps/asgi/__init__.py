"""The ksps bus as an ASGI application: at a path of a Starlette, FastAPI or any ASGI app (docs/asgi.md).

    server = ksps.Server()
    app = ksps.asgi.ASGIApp(server)             # uvicorn module:app, hypercorn module:app

    # FastAPI / Starlette: a route of the app you already run
    api.router.routes.append(ksps.asgi.websocket_route(server))

The clients connected here share one broker with `server`'s in-process verbs and with its own picows
listener when it runs in the same process. Modules: `_app` (routing, upgrade checks, lifespan),
`_connection` (one connection: limits, send queue, the broker's Peer interface).
"""

from ._app import ASGIApp, websocket_route

__all__ = ["ASGIApp", "websocket_route"]
