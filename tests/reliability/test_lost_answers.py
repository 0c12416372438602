"""Answers lost on the way back: a connection reset mid-answer and a 200 whose JSON is cut short.

Both faults let the sandbox act first, so they are the case that matters for
writes: the change landed, the client cannot know. What the client sees is
pinned here on the wire; then how the engine's transport reacts (a read is
sent again, a create without an idempotency key is not) and how each
connector reports a garbled success (an error, never an empty page).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.google_contacts.api import UNREADABLE, GoogleApiError, PeopleApi
from connectors.google_contacts.sandbox import GoogleContactsSandbox
from connectors.google_contacts.settings import GoogleContactsSettings
from connectors.quickbooks.api import QuickBooksApi
from connectors.quickbooks.errors import QuickBooksError
from connectors.quickbooks.sandbox import QuickBooksSandbox
from connectors.quickbooks.settings import QuickBooksSettings
from connectors.stripe.sandbox import StripeSandbox
from engine.connector import ConnectorContext, RateLimit
from engine.http import ApiTransport
from engine.sandbox import Knobs, SandboxServer

FAST_RETRIES = {"retry_attempts": 4}


@pytest.fixture
def stripe_server() -> Iterator[SandboxServer]:
    with SandboxServer(StripeSandbox()) as server:
        yield server


def stripe_headers(server: SandboxServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.settings()['api_key']}"}


def create_customer(server: SandboxServer, email: str) -> httpx.Response:
    """A raw create, no idempotency key: the body read in full, as any client does."""
    return httpx.post(f"{server.base_url}/v1/customers", data={"email": email}, headers=stripe_headers(server))


def stripe_emails(server: SandboxServer) -> list[str]:
    return [str(r.get("email")) for r in server.sandbox.records()]


def test_a_reset_drops_the_connection_after_the_write_landed(stripe_server: SandboxServer) -> None:
    stripe_server.knobs.faults = {"reset": 1.0}
    with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message body"):
        create_customer(stripe_server, "landed@example.com")
    assert stripe_emails(stripe_server) == ["landed@example.com"]
    assert stripe_server.knobs.rejected == 1


def test_a_malformed_answer_is_a_complete_200_whose_json_does_not_parse(stripe_server: SandboxServer) -> None:
    stripe_server.knobs.faults = {"malformed": 1.0}
    response = create_customer(stripe_server, "garbled@example.com")
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content) > 0
    with pytest.raises(ValueError):
        json.loads(response.content)
    assert stripe_emails(stripe_server) == ["garbled@example.com"]


# the engine's transport -----------------------------------------------------


def transported(server: SandboxServer, request: httpx.Request) -> tuple[httpx.Response | Exception, int]:
    """Send one request through ApiTransport (quick retries); the outcome and the attempts counted."""
    context = ConnectorContext("faults")

    async def send() -> httpx.Response:
        transport = ApiTransport(context, RateLimit(requests=1000), attempts=6, max_wait=0.01)
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.send(request)

    try:
        return asyncio.run(send()), context.requests
    except httpx.HTTPError as error:
        return error, context.requests


@pytest.mark.parametrize("kind", ["reset", "malformed"])
def test_a_read_is_sent_again_until_its_answer_arrives_whole(stripe_server: SandboxServer, kind: str) -> None:
    stripe_server.sandbox.seed(3)
    stripe_server.knobs.faults = {kind: 0.5}
    listing = httpx.Request("GET", f"{stripe_server.base_url}/v1/customers", headers=stripe_headers(stripe_server))
    outcomes = [transported(stripe_server, listing) for _ in range(8)]
    for response, _ in outcomes:
        assert isinstance(response, httpx.Response) and len(response.json()["data"]) == 3
    assert sum(attempts for _, attempts in outcomes) > len(outcomes), "no answer was lost: the fault never fired"


@pytest.mark.parametrize(
    ("kind", "client_sees"),
    [("reset", httpx.RemoteProtocolError), ("malformed", httpx.Response)],
)
def test_a_create_without_idempotency_key_is_never_sent_twice(
    stripe_server: SandboxServer, kind: str, client_sees: type[Any]
) -> None:
    stripe_server.knobs.faults = {kind: 1.0}
    create = httpx.Request(
        "POST", f"{stripe_server.base_url}/v1/customers", data={"email": "once@example.com"},
        headers=stripe_headers(stripe_server),
    )
    outcome, attempts = transported(stripe_server, create)
    assert isinstance(outcome, client_sees)
    assert attempts == 1
    assert stripe_emails(stripe_server) == ["once@example.com"]


def test_a_create_with_an_idempotency_key_is_sent_again_and_lands_once(stripe_server: SandboxServer) -> None:
    stripe_server.knobs.faults = {"reset": 0.5}
    headers = {**stripe_headers(stripe_server), "Idempotency-Key": "journal-key-1"}
    create = httpx.Request("POST", f"{stripe_server.base_url}/v1/customers", data={"email": "k@example.com"},
                           headers=headers)
    for _ in range(6):
        outcome, _ = transported(stripe_server, create)
        assert isinstance(outcome, httpx.Response) and outcome.status_code == 200
    assert stripe_emails(stripe_server) == ["k@example.com"]


# the connectors' own clients ------------------------------------------------


def test_a_garbled_google_listing_page_is_an_error_not_an_empty_page() -> None:
    sandbox = GoogleContactsSandbox()
    sandbox.add_record({"givenName": "Ada", "email": "ada@example.com"})
    with SandboxServer(sandbox) as server:
        settings = GoogleContactsSettings(**{**server.settings(), **FAST_RETRIES, "max_retry_wait_seconds": 0.01})
        context = ConnectorContext("google")

        async def list_page() -> dict[str, Any]:
            api = PeopleApi(settings, context)
            try:
                whole = await api.read("/v1/people/me/connections", {"personFields": "names"})
                assert len(whole["connections"]) == 1
                server.knobs.faults = {"malformed": 1.0}
                return await api.read("/v1/people/me/connections", {"personFields": "names"})
            finally:
                await api.aclose()

        with pytest.raises(GoogleApiError) as raised:
            asyncio.run(list_page())
    assert raised.value.status == UNREADABLE and raised.value.code == 200
    assert server.knobs.rejected == FAST_RETRIES["retry_attempts"], "a read is retried before it is given up"


def test_a_garbled_quickbooks_answer_is_an_error_not_an_empty_answer() -> None:
    sandbox = QuickBooksSandbox()
    sandbox.add_record({"DisplayName": "Ada", "PrimaryEmailAddr.Address": "ada@example.com"})
    with SandboxServer(sandbox, knobs=Knobs()) as server:
        settings = QuickBooksSettings(**{**server.settings(), **FAST_RETRIES, "retry_max_wait": 0.01})

        async def query() -> Any:
            api = QuickBooksApi(settings, ConnectorContext("quickbooks"))
            try:
                whole, _ = await api.query("SELECT * FROM Customer")
                assert len(whole) == 1
                server.knobs.faults = {"malformed": 1.0}
                return await api.query("SELECT * FROM Customer")
            finally:
                await api.aclose()

        with pytest.raises(QuickBooksError, match="not a JSON object"):
            asyncio.run(query())
