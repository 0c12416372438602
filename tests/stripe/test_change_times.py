"""`conflict: newest` between Stripe and Google Contacts, end to end on the sandboxes.

A Stripe customer carries no modification time. Its change time is the
`created` of the newest event in Stripe's change feed naming it; a full
listing has none, and then the documented tie-break (the left side wins)
decides, said in `validate` and in the plan.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness import Pair
from engine.planner.model import Conflict
from engine.runner import Report

EMAIL = "b0@example.com"


def linked_pair(folder: Path) -> tuple[Pair, object, object]:
    """A started pair holding one person on both sides, linked by a first run."""
    pair = Pair(folder).start()
    pair.stripe.add_record({"name": "Both Person0", "email": EMAIL})
    pair.google.add_record({"givenName": "Both", "familyName": "Person0", "email": EMAIL})
    loaded = pair.load()
    store = pair.store(loaded)
    first = pair.run(loaded, store)
    assert first.status == "ok" and first.summary()["linked"]["new"] == 1, first.summary()
    return pair, loaded, store


def edit_both(pair: Pair, stripe_first: bool) -> None:
    """The name edited in each app, one after the other.

    Stripe's event times are whole seconds, rounded down, so a Stripe edit made
    first is always older than the Google edit after it; the other way round
    the Stripe account's clock moves a minute ahead first.
    """
    [customer] = pair.stripe.records()
    [contact] = pair.google.records()
    if stripe_first:
        pair.stripe.update_record(customer["id"], {"name": "Stella Person0"})
        pair.google.update_record(contact["id"], {"givenName": "Gina"})
    else:
        pair.google.update_record(contact["id"], {"givenName": "Gina"})
        pair.stripe.advance_clock(60)  # a minute after the Google edit
        pair.stripe.update_record(customer["id"], {"name": "Stella Person0"})


def names(pair: Pair) -> tuple[str, str]:
    [customer] = pair.stripe.records()
    [contact] = pair.google.records()
    return customer["name"], f"{contact['givenName']} {contact['familyName']}"


@pytest.mark.parametrize(
    ("stripe_first", "winner"),
    [
        pytest.param(False, "Stella Person0", id="edited in Google, then in Stripe: Stripe's value wins"),
        pytest.param(True, "Gina Person0", id="edited in Stripe, then in Google: Google's value wins"),
    ],
)
def test_the_edit_made_last_wins_whichever_app_it_was_made_in(
    tmp_path: Path, stripe_first: bool, winner: str
) -> None:
    pair, loaded, store = linked_pair(tmp_path)
    try:
        edit_both(pair, stripe_first)
        report: Report = pair.run(loaded, store)  # type: ignore[arg-type]
        assert report.status == "ok", report.summary()
        [conflict] = report.plan.of(Conflict)
        assert conflict.rule == "newest change wins"
        assert names(pair) == (winner, winner)
    finally:
        pair.stop()


def test_a_full_read_cannot_time_stripe_changes_so_the_tie_break_decides_and_says_so(tmp_path: Path) -> None:
    pair, loaded, store = linked_pair(tmp_path)
    try:
        edit_both(pair, stripe_first=True)  # Google's edit is newer, but a full listing cannot tell
        report: Report = pair.run(loaded, store, full=True)  # type: ignore[arg-type]
        assert report.status == "ok", report.summary()
        [conflict] = report.plan.of(Conflict)
        assert conflict.winner == "left"
        assert "the left side cannot tell when it changed: left wins" in conflict.rule
        assert names(pair) == ("Stella Person0", "Stella Person0")
        [warning] = [w for w in report.warnings if "cannot tell when a record changed" in w]
        assert "stripe" in warning and "the left side wins" in warning and "conflict: left" in warning
    finally:
        pair.stop()


def test_an_incremental_stripe_read_carries_the_change_time_of_its_newest_event(tmp_path: Path) -> None:
    pair, loaded, store = linked_pair(tmp_path)
    try:
        [customer] = pair.stripe.records()
        pair.stripe.advance_clock(3600)
        pair.stripe.update_record(customer["id"], {"phone": "+15550100"})
        event_time = pair.stripe.store.now()
        assert pair.run(loaded, store).status == "ok"
        [seen] = [r for r in store.seen("stripe-google", "left").values() if r.id == customer["id"]]
        assert seen.updated is not None and int(seen.updated.timestamp()) == event_time, "kept in the record index"
    finally:
        pair.stop()
