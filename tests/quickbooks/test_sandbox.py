"""The sandbox speaks QuickBooks: query language, envelopes, auth and the plugin wiring."""

from __future__ import annotations

import httpx
import pytest

from connectors.quickbooks.connector import QuickBooksConnector
from connectors.quickbooks.sandbox import QuickBooksSandbox
from engine.plugins import registry


@pytest.fixture
def client(sandbox, server):
    settings = server.settings()
    token = httpx.post(settings["token_url"], auth=(settings["client_id"], settings["client_secret"]),
                       data={"grant_type": "refresh_token", "refresh_token": settings["refresh_token"]}).json()
    base = f"{server.base_url}/v3/company/{sandbox.realm_id}"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token['access_token']}"}) as http:
        yield http


@pytest.fixture
def people(sandbox):
    for name, city, active in [("Ada", "London", True), ("Alan", "Wilmslow", True), ("Grace", "New York", True),
                               ("Zed", "London", False)]:
        sandbox.add_record({"DisplayName": name, "BillAddr.City": city, "Active": active})


@pytest.mark.parametrize(
    ("statement", "names"),
    [
        ("SELECT * FROM Customer", ["Ada", "Alan", "Grace"]),
        ("select * from Customer where DisplayName LIKE 'A%' ORDERBY DisplayName DESC", ["Alan", "Ada"]),
        ("SELECT * FROM Customer WHERE BillAddr.City = 'london' AND Active IN (true, false)", ["Ada", "Zed"]),
        ("SELECT * FROM Customer WHERE Id IN ('2', '3') ", ["Alan", "Grace"]),
        ("SELECT * FROM Customer ORDERBY Id STARTPOSITION 2 MAXRESULTS 1", ["Alan"]),
        ("SELECT * FROM Customer WHERE DisplayName = 'Nobody'", []),
    ],
)
def test_query_language_subset(client, people, statement, names):
    answer = client.get("/query", params={"query": statement}).json()["QueryResponse"]
    assert [c["DisplayName"] for c in answer.get("Customer", [])] == names


def test_count(client, people):
    answer = client.get("/query", params={"query": "SELECT COUNT(*) FROM Customer WHERE Active = false"}).json()
    assert answer["QueryResponse"] == {"totalCount": 1}


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        ("SELECT * FROM Customer WHERE DisplayName = 'unterminated", "4000"),
        ("SELECT * FROM Customer MAXRESULTS 1001", "4000"),
        ("SELECT * FROM Invoice", "4001"),
        ("DELETE FROM Customer", "4000"),
    ],
)
def test_bad_queries_answer_a_fault(client, statement, code):
    response = client.get("/query", params={"query": statement})
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == code


def test_sparse_update_checks_the_sync_token(client, sandbox):
    record_id = sandbox.add_record({"DisplayName": "Ada"})
    ok = client.post("/customer", json={"Id": record_id, "SyncToken": "0", "sparse": True, "Notes": "n"})
    stale = client.post("/customer", json={"Id": record_id, "SyncToken": "0", "sparse": True, "Notes": "m"})
    assert ok.json()["Customer"]["SyncToken"] == "1" and ok.json()["Customer"]["DisplayName"] == "Ada"
    assert stale.status_code == 400 and stale.json()["Fault"]["Error"][0]["code"] == "5010"


def test_missing_customer_is_fault_610(client):
    response = client.get("/customer/424242")
    assert response.status_code == 400 and response.json()["Fault"]["Error"][0]["code"] == "610"


def test_batch_holds_at_most_30_items(client):
    items = [{"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"C{i}"}} for i in range(31)]
    response = client.post("/batch", json={"BatchItemRequest": items})
    assert response.status_code == 400 and "30" in response.json()["Fault"]["Error"][0]["Detail"]


def test_requests_without_a_valid_token_get_401(server, sandbox):
    response = httpx.get(f"{server.base_url}/v3/company/{sandbox.realm_id}/customer/1",
                         headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.json()["fault"]["error"][0]["code"] == "3200"


def test_plugin_registers_the_connector_and_its_sandbox():
    cls = registry().connector("quickbooks")
    assert cls is QuickBooksConnector and cls.sandbox() is QuickBooksSandbox
    seeded = QuickBooksSandbox(seed=3)
    assert len(seeded.records()) == 3 and all(r["PrimaryEmailAddr.Address"] for r in seeded.records())
