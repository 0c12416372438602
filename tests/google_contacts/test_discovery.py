"""Conformance with the People API discovery document: sandbox routes, connector requests, sandbox responses."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.google_contacts import GoogleContactsConnector
from connectors.google_contacts.sandbox import GoogleContactsSandbox
from connectors.google_contacts.sandbox.app import ROUTES, Exchange
from engine.records import WriteRequest
from engine.sandbox import SandboxServer

from . import discovery
from .conftest import drive

Make = Callable[..., GoogleContactsConnector]
# Methods the sandbox serves for other clients; tests/conformance/test_google_contacts.py drives them.
NOT_USED_BY_THE_CONNECTOR = {"v1/contactGroups/{contactGroupsId}", "v1/contactGroups:batchGet",
                             "v1/people:searchContacts"}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.flat_path}")
def test_every_sandbox_route_is_a_people_api_method(route: Any) -> None:
    assert (route.method, route.flat_path) in discovery.methods()


@pytest.mark.parametrize(
    ("value", "ref", "request_body", "problem"),
    [
        ({"names": [{"givenName": "Ada"}]}, "Person", True, None),
        ({"names": [{"givenName": 1}]}, "Person", True, "$.names[0].givenName: expected string"),
        ({"nickname": "Ada"}, "Person", True, "unknown property 'nickname'"),
        ({"names": [{"displayName": "Ada"}]}, "Person", True, "$.names[0].displayName: output-only"),
        ({"names": [{"displayName": "Ada"}]}, "Person", False, None),
        ({"contacts": {"people/c1": {"etag": "e"}}}, "BatchUpdateContactsRequest", True, None),
        ({"contacts": {"people/c1": {"etag": 5}}}, "BatchUpdateContactsRequest", True, "['people/c1'].etag"),
        ({"groupType": "PRIVATE"}, "ContactGroup", False, "'PRIVATE' is not one of"),
    ],
)
def test_schema_checker(value: Any, ref: str, request_body: bool, problem: str | None) -> None:
    errors = discovery.check(value, {"$ref": ref}, request=request_body)
    assert (errors == []) if problem is None else any(problem in e for e in errors), errors


def conformance_errors(exchange: Exchange) -> list[str]:
    """How one recorded call departs from the discovery document."""
    assert exchange.route is not None
    method = discovery.methods()[(exchange.method, exchange.route)]
    errors = discovery.check_query(method, exchange.query) + path_errors(method, exchange.path)
    if "request" in method:
        errors += discovery.check(exchange.body, method["request"], "request", request=True)
    elif exchange.body is not None:
        errors.append("request: this method takes no body")
    if exchange.status == 200:
        errors += discovery.check(exchange.response, method.get("response", {"$ref": "Empty"}), "response")
    else:
        # Google's envelope is a google.rpc.Status plus its canonical `status` name
        error = dict(exchange.response["error"])
        if not isinstance(error.pop("status", None), str):
            errors.append("error: no status name")
        errors += discovery.check(error, {"$ref": "Status"}, "error")
    return [f"{exchange.method} {exchange.path}: {e}" for e in errors]


def path_errors(method: dict[str, Any], path: str) -> list[str]:
    """Path parameters (`{+resourceName}`) must match the patterns the document gives."""
    parts = re.split(r"\{\+?(\w+)\}", method["path"])
    regex = "".join(f"(?P<{p}>.+?)" if i % 2 else re.escape(p) for i, p in enumerate(parts))
    found = re.fullmatch(f"/{regex}", path)
    if found is None:
        return [f"path does not fit {method['path']}"]
    return [
        f"path parameter {name}={value!r} does not match {method['parameters'][name]['pattern']}"
        for name, value in found.groupdict().items()
        if not re.fullmatch(method["parameters"][name].get("pattern", ".*"), value)
    ]


def test_connector_traffic_and_sandbox_answers_follow_the_discovery_document(
    sandbox: GoogleContactsSandbox, make_connector: Make
) -> None:
    sandbox.seed(5)

    def fields(n: int) -> dict[str, Any]:
        return {"givenName": f"P{n}", "familyName": "X", "email": f"p{n}@example.com", "emailType": "work",
                "otherEmails": [{"value": f"p{n}@home.example", "type": "home"}], "phone": "+12025550100",
                "otherPhones": ["+12025550101"], "company": "Acme", "jobTitle": "CTO", "userDefined.plan": "gold"}

    async def body(c: GoogleContactsConnector) -> None:
        cursor = [p async for p in c.list()][-1].cursor
        made = await c.upsert([WriteRequest(uuid.uuid4().hex, None, fields(n)) for n in range(3)])
        [single] = await c.upsert([WriteRequest(uuid.uuid4().hex, None, fields(9))])
        ids = [r.id for r in made if r.id]
        await c.upsert([WriteRequest(uuid.uuid4().hex, rid, {"jobTitle": "CEO", "phone": None}) for rid in ids])
        await c.upsert([WriteRequest(uuid.uuid4().hex, single.id, {"givenName": "Nine"})])
        await c.tag(ids[0], "Customers")
        await c.untag(ids[0], "Customers")
        await c.get(ids[0])
        [p async for p in c.list(cursor)]

    drive(make_connector(page_size=2), body)
    log = [e for e in sandbox.state.log if e.route]
    assert {e.route for e in log} >= {r.flat_path for r in ROUTES if "delete" not in r.flat_path.lower()
                                      and r.flat_path not in NOT_USED_BY_THE_CONNECTOR}
    assert [e for exchange in log for e in conformance_errors(exchange)] == []


def test_delete_methods_answer_as_documented(sandbox: GoogleContactsSandbox, server: SandboxServer) -> None:
    ids = [sandbox.add_record({"givenName": f"P{i}"}) for i in range(3)]
    settings = server.settings()
    with httpx.Client(base_url=server.base_url) as client:
        grant = client.post("/token", data={"grant_type": "refresh_token", "client_id": settings["client_id"],
                                            "client_secret": settings["client_secret"],
                                            "refresh_token": settings["refresh_token"]}).json()
        client.headers["Authorization"] = f"Bearer {grant['access_token']}"
        assert client.delete(f"/v1/{ids[0]}:deleteContact").status_code == 200
        assert client.post("/v1/people:batchDeleteContacts", json={"resourceNames": ids[1:]}).status_code == 200
        missing = client.delete(f"/v1/{ids[0]}:deleteContact")
    assert missing.json()["error"]["status"] == "NOT_FOUND"
    assert sandbox.records() == []
    assert [e for exchange in sandbox.state.log for e in conformance_errors(exchange)] == []
