"""The loopback redirect listener of RFC 8252 section 7.3: 127.0.0.1, a free port, one redirect.

A few lines of asyncio rather than a web framework: it answers exactly one GET on
its path, shows a short page in the browser, and hands the full redirect URL back.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

PATH = "/callback"
PAGE = (
    "<!doctype html><title>pairsync</title><p>pairsync received the authorization. "
    "You can close this window and return to the terminal.</p>"
)


class LoopbackListener:
    """Listens on 127.0.0.1 until the browser (or any HTTP client) follows the redirect."""

    def __init__(self, port: int = 0) -> None:
        self._server: asyncio.Server | None = None
        self._received: asyncio.Future[str] | None = None
        self.port = port  # 0: any free port (Google); a fixed one for apps that match the redirect exactly

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def start(self) -> LoopbackListener:
        self._received = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def wait(self, timeout: float) -> str:
        """The redirect URL the listener received; TimeoutError when none came in time."""
        assert self._received is not None
        return await asyncio.wait_for(asyncio.shield(self._received), timeout)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode("latin-1").split()
            while (await reader.readline()).strip():  # headers: not needed
                pass
            target = request_line[1] if len(request_line) >= 2 else ""
            ours = len(request_line) >= 2 and request_line[0] == "GET" and urlsplit(target).path == PATH
            status, body = ("200 OK", PAGE) if ours else ("404 Not Found", "not found")
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "
                f"{len(body.encode())}\r\nConnection: close\r\n\r\n{body}".encode()
            )
            await writer.drain()
            if ours and self._received is not None and not self._received.done():
                self._received.set_result(f"http://127.0.0.1:{self.port}{target}")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
