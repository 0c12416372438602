"""Two-way convergence: with edits on both sides between and during runs, the sides end up agreeing."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from bench.harness import Pair, SideKnobs
from tests.reliability.helpers import duplicates, seed_two_way

RECORDS = 80
ROUNDS = 4
RACER = {"givenName": "Racer"}  # written into a contact just before the engine's next write to it


def edit_some(pair: Pair, rng: random.Random, count: int) -> None:
    """Outside edits on both sides: phones on Stripe, given names and phones on Google."""
    stripe_ids = [r["id"] for r in pair.stripe.records()]
    google_ids = [r["id"] for r in pair.google.records()]
    for _ in range(count):
        pair.stripe.update_record(rng.choice(stripe_ids), {"phone": f"+1555{rng.randrange(10**7):07d}"})
        pair.google.update_record(rng.choice(google_ids), {"givenName": f"Given{rng.randrange(1000)}"})
        pair.google.update_record(rng.choice(google_ids), {"phone": f"+1555{rng.randrange(10**7):07d}"})


def mismatches(pair: Pair) -> dict[str, tuple[object, object]]:
    """Linked-by-email people whose mapped fields differ between the sides."""
    google = {r["email"]: r for r in pair.google.records()}
    found: dict[str, tuple[object, object]] = {}
    for customer in pair.stripe.records():
        contact = google.get(customer["email"])
        if contact is None:
            found[customer["email"]] = (customer, None)
            continue
        full_name = " ".join(p for p in (contact.get("givenName"), contact.get("familyName")) if p)
        if (customer.get("phone"), customer.get("name")) != (contact.get("phone"), full_name):
            stripe_side = (customer.get("phone"), customer.get("name"))
            found[customer["email"]] = (stripe_side, (contact.get("phone"), full_name))
    return found


def test_edits_between_and_during_runs_converge(tmp_path: Path) -> None:
    rng = random.Random(80)
    with Pair(tmp_path, SideKnobs(latency_ms=3), SideKnobs(latency_ms=3)) as pair:
        seed_two_way(pair, RECORDS)
        loaded = pair.load()
        store = pair.store(loaded)
        assert pair.run(loaded, store).status == "ok"
        for _ in range(ROUNDS):
            edit_some(pair, rng, 5)  # between runs
            during = threading.Thread(target=edit_some, args=(pair, random.Random(rng.random()), 5))
            google_ids = [r["id"] for r in pair.google.records()]
            target = rng.choice(google_ids)
            pair.google.before_next_write(lambda target=target: pair.google.update_record(target, RACER))
            during.start()
            report = pair.run(loaded, store)
            during.join()
            assert report.status in ("ok", "failed"), report.summary()
        quiet = [pair.run(loaded, store).summary() for _ in range(3)]
        assert quiet[-1]["status"] == "ok"
        assert quiet[-1]["updated"] == {"left": 0, "right": 0}, "the sides still disagree after quiet runs"
        assert duplicates([(r["email"],) for r in pair.stripe.records()]) == {}
        assert duplicates([(r["email"],) for r in pair.google.records()]) == {}
        assert mismatches(pair) == {}
