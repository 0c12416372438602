"""`pairsync serve`: scheduled runs, verified webhooks driving targeted syncs, the run-history API, metrics.

`build_app` gives the ASGI application (tests serve it with uvicorn on
loopback); `serve` runs it until SIGTERM or Ctrl-C, finishing runs in flight
within `PAIRSYNC_SHUTDOWN_GRACE` seconds.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from engine.config.loaded import LoadedConfig
from engine.secrets import install_log_redaction
from engine.service.api import BadRequest, problem, routes
from engine.service.app import Service
from engine.service.auth import BearerAuth
from engine.service.settings import ServiceError, ServiceSettings

__all__ = ["Service", "ServiceError", "ServiceSettings", "build_app", "serve"]


def build_app(loaded: LoadedConfig, settings: ServiceSettings) -> tuple[Starlette, Service]:
    service = Service(loaded, settings)

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


def serve(loaded: LoadedConfig, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT; refuses to listen beyond loopback without PAIRSYNC_API_TOKEN."""
    settings = ServiceSettings.from_env(host)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    app, _service = build_app(loaded, settings)
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="on", log_level="info",
        timeout_graceful_shutdown=max(1, int(min(settings.shutdown_grace, 5))),
    )
    uvicorn.Server(config).run()
