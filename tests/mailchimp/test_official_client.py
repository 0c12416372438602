"""The sandbox as Mailchimp's own Python client sees it: the official `mailchimp-marketing` package.

Every operation the connector uses is driven here through the official
client pointed at the sandbox, so the sandbox cannot drift into a dialect
only our connector speaks: paths, query parameters, bodies, status codes
and problem+json errors all go through code Mailchimp ships.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
from collections.abc import Iterator

import httpx
import mailchimp_marketing
import pytest
from mailchimp_marketing.api_client import ApiClientError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from connectors.mailchimp.members import subscriber_hash
from connectors.mailchimp.sandbox import MailchimpSandbox
from engine.sandbox import SandboxServer


@pytest.fixture
def client(sandbox: MailchimpSandbox, server: SandboxServer) -> mailchimp_marketing.Client:
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": sandbox.state.api_key})  # the key's "-us0" names the data centre
    client.api_client.host = f"{server.base_url}/3.0"  # the one line that points it at loopback
    return client


@pytest.fixture
def list_id(sandbox: MailchimpSandbox) -> str:
    return sandbox.store.list_id


def problem(error: ApiClientError) -> dict[str, object]:
    """The official client hands problem+json bodies over as text."""
    body = error.text if isinstance(error.text, dict) else json.loads(error.text)
    assert isinstance(body, dict)
    return body


def test_ping_with_the_keys_data_centre(client: mailchimp_marketing.Client) -> None:
    assert client.api_client.server == "us0"
    assert client.ping.get() == {"health_status": "Everything's Chimpy!"}


def test_a_wrong_key_is_401_problem_json(sandbox: MailchimpSandbox, server: SandboxServer) -> None:
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": "00000000000000000000000000000000-us0"})
    client.api_client.host = f"{server.base_url}/3.0"
    with pytest.raises(ApiClientError) as caught:
        client.ping.get()
    assert caught.value.status_code == 401 and problem(caught.value)["title"] == "API Key Invalid"


def test_put_get_patch_and_listing(client: mailchimp_marketing.Client, list_id: str) -> None:
    lists = client.lists
    member_hash = subscriber_hash("Ada@Example.com")
    put = lists.set_list_member(list_id, member_hash, {"email_address": "Ada@Example.com",
                                                       "status_if_new": "subscribed",
                                                       "merge_fields": {"FNAME": "Ada", "LNAME": "Lovelace"}})
    assert put["id"] == member_hash and put["status"] == "subscribed" and put["full_name"] == "Ada Lovelace"
    patched = lists.update_list_member(list_id, member_hash, {"merge_fields": {"LNAME": "King"}})
    assert patched["merge_fields"]["FNAME"] == "Ada" and patched["merge_fields"]["LNAME"] == "King"
    got = lists.get_list_member(list_id, member_hash, exclude_fields=["_links"])
    assert "_links" not in got and got["last_changed"]
    page = lists.get_list_members_info(list_id, count=1000, offset=0, exclude_fields=["members._links", "_links"],
                                       since_last_changed="2000-01-01T00:00:00+00:00")
    assert page["total_items"] == 1 and page["members"][0]["id"] == member_hash
    assert "_links" not in page and "_links" not in page["members"][0]


def test_count_above_1000_is_refused(client: mailchimp_marketing.Client, sandbox: MailchimpSandbox,
                                     server: SandboxServer, list_id: str) -> None:
    with pytest.raises(ValueError, match="less than or equal to `1000`"):
        client.lists.get_list_members_info(list_id, count=1001)  # the client knows the limit ...
    raw = httpx.get(f"{server.base_url}/3.0/lists/{list_id}/members", params={"count": 1001},
                    auth=("any", sandbox.state.api_key))  # ... and so does the API
    assert raw.status_code == 400 and raw.json()["title"] == "Invalid Resource"


def test_status_if_new_never_resubscribes_and_subscribing_an_unsubscribed_member_is_a_compliance_error(
    client: mailchimp_marketing.Client, sandbox: MailchimpSandbox, list_id: str
) -> None:
    member_hash = sandbox.add_record({"email": "gone@example.com"})
    client.lists.update_list_member(list_id, member_hash, {"status": "unsubscribed"})
    again = client.lists.set_list_member(list_id, member_hash, {"email_address": "gone@example.com",
                                                                "status_if_new": "subscribed"})
    assert again["status"] == "unsubscribed"
    with pytest.raises(ApiClientError) as caught:
        client.lists.update_list_member(list_id, member_hash, {"status": "subscribed"})
    assert problem(caught.value)["title"] == "Member In Compliance State"


def test_archive_then_delete_permanently(client: mailchimp_marketing.Client, sandbox: MailchimpSandbox,
                                         list_id: str) -> None:
    member_hash = sandbox.add_record({"email": "bye@example.com"})
    client.lists.delete_list_member(list_id, member_hash)
    assert client.lists.get_list_member(list_id, member_hash)["status"] == "archived"
    assert client.lists.get_list_members_info(list_id)["total_items"] == 0
    assert client.lists.get_list_members_info(list_id, status="archived")["total_items"] == 1
    client.lists.delete_list_member_permanent(list_id, member_hash)
    with pytest.raises(ApiClientError) as caught:
        client.lists.set_list_member(list_id, member_hash, {"email_address": "bye@example.com",
                                                            "status_if_new": "subscribed"})
    assert problem(caught.value)["title"] == "Forgotten Email Not Subscribed"


def test_batch_subscribe_reports_errors_per_member(client: mailchimp_marketing.Client, sandbox: MailchimpSandbox,
                                                   list_id: str) -> None:
    sandbox.add_record({"email": "there@example.com"})
    answer = client.lists.batch_list_members(list_id, {"update_existing": False, "members": [
        {"email_address": "fresh@example.com", "status": "subscribed"},
        {"email_address": "there@example.com", "status": "subscribed"},
        {"email_address": "broken@", "status": "subscribed"},
    ]})
    assert answer["total_created"] == 1 and answer["error_count"] == 2
    assert [e["error_code"] for e in answer["errors"]] == ["ERROR_CONTACT_EXISTS", "ERROR_GENERIC"]


def test_member_tags(client: mailchimp_marketing.Client, sandbox: MailchimpSandbox, list_id: str) -> None:
    member_hash = sandbox.add_record({"email": "tagged@example.com"})
    client.lists.update_list_member_tags(list_id, member_hash, {"tags": [{"name": "pairsync Unsubscribes",
                                                                          "status": "active"}]})
    names = [t["name"] for t in client.lists.get_list_member_tags(list_id, member_hash)["tags"]]
    assert names == ["pairsync Unsubscribes"]
    client.lists.update_list_member_tags(list_id, member_hash, {"tags": [{"name": "pairsync Unsubscribes",
                                                                          "status": "inactive"}]})
    assert client.lists.get_list_member_tags(list_id, member_hash)["tags"] == []


def test_merge_fields(client: mailchimp_marketing.Client, list_id: str) -> None:
    client.lists.add_list_merge_field(list_id, {"tag": "COMPANY", "name": "Company", "type": "text"})
    tags = [f["tag"] for f in client.lists.get_list_merge_fields(list_id)["merge_fields"]]
    assert {"FNAME", "LNAME", "ADDRESS", "PHONE", "COMPANY"} <= set(tags)


def test_batches_state_machine_and_result_archive(client: mailchimp_marketing.Client, list_id: str) -> None:
    path = f"/lists/{list_id}/members/{subscriber_hash('batch@example.com')}"
    started = client.batches.start({"operations": [
        {"method": "PUT", "path": path, "operation_id": "one",
         "body": json.dumps({"email_address": "batch@example.com", "status_if_new": "subscribed"})},
        {"method": "PUT", "path": path, "operation_id": "bad", "body": json.dumps({"email_address": "x@y"})},
    ]})
    assert started["status"] == "pending" and started["total_operations"] == 2
    seen = [started["status"]]
    while seen[-1] != "finished":
        seen.append(client.batches.status(started["id"])["status"])
    assert seen == ["pending", "preprocessing", "started", "finalizing", "finished"]
    final = client.batches.status(started["id"])
    assert final["finished_operations"] == 2 and final["errored_operations"] == 1
    archive = httpx.get(final["response_body_url"]).content
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        [member] = [m for m in tar.getmembers() if m.isfile()]
        extracted = tar.extractfile(member)
        assert extracted is not None
        results = json.loads(extracted.read())
    assert [(r["operation_id"], r["status_code"]) for r in results] == [("one", 200), ("bad", 400)]
    assert json.loads(results[0]["response"])["email_address"] == "batch@example.com"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A stand-in for the webhook URL: answers Mailchimp's GET check and records POSTs."""
    received: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    async def hook(request: Request) -> PlainTextResponse:
        with lock:
            received.append((request.method, await request.body()))
        return PlainTextResponse("ok")

    class Stub(MailchimpSandbox):
        def app(self) -> Starlette:
            return Starlette(routes=[Route("/hook", hook, methods=["GET", "POST"])])

    with SandboxServer(Stub()) as running:
        yield f"{running.base_url}/hook", received


