"""Tags are contact groups (labels): created on first use, a 409 looks the group up, membership read back."""

from __future__ import annotations

from collections.abc import Callable

from connectors.google_contacts import GoogleContactsConnector
from connectors.google_contacts.sandbox import GoogleContactsSandbox
from engine.records import WriteRequest

from .conftest import drive

Make = Callable[..., GoogleContactsConnector]
GROUPS = "v1/contactGroups"


def group_creations(sandbox: GoogleContactsSandbox) -> list[int]:
    return [e.status for e in sandbox.state.log if e.route == GROUPS and e.method == "POST"]


def test_tag_creates_the_label_on_first_use_only(sandbox: GoogleContactsSandbox, make_connector: Make) -> None:
    first = sandbox.add_record({"givenName": "Ada", "email": "ada@example.com"})
    second = sandbox.add_record({"givenName": "Grace", "email": "grace@example.com"})

    async def body(c: GoogleContactsConnector) -> None:
        await c.tag(first, "Customers")
        await c.tag(second, "Customers")
        await c.tag(second, "Customers")

    drive(make_connector(), body)
    assert group_creations(sandbox) == [200]
    assert sandbox.tags_of(first) == sandbox.tags_of(second) == {"Customers"}


def test_label_made_elsewhere_meanwhile_is_found_after_409(
    sandbox: GoogleContactsSandbox, make_connector: Make
) -> None:
    record_id = sandbox.add_record({"givenName": "Ada", "email": "ada@example.com"})
    sandbox.before_next_write(lambda: sandbox.create_group("Customers"))

    async def body(c: GoogleContactsConnector) -> None:
        await c.tag(record_id, "Customers")

    drive(make_connector(), body)
    assert group_creations(sandbox) == [409]
    assert sandbox.tags_of(record_id) == {"Customers"}


def test_labels_read_back_as_tags_and_system_groups_are_not_tags(
    sandbox: GoogleContactsSandbox, make_connector: Make
) -> None:
    record_id = sandbox.add_record({"givenName": "Ada", "email": "ada@example.com"})
    sandbox.create_group("Investors")

    async def body(c: GoogleContactsConnector) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        await c.tag(record_id, "Investors")
        await c.tag(record_id, "Board")
        listed = [r async for page in c.list() for r in page.records]
        await c.untag(record_id, "Investors")
        await c.untag(record_id, "Investors")
        await c.untag(record_id, "Never created")
        fetched = await c.get(record_id)
        assert fetched is not None
        return listed[0].tags, fetched.tags, frozenset(sandbox.store.contacts[record_id].groups)

    listed, after_untag, memberships = drive(make_connector(), body)
    assert listed == {"Investors", "Board"}
    assert after_untag == {"Board"}
    assert "contactGroups/myContacts" in memberships, "Google's own groups stay but are no tags"


def test_tag_changes_show_in_the_sync_feed(sandbox: GoogleContactsSandbox, make_connector: Make) -> None:
    record_id = sandbox.add_record({"givenName": "Ada", "email": "ada@example.com"})

    async def body(c: GoogleContactsConnector) -> frozenset[str]:
        cursor = [p async for p in c.list()][-1].cursor
        await c.tag(record_id, "VIP")
        [record] = [r async for page in c.list(cursor) for r in page.records]
        return record.tags

    assert drive(make_connector(), body) == {"VIP"}


def test_contacts_in_system_groups_only_are_read_and_created_without_listing_groups(
    sandbox: GoogleContactsSandbox, make_connector: Make
) -> None:
    """Every new contact is in myContacts, a system group whose resource name is fixed: reading its tags needs
    no group listing, which on an initial sync would squeeze into the write quota between two batches."""
    sandbox.add_record({"givenName": "Ada", "email": "ada@example.com"})

    async def body(c: GoogleContactsConnector) -> list[frozenset[str]]:
        listed = [r.tags async for page in c.list() for r in page.records]
        written = await c.upsert([WriteRequest(key="k1", id=None, fields={"givenName": "Grace"}),
                                  WriteRequest(key="k2", id=None, fields={"givenName": "Alan"})])
        return listed + [w.record.tags for w in written if w.record is not None]

    assert drive(make_connector(), body) == [frozenset()] * 3
    assert [e.route for e in sandbox.state.log if e.route == GROUPS] == []
