"""Stripe's list pagination (`limit`, `starting_after`, `has_more`) over any SDK list method."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

ListMethod = Callable[[Any], Awaitable[Any]]
PAGE_SIZE = 100


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