def test_webhooks_are_checked_with_a_get_and_delivered_form_encoded(
    client: mailchimp_marketing.Client, sandbox: MailchimpSandbox, list_id: str,
    receiver: tuple[str, list[tuple[str, bytes]]],
) -> None:
    url, received = receiver
    hook = client.lists.create_list_webhook(list_id, {
        "url": url, "events": {"unsubscribe": True, "profile": True},
        "sources": {"user": True, "admin": True, "api": False}})
    assert hook["url"] == url and hook["sources"]["api"] is False
    assert received == [("GET", b"")], "Mailchimp checks the URL with a GET before saving it"
    member_hash = sandbox.add_record({"email": "unsub@example.com"})
    client.lists.update_list_member(list_id, member_hash, {"merge_fields": {"FNAME": "Api"}})  # api: not sent
    sandbox.unsubscribe(member_hash)
    delivered = sandbox.deliveries()
    assert [d.form["type"] for d in delivered] == ["unsubscribe"]
    assert received[-1][0] == "POST" and b"type=unsubscribe" in received[-1][1]
    assert b"data%5Bemail%5D=unsub%40example.com" in received[-1][1]


def test_a_webhook_url_that_fails_the_check_is_refused(client: mailchimp_marketing.Client, list_id: str) -> None:
    with pytest.raises(ApiClientError) as caught:
        client.lists.create_list_webhook(list_id, {"url": "http://127.0.0.1:9/nothing-listens"})
    assert "validation request" in str(problem(caught.value)["detail"])
