"""A company without some APIs: `sandbox.missing_apis.add("cdc")` makes `/v3/company/{realm}/cdc` answer 404.

Used to test that a missing optional capability degrades (full listings every run) instead of failing.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class MissingApis:
    """ASGI: 404 for the last path segments named in `missing`, before the company's routes."""

    def __init__(self, app: Any, missing: set[str]) -> None:
        self.app = app
        self.missing = missing

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self._missing(scope["path"]):
            fault = {"Error": [{"Message": "Resource not found", "Detail": f"{scope['path']} is not available",
                                "code": "610"}], "type": "ValidationFault"}
            await JSONResponse({"Fault": fault}, status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _missing(self, path: str) -> bool:
        return path.startswith("/v3/company/") and path.rstrip("/").rsplit("/", 1)[-1] in self.missing
