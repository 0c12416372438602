"""Webhook delivery with real `Stripe-Signature` headers, from a background thread."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
from typing import Any

import httpx


def signature_header(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """`t=<unix time>,v1=<HMAC-SHA256 of "t.payload" with the endpoint secret>`, as Stripe signs."""
    moment = int(time.time()) if timestamp is None else timestamp
    signed = f"{moment}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


class WebhookDelivery:
    """Posts each event to one URL in order; failures are counted, not retried (a test endpoint)."""

    def __init__(self, url: str, secret: str, timeout: float = 5.0) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.delivered = 0
        self.failed = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="stripe-sandbox-webhooks", daemon=True)
        self._thread.start()

    def __call__(self, event: dict[str, Any]) -> None:
        self._queue.put(event)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while (event := self._queue.get()) is not None:
                payload = json.dumps(event).encode()
                signature = signature_header(payload, self.secret)
                headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
                try:
                    response = client.post(self.url, content=payload, headers=headers)
                    ok = response.status_code < 300
                except httpx.HTTPError:
                    ok = False
                self.delivered += ok
                self.failed += not ok
                self._queue.task_done()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every queued event was posted (tests)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=self.timeout)
