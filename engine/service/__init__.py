"""`pairsync serve`: scheduled runs, verified webhooks driving targeted syncs, the run-history API, metrics.

`build_app` gives the ASGI application (tests serve it with uvicorn on
loopback); `serve` runs it until SIGTERM or Ctrl-C, finishing runs in flight
within `PAIRSYNC_SHUTDOWN_GRACE` seconds.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from engine.config.loaded import LoadedConfig
from engine.sandbox import bound_socket
from engine.secrets import install_server_log_redaction
from engine.service import logs
from engine.service.api import BadRequest, problem, routes
from engine.service.app import Service
from engine.service.auth import BearerAuth
from engine.service.settings import ServiceError, ServiceSettings

__all__ = ["Service", "ServiceError", "ServiceSettings", "build_app", "serve"]


def build_app(loaded: LoadedConfig, settings: ServiceSettings, queued: bool = False) -> tuple[Starlette, Service]:
    service = Service(loaded, settings, queued=queued)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    async def bad_request(_request: Request, error: Exception) -> Response:
        return problem(str(error), 400)

    from engine.web import dashboard  # the dashboard builds on this package: imported once it is complete

    web_routes, web_auth = dashboard(service, settings.token)
    app = Starlette(
        routes=[*routes(service), *web_routes],
        middleware=[Middleware(BearerAuth, token=settings.token), web_auth],
        exception_handlers={BadRequest: bad_request},
        lifespan=lifespan,
    )
    return app, service


def serve(
    loaded: LoadedConfig,
    host: str,
    port: int,
    log_level: str = "info",
    log_format: str = "text",
    queued: bool = False,
    sock: socket.socket | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT; refuses to listen beyond loopback without PAIRSYNC_API_TOKEN.

    `queued`: runs become jobs for `pairsync worker` processes (`--workers 0`)."""
    settings = ServiceSettings.from_env(host)
    logs.configure(log_level, log_format)
    if queued:
        from engine.queue.app import conninfo

        conninfo(loaded.state_url)  # refuses SQLite state before anything listens
    app, _service = build_app(loaded, settings, queued)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,
        access_log=log_level == "debug",  # one line per HTTP request at debug only
        timeout_graceful_shutdown=max(1, int(min(settings.shutdown_grace, 5))),
    )
    install_server_log_redaction()  # after uvicorn.Config, which sets up the server's log handlers
    sock = sock or bound_socket(host, port)  # bound here, so the line below can say the port (0: the OS picks)
    logging.getLogger("pairsync.service").info(
        "serving %s on http://%s:%s (%d connections%s)", loaded.path, host, sock.getsockname()[1],
        len(loaded.config.connections), ", runs queued for workers" if queued else "",
    )
    uvicorn.Server(config).run(sockets=[sock])
