"""Quota and faults: 429 RESOURCE_EXHAUSTED and 5xx are retried; per-minute limits apply; plugin wiring."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from connectors.google_contacts import GoogleContactsConnector, GoogleContactsSettings
from connectors.google_contacts.sandbox import GoogleContactsSandbox
from engine.connector import ConnectorContext
from engine.plugins import build_registry, make_manager
from engine.records import WriteRequest
from engine.sandbox import Knobs, SandboxServer

from .conftest import FAST, drive

Make = Callable[..., GoogleContactsConnector]


def test_rate_limit_answers_use_googles_envelope(server: SandboxServer) -> None:
    server.knobs.rate_limit = 0.001
    answer = httpx.get(f"{server.base_url}/v1/contactGroups")
    assert answer.status_code == 429 and float(answer.headers["retry-after"]) > 0
    assert answer.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert answer.json()["error"]["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"


def test_reads_and_writes_are_metered_apart(server: SandboxServer) -> None:
    """Google's per-user read and write quotas are separate: listing as fast as the quota allows leaves the
    write quota whole (the follower reads the feed while a run creates contacts, connectors/.../follow.py)."""
    token = server.sandbox.oauth.grant({  # type: ignore[attr-defined]
        "grant_type": "refresh_token", **{k: server.settings()[k] for k in ("client_id", "client_secret",
                                                                             "refresh_token")}})[1]["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    server.knobs.rate_limit = 4.0
    with httpx.Client(base_url=server.base_url, headers=headers) as client:
        client.get("/v1/contactGroups")  # sets the limit: both buckets fill from now on, at 4 a second
        time.sleep(0.5)
        reads = [client.get("/v1/contactGroups").status_code for _ in range(12)]
        write = client.post("/v1/people:createContact", json={"names": [{"givenName": "Ada"}]})
    assert 429 in reads, "the read quota ran out"
    assert write.status_code == 200, "the write quota did not"


# 429 and 503 mean "not processed": every request is sent again. A 500 after a create may have landed, and
# creates carry no idempotency key, so the transport does not resend those (tests/test_http.py).
@pytest.mark.parametrize("knobs", [Knobs(rate_limit=40.0), Knobs(faults={"429": 0.3, "503": 0.2})])
def test_throttling_and_faults_are_retried_until_everything_is_read_and_written(knobs: Knobs) -> None:
    sandbox = GoogleContactsSandbox(seed=6)
    with SandboxServer(sandbox, knobs=knobs) as server:
        settings = GoogleContactsSettings(**{**server.settings(), **FAST, "retry_attempts": 8, "page_size": 2})
        connector = GoogleContactsConnector(settings, ConnectorContext("test"))
        requests = [WriteRequest(uuid.uuid4().hex, None, {"givenName": f"N{i}"}) for i in range(3)]

        async def body(c: GoogleContactsConnector) -> tuple[int, bool]:
            listed = [r async for page in c.list() for r in page.records]
            written = await c.upsert(requests)
            for result in written:
                assert result.id is not None
                await c.tag(result.id, "Retried")
            return len(listed), all(r.ok for r in written)

        assert drive(connector, body) == (6, True)
    assert knobs.rejected > 0, "the knobs did refuse some requests"
    assert len(sandbox.records()) == 9


@pytest.mark.parametrize(
    ("overrides", "reads", "writes"),
    [({}, 90, 90), ({"read_requests_per_minute": 30, "write_requests_per_minute": 12}, 30, 12)],
)
def test_read_and_write_quotas_per_minute_default_low_and_are_configurable(
    server: SandboxServer, overrides: dict[str, float], reads: int, writes: int
) -> None:
    account = {k: v for k, v in server.settings().items() if not k.endswith("_per_minute")}
    connector = GoogleContactsConnector(GoogleContactsSettings(**account, **overrides), ConnectorContext("test"))
    read, write = connector.api.read_transport.limiter, connector.api.write_transport.limiter
    per_minute = (read.max_rate * 60 / read.time_period, write.max_rate * 60 / write.time_period)
    assert per_minute == pytest.approx((reads, writes)), "the limiter paces requests at the configured rate"


def test_plugin_registers_the_connector_and_its_sandbox_serves_a_usable_account() -> None:
    from connectors.google_contacts import plugin

    manager = make_manager()
    manager.register(plugin, name="google_contacts")
    cls = build_registry(manager).connector("google_contacts")
    sandbox_class = cls.sandbox()
    assert cls is GoogleContactsConnector and sandbox_class is GoogleContactsSandbox

    sandbox = sandbox_class(seed=4)
    with SandboxServer(sandbox) as server:
        connector = cls(cls.settings_model(**server.settings()), ConnectorContext("cli"))

        async def body(c: GoogleContactsConnector) -> int:
            return len([r async for page in c.list() for r in page.records])

        assert drive(connector, body) == 4 == len(sandbox.records())
