"""Webhook and Slack messages: a JSON POST, retried with exponential backoff (tenacity).

A generic webhook's body is the event as JSON; with a `secret`, `X-Pairsync-Signature`
carries `sha256=` and the HMAC-SHA256 of the exact body bytes, so the receiver can
check it came from this pairsync. Slack's incoming webhooks take `{"text": ...}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from engine.notify.events import Event
from engine.notify.models import SlackTarget, WebhookTarget

SIGNATURE_HEADER = "X-Pairsync-Signature"
USER_AGENT = "pairsync-notify"


class Rejected(Exception):
    """The receiver answered with a status a retry will not change (4xx other than 408 and 429)."""


class Unavailable(Exception):
    """The receiver did not take the message this time (5xx, 408, 429, network)."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_request(target: WebhookTarget, event: Event) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(event.to_json(), sort_keys=True, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if target.secret is not None:
        headers[SIGNATURE_HEADER] = signature(target.secret.get_secret_value(), body)
    return target.url, body, headers


def slack_request(target: SlackTarget, event: Event) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps({"text": f":warning: pairsync {event.text}" if event.kind != "recovered"
                       else f":white_check_mark: pairsync {event.text}"}).encode()
    return target.url.get_secret_value(), body, {"Content-Type": "application/json", "User-Agent": USER_AGENT}


async def post(url: str, body: bytes, headers: dict[str, str], attempts: int, first_wait: float = 1.0) -> None:
    async with httpx.AsyncClient(timeout=10.0) as client:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=first_wait, max=60),
            retry=retry_if_exception(lambda error: isinstance(error, Unavailable)),
            reraise=True,
        ):
            with attempt:
                await _once(client, url, body, headers)


async def _once(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        raise Unavailable(type(error).__name__) from None
    if response.status_code < 300:
        return
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise Unavailable(f"HTTP {response.status_code}")
    raise Rejected(f"HTTP {response.status_code}")
