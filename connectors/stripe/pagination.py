"""Stripe's list pagination (`limit`, `starting_after`, `has_more`) over any SDK list method."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import stripe

ListMethod = Callable[[Any], Awaitable[Any]]
PAGE_SIZE = 100


class RawObject(dict[str, Any]):
    """A listed object as parsed JSON, read like an SDK object where listing needs it (`.created`, `to_dict`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict[str, Any]:
        return self


@dataclass(frozen=True)
class RawPage:
    data: list[RawObject]
    has_more: bool


def raw_lister(client: stripe.StripeClient, path: str) -> ListMethod:
    """A list endpoint through the SDK's raw request: same auth, version, encoding, errors and transport,
    without turning every nested object into a StripeObject and back (most of a page's CPU when
    subscriptions are expanded on it)."""

    async def method(params: Any) -> RawPage:
        response = await client.raw_request_async("get", path, **dict(params))
        body = response.data
        return RawPage([RawObject(obj) for obj in body.get("data", [])], bool(body.get("has_more")))

    return method


async def pages(method: ListMethod, params: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
    """Each page of a list as plain dicts, following `starting_after` until `has_more` is false."""
    after: str | None = None
    while True:
        query = {**params, "starting_after": after} if after else dict(params)
        result = await method(query)
        data = [obj.to_dict() for obj in result.data]
        yield data
        if not result.has_more or not data:
            return
        after = str(data[-1]["id"])


async def list_all(method: ListMethod, params: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    async for page in pages(method, params):
        found.extend(page)
    return found
