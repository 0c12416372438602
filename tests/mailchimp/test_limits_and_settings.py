"""Ten connections at most, the data-centre host, the plugin registration and the sandbox command."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from pydantic import ValidationError

from connectors.mailchimp import MailchimpConnector, MailchimpSettings
from connectors.mailchimp.sandbox import MailchimpSandbox
from engine.records import WriteRequest
from engine.sandbox import SandboxServer
from engine.testing.contract import collect
from tests.fixtures.registries import builtin_registry
from tests.mailchimp.conftest import drive
from tests.service.conftest import wait_for

Make = Callable[..., MailchimpConnector]


def test_the_sandbox_answers_429_beyond_ten_connections(sandbox: MailchimpSandbox, server: SandboxServer) -> None:
    sandbox.hold = threading.Event()
    auth = ("any", sandbox.state.api_key)
    url = f"{server.base_url}/3.0/ping"
    with ThreadPoolExecutor(max_workers=10) as pool:
        held = [pool.submit(httpx.get, url, auth=auth, timeout=30) for _ in range(10)]
        wait_for(lambda: sandbox.state.in_flight == 10)  # all ten are inside the sandbox
        refused = httpx.get(url, auth=auth, timeout=30)
        sandbox.hold.set()
        answers = [f.result() for f in held]
    assert refused.status_code == 429 and refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["title"] == "Too Many Requests" and "10 simultaneous" in refused.json()["detail"]
    assert [a.status_code for a in answers] == [200] * 10


def test_the_connector_stays_under_the_connection_limit(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    ids = [sandbox.add_record({"email": f"c{i}@example.com"}) for i in range(40)]
    gate = threading.Event()
    sandbox.hold = gate

    async def body(connector: MailchimpConnector) -> None:
        writes = connector.upsert([WriteRequest(uuid.uuid4().hex, i, {"FNAME": "X"}) for i in ids])
        task = asyncio.ensure_future(writes)

        async def filled() -> None:
            while sandbox.state.in_flight < 10:
                await asyncio.sleep(0.005)

        try:
            await asyncio.wait_for(filled(), timeout=30)  # fails, rather than hangs, if fewer ever go out
        finally:
            gate.set()
        results = await task
        assert all(r.ok for r in results)

    drive(make_connector(), body)
    assert sandbox.state.max_in_flight == 10 and sandbox.state.too_many == 0


def test_fewer_connections_when_the_settings_ask(sandbox: MailchimpSandbox, make_connector: Make) -> None:
    ids = [sandbox.add_record({"email": f"d{i}@example.com"}) for i in range(12)]
    drive(make_connector(max_connections=3),
          lambda c: c.upsert([WriteRequest(uuid.uuid4().hex, i, {"LNAME": "Y"}) for i in ids]))
    assert sandbox.state.max_in_flight <= 3
    caps = MailchimpConnector.capabilities_for(MailchimpSettings(api_key="k-us1", list_id="x", max_connections=3))
    assert caps.rate_limit.max_concurrency == 3 and caps.unsubscribe_signal


@pytest.mark.parametrize(
    ("settings", "api_url"),
    [
        ({"api_key": "abc-us19"}, "https://us19.api.mailchimp.com/3.0"),
        ({"api_key": "abc-us19", "base_url": "http://127.0.0.1:9/"}, "http://127.0.0.1:9/3.0"),
        ({"api_key": "token-without-centre", "base_url": "https://proxy.internal"}, "https://proxy.internal/3.0"),
    ],
)
def test_the_key_names_the_host(settings: dict[str, str], api_url: str) -> None:
    assert MailchimpSettings(list_id="a1", **settings).api_url == api_url


def test_a_key_without_a_data_centre_and_no_base_url_is_refused_without_showing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        MailchimpSettings(api_key="secretsecret", list_id="a1")
    [error] = caught.value.errors(include_input=False)
    assert "data-centre suffix" in error["msg"] and error["ctx"]["at"] == ("api_key",)
    assert "secretsecret" not in str(error), "the config loader shows messages, never the input"


def test_more_than_ten_connections_is_refused() -> None:
    with pytest.raises(ValidationError):
        MailchimpSettings(api_key="k-us1", list_id="a1", max_connections=11)


def test_registered_as_a_builtin_plugin_with_a_sandbox() -> None:
    registry = builtin_registry()
    cls = registry.connectors["mailchimp"]
    assert cls is MailchimpConnector and cls.sandbox() is MailchimpSandbox
    assert cls.capabilities.unsubscribe_signal and cls.capabilities.tags


def test_reads_and_writes_ride_out_the_shared_fault_knobs(
    sandbox: MailchimpSandbox, server: SandboxServer, make_connector: Make
) -> None:
    ids = [sandbox.add_record({"email": f"f{i}@example.com"}) for i in range(9)]
    server.knobs.faults = {"429": 0.2, "500": 0.1, "503": 0.1, "malformed": 0.1}
    records, _, full = drive(make_connector(page_size=2, retry_attempts=10), lambda c: collect(c))
    results = drive(make_connector(retry_attempts=10),
                    lambda c: c.upsert([WriteRequest(uuid.uuid4().hex, i, {"FNAME": "Fault"}) for i in ids]))
    assert full and set(ids) <= set(records)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert server.knobs.rejected > 0, "faults were injected"
    assert {r["FNAME"] for r in sandbox.records()} == {"Fault"}
    error = sandbox.error_response(429, retry_after=1.5)
    assert error.status_code == 429 and error.headers["retry-after"] == "1.500"
    assert error.headers["content-type"].startswith("application/problem+json")
