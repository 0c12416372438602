"""Throttling and faults: 429 and fault 3001 are waited out; Fault envelopes become clear messages."""

from __future__ import annotations

import httpx
import pytest

from connectors.quickbooks import tags
from connectors.quickbooks.api import should_retry
from connectors.quickbooks.errors import parse_fault
from engine.records import WriteRequest
from tests.quickbooks.conftest import pages, run


def fault_body(code: str, kind: str = "ValidationFault") -> dict:
    return {"Fault": {"Error": [{"Message": "m", "Detail": "d", "code": code, "element": "GivenName"}], "type": kind}}


@pytest.mark.parametrize(
    ("status", "body", "retry"),
    [
        (429, fault_body("3001", "SERVICE"), True),
        (400, fault_body("3001", "SERVICE"), True),
        (503, None, True),
        (400, fault_body("6240"), False),
        (401, None, False),
        (200, {"QueryResponse": {}}, False),
    ],
)
def test_what_is_retried(status, body, retry):
    response = httpx.Response(status, json=body) if body is not None else httpx.Response(status)
    assert should_retry(response) is retry


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (fault_body("2050"), "QuickBooks ValidationFault 2050 on field GivenName: d"),
        ({"fault": {"error": [{"message": "AuthenticationFailed", "detail": "Token expired", "code": "3200"}],
                    "type": "AUTHENTICATION"}}, "QuickBooks AUTHENTICATION 3200: Token expired"),
        ({"Fault": {"Error": [], "type": "SystemFault"}}, "QuickBooks SystemFault (HTTP 500)"),
    ],
    ids=["validation", "lower-case-auth", "empty"],
)
def test_fault_envelope_becomes_a_message(payload, expected):
    fault = parse_fault(payload, 500)
    assert fault is not None and fault.describe() == expected


def test_no_fault_in_a_normal_body():
    assert parse_fault({"Customer": {"Id": "1"}}) is None


@pytest.mark.parametrize("faults", [{"429": 0.5}, {"500": 0.3, "503": 0.3}])
def test_reads_and_writes_survive_injected_faults(sandbox, server, make_connector, faults):
    sandbox.seed(12)
    server.knobs.faults = faults
    listing = pages(make_connector(page_size=5))
    assert len([r for p in listing for r in p.records]) == 12

    async def body(connector):
        return await connector.upsert([WriteRequest(key="f", id=None, fields={"DisplayName": "Through faults"})])

    [result] = run(make_connector(), body)
    server.knobs.faults = {}
    assert result.ok, result.error
    assert [r["DisplayName"] for r in sandbox.records()].count("Through faults") == 1, "a retried write applies once"
    assert server.knobs.rejected > 0


def test_rate_limited_sandbox_answers_429_and_the_connector_waits(sandbox, server, make_connector):
    sandbox.seed(3)
    server.knobs.rate_limit = 40
    connector = make_connector(page_size=1)
    listing = pages(connector)
    assert len([r for p in listing for r in p.records]) == 3
    assert server.knobs.rejected > 0, "the sandbox throttled (its allowance starts empty) and the reads still finished"


@pytest.mark.parametrize(
    ("notes", "tag_set", "text"),
    [
        (None, frozenset(), ""),
        ("hello", frozenset(), "hello"),
        (None, frozenset({"b", "a"}), 'pairsync tags: ["a", "b"]'),
        ("line one\nline two", frozenset({"pairsync Trash"}), 'line one\nline two\npairsync tags: ["pairsync Trash"]'),
    ],
)
def test_tag_line_round_trips(notes, tag_set, text):
    assert tags.join(notes, tag_set) == text
    if text:
        assert tags.split(text) == (notes, tag_set)


@pytest.mark.parametrize("notes", ["pairsync tags: not json", 'pairsync tags: {"a": 1}', "ordinary notes"])
def test_a_line_that_is_not_a_tag_line_stays_in_the_notes(notes):
    assert tags.split(notes) == (notes, frozenset())
