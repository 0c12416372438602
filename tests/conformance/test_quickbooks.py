"""The QuickBooks sandbox driven by python-quickbooks and Intuit's own OAuth client (intuitlib).

Neither library knows pairsync: they are pointed at the sandbox the way a user
would point them at any QuickBooks host (intuitlib takes a discovery-document
URL in place of an environment name; python-quickbooks' API URL is an
attribute). Every operation here is an ordinary one from the libraries'
READMEs: create, read, full update, query by field, count, batch, CDC.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from intuitlib.client import AuthClient
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import QuickbooksException, UnsupportedException, ValidationException
from quickbooks.objects.base import Address, EmailAddress, PhoneNumber, Ref, WebAddress
from quickbooks.objects.customer import Customer

from connectors.quickbooks.sandbox import QuickBooksSandbox
from connectors.quickbooks.sandbox.discovery import DISCOVERY_PATH
from engine.sandbox import SandboxServer


@pytest.fixture
def sandbox() -> QuickBooksSandbox:
    return QuickBooksSandbox()


@pytest.fixture
def server(sandbox: QuickBooksSandbox) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox) as running:
        yield running


@pytest.fixture
def qb(sandbox: QuickBooksSandbox, server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> QuickBooks:
    # oauthlib's documented switch for plain-HTTP hosts such as a loopback sandbox.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    auth = AuthClient(sandbox.client_id, sandbox.client_secret, "http://localhost/callback",
                      f"{server.base_url}{DISCOVERY_PATH}", refresh_token=sandbox.initial_refresh_token)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = QuickBooks(auth_client=auth, refresh_token=sandbox.initial_refresh_token,
                            company_id=sandbox.realm_id, minorversion=75)
    client.api_url_v3 = f"{server.base_url}/v3"
    return client


def _phone(number: str) -> PhoneNumber:
    phone = PhoneNumber()
    phone.FreeFormNumber = number
    return phone


def _full_customer(name: str) -> Customer:
    """A customer with the properties a client library sets, beyond the few pairsync's connector writes."""
    customer = Customer()
    customer.Title, customer.GivenName, customer.FamilyName, customer.Suffix = "Dr.", "Ada", name, "Jr."
    customer.CompanyName, customer.Notes, customer.ResaleNum = "Engines Ltd", "VIP", "R-42"
    customer.PreferredDeliveryMethod, customer.Taxable, customer.BillWithParent = "Email", False, False
    customer.PrimaryEmailAddr = EmailAddress()
    customer.PrimaryEmailAddr.Address = f"{name.lower()}@example.com"
    customer.Mobile, customer.Fax, customer.AlternatePhone = _phone("+1 555 0101"), _phone("+1 555 0102"), _phone(
        "+1 555 0103")
    customer.WebAddr = WebAddress()
    customer.WebAddr.URI = "https://engines.example.com"
    customer.ShipAddr = Address()
    customer.ShipAddr.Line1, customer.ShipAddr.City, customer.ShipAddr.PostalCode = "1 Dock Rd", "London", "E1"
    customer.BillAddr = Address()
    customer.BillAddr.Line1, customer.BillAddr.City = "12 St James's Sq", "London"
    return customer


def test_create_and_read_back_every_property_the_library_sets(qb: QuickBooks) -> None:
    saved = _full_customer("Lovelace").save(qb=qb)
    read = Customer.get(saved.Id, qb=qb)
    # Derived from Title GivenName MiddleName FamilyName Suffix, as the Customer reference says for DisplayName.
    assert read.DisplayName == "Dr. Ada Lovelace Jr." == read.FullyQualifiedName
    assert (read.Title, read.Suffix, read.CompanyName, read.ResaleNum) == ("Dr.", "Jr.", "Engines Ltd", "R-42")
    assert read.PreferredDeliveryMethod == "Email" and read.Taxable is False and read.Job is False
    assert read.Mobile.FreeFormNumber == "+1 555 0101" and read.Fax.FreeFormNumber == "+1 555 0102"
    assert read.AlternatePhone.FreeFormNumber == "+1 555 0103"
    assert read.WebAddr.URI == "https://engines.example.com"
    assert read.ShipAddr.City == "London" and read.ShipAddr.PostalCode == "E1"
    assert read.SyncToken == "0" and read.MetaData["CreateTime"]
    assert read.PrintOnCheckName == "Engines Ltd" and read.CurrencyRef.value == "USD"


def test_a_full_update_echoing_read_only_properties_is_accepted(qb: QuickBooks) -> None:
    saved = _full_customer("Hopper").save(qb=qb)
    read = Customer.get(saved.Id, qb=qb)  # carries MetaData, FullyQualifiedName, Level, IsProject, Balance...
    read.Notes = "Moved"
    read.Mobile = None
    updated = read.save(qb=qb)
    again = Customer.get(updated.Id, qb=qb)
    assert again.Notes == "Moved" and again.SyncToken == "1"
    assert again.Mobile is None, "a full update replaces the record: what it leaves out is cleared"


def test_stale_sync_token_is_fault_5010(qb: QuickBooks) -> None:
    saved = _full_customer("Turing").save(qb=qb)
    first, second = Customer.get(saved.Id, qb=qb), Customer.get(saved.Id, qb=qb)
    first.Notes = "one"
    first.save(qb=qb)
    second.Notes = "two"
    with pytest.raises(QuickbooksException) as raised:
        second.save(qb=qb)
    assert raised.value.error_code == 5010


def test_sub_customer_gets_its_hierarchy_computed(qb: QuickBooks) -> None:
    parent = _full_customer("Parent").save(qb=qb)
    child = Customer()
    child.DisplayName = "Kitchen remodel"
    child.ParentRef = Ref()
    child.ParentRef.value = parent.Id
    child.BillWithParent = True
    read = Customer.get(child.save(qb=qb).Id, qb=qb)
    assert read.Job is True and read.Level == 1
    assert read.FullyQualifiedName == f"{parent.DisplayName}:Kitchen remodel"


def test_unknown_property_is_refused_with_a_validation_fault(qb: QuickBooks) -> None:
    customer = _full_customer("Knuth")
    customer.FavouriteColour = "blue"
    with pytest.raises(ValidationException) as raised:
        customer.save(qb=qb)
    assert raised.value.error_code == 2010 and "FavouriteColour" in raised.value.detail


@pytest.mark.parametrize("field", ["DisplayName", "displayname", "DISPLAYNAME", "displayName"])
def test_query_property_names_match_in_any_letter_case(qb: QuickBooks, field: str) -> None:
    _full_customer("Liskov").save(qb=qb)
    found = Customer.filter(qb=qb, **{field: "Dr. Ada Liskov Jr."})
    assert [c.FamilyName for c in found] == ["Liskov"]


def test_nested_property_in_another_case_and_lower_case_keywords(qb: QuickBooks) -> None:
    _full_customer("Allen").save(qb=qb)
    answer = qb.query("select * from customer where primaryemailaddr.address = 'allen@example.com'")
    assert [c["FamilyName"] for c in answer["QueryResponse"]["Customer"]] == ["Allen"]


def test_query_of_an_unknown_property_is_refused(qb: QuickBooks) -> None:
    with pytest.raises(ValidationException) as raised:
        Customer.where("FavouriteColour = 'blue'", qb=qb)
    assert raised.value.error_code == 4001


def test_query_without_maxresults_returns_the_default_page_of_100(sandbox: QuickBooksSandbox, qb: QuickBooks) -> None:
    # "The default number of entities returned in a query response is 100" (Intuit, Query operations and syntax).
    sandbox.seed(120)
    answer = qb.query("SELECT * FROM Customer")["QueryResponse"]
    assert len(answer["Customer"]) == 100 and answer["maxResults"] == 100 and answer["startPosition"] == 1
    assert Customer.count(qb=qb) == 120
    rest = qb.query("SELECT * FROM Customer STARTPOSITION 101")["QueryResponse"]
    assert len(rest["Customer"]) == 20


def test_batch_create_and_cdc(qb: QuickBooks) -> None:
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds")
    results = batch_create([_full_customer("Backus"), _full_customer("Perlman")], qb=qb)
    assert not results.faults and len(results.successes) == 2
    changed = change_data_capture([Customer], since, qb=qb)
    assert {c.FamilyName for c in changed.Customer} == {"Backus", "Perlman"}


def test_unknown_path_is_a_fault_the_library_understands(qb: QuickBooks, server: SandboxServer) -> None:
    # The library turns codes 500-599 into UnsupportedException; plain text would be "Error reading json".
    with pytest.raises(UnsupportedException) as raised:
        qb.get(f"{server.base_url}/v3/company/{qb.company_id}/nosuchentity/1")
    assert raised.value.message == "Unsupported Operation"


def test_unknown_path_answers_xml_to_a_client_that_asks_for_xml(server: SandboxServer) -> None:
    answer = httpx.get(f"{server.base_url}/v3/company/1/nosuchentity", headers={"Accept": "application/xml"})
    assert answer.headers["content-type"].startswith("application/xml")
    assert "<IntuitResponse" in answer.text and 'code="500"' in answer.text and "Unsupported Operation" in answer.text


def test_customer_delete_operation_is_unsupported_not_an_update(qb: QuickBooks) -> None:
    # Customer has no delete in the API reference (make it inactive instead); a raw `?operation=delete`
    # must not be treated as an ordinary write.
    saved = _full_customer("Dijkstra").save(qb=qb)
    read = Customer.get(saved.Id, qb=qb)
    url = f"{qb.api_url}/company/{qb.company_id}/customer"
    with pytest.raises(UnsupportedException):
        qb.post(url, read.to_json(), params={"operation": "delete"})
    assert Customer.get(saved.Id, qb=qb).SyncToken == "0", "nothing was written"
