"""The planner, case by case: what each side holds, the links and the base in; operations out.

The planner does no I/O, so these tests build its input by hand and read its plan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest

from engine.config.models import Action, Breaker, Deletions, Direction, FieldMapping, Mode, Unsubscribes
from engine.mapping import Mapper, build_entries
from engine.planner.model import DELETED, Base, Conflict, Create, Link, LinkOnly, Plan, Skip, Tag, Update
from engine.planner.plan import PlanInput, plan
from engine.records import Record
from engine.testing.memory import MEMORY_FIELDS

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EMAIL = "email|email"
NAME = "name|name"
PHONE = "phone|phone"


def mapper(*extra: FieldMapping) -> Mapper:
    entries = [
        FieldMapping(left="email", right="email"),
        FieldMapping(left="name", right="name"),
        FieldMapping(left="phone", right="phone"),
        *extra,
    ]
    return Mapper(build_entries(entries, Direction.TWO_WAY, {}), {"left": MEMORY_FIELDS, "right": MEMORY_FIELDS})


def rec(record_id: str, minutes: int | None = 0, **fields: Any) -> Record:
    """A record changed `minutes` after T0 (None: its app cannot tell when it changed)."""
    deleted = fields.pop("deleted", False)
    tags = frozenset(fields.pop("tags", ()))
    unsubscribed = fields.pop("unsubscribed", False)
    return Record(
        record_id,
        fields,
        updated=None if minutes is None else T0 + timedelta(minutes=minutes),
        deleted=deleted,
        tags=tags,
        unsubscribed=unsubscribed,
    )


def synced(left_id: str, right_id: str, **values: Any) -> Link:
    """A link whose base says both sides last held `values` (keyed by field name)."""
    base = {f"{k}|{k}": v for k, v in values.items()}
    return Link(left_id, right_id, Base(dict(base), dict(base)))


def run_plan(left: list[Record], right: list[Record], links: list[Link] | None = None, **options: Any) -> Plan:
    keys = count(1)
    data = PlanInput(
        connection="test",
        mapper=options.pop("mapper", mapper()),
        changes={"left": {r.id: r for r in left}, "right": {r.id: r for r in right}},
        index={"left": {r.id: r for r in left}, "right": {r.id: r for r in right}},
        links=links or [],
        new_key=lambda: f"k{next(keys)}",
        **options,
    )
    return plan(data)


def writes(result: Plan) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Creates and updates as (kind, side, record or source id, fields): easy to compare in a table."""
    out = []
    for op in result.operations:
        if isinstance(op, Create):
            out.append(("create", op.side, op.source_id, dict(op.fields)))
        elif isinstance(op, Update):
            out.append(("update", op.side, op.record_id, dict(op.fields)))
    return out


CASES = [
    pytest.param(
        [rec("L1", email="ada@example.com", name="Ada")],
        [],
        [],
        [("create", "right", "L1", {"email": "ada@example.com", "name": "Ada"})],
        id="a record only on the left is created on the right",
    ),
    pytest.param(
        [],
        [rec("R1", email="ada@example.com", name="Ada")],
        [],
        [("create", "left", "R1", {"email": "ada@example.com", "name": "Ada"})],
        id="a record only on the right is created on the left",
    ),
    pytest.param(
        [rec("L1", email=" ada@example.com ", name="Ada")],
        [rec("R1", email="ada@example.com", name="Ada")],
        [],
        [],
        id="values are compared trimmed: equal values need no write",
    ),
    pytest.param(
        [rec("L1", email="Ada@Example.COM", name="Ada")],
        [rec("R1", email="ada@example.com", phone="+1")],
        [],
        [
            ("update", "left", "L1", {"phone": "+1"}),
            ("update", "right", "R1", {"name": "Ada", "email": "Ada@Example.COM"}),
        ],
        id="matching is case-insensitive; when times tie the left value is kept",
    ),
    pytest.param(
        [rec("L1", email="ada@example.com", name="Ada")],
        [rec("R1", email="ada@example.com", phone="+1555")],
        [],
        [("update", "left", "L1", {"phone": "+1555"}), ("update", "right", "R1", {"name": "Ada"})],
        id="a new link fills each side's empty fields from the other",
    ),
    pytest.param(
        [rec("L1", email="ada@example.com", name="Ada King")],
        [rec("R1", email="ada@example.com", name="Ada")],
        [synced("L1", "R1", email="ada@example.com", name="Ada")],
        [("update", "right", "R1", {"name": "Ada King"})],
        id="a field changed on the left flows right",
    ),
    pytest.param(
        [rec("L1", email="ada@example.com", name="Ada")],
        [rec("R1", email="ada@example.com", name="Ada K")],
        [synced("L1", "R1", email="ada@example.com", name="Ada")],
        [("update", "left", "L1", {"name": "Ada K"})],
        id="a field changed on the right flows left",
    ),
    pytest.param(
        [rec("L1", email="ada@example.com", name="Ada")],
        [rec("R1", email="ada@example.com", name="Ada")],
        [synced("L1", "R1", email="ada@example.com", name="Ada")],
        [],
        id="nothing changed since the base: nothing to write (echo suppression)",
    ),
    pytest.param(
        [rec("L1", 5, email="ada@example.com", name="Left")],
        [rec("R1", 9, email="ada@example.com", name="Right")],
        [synced("L1", "R1", email="ada@example.com", name="Ada")],
        [("update", "left", "L1", {"name": "Right"})],
        id="changed on both sides: the newest change wins",
    ),
    pytest.param(
        [rec("L1", email="ada@example.com", name="Ada"), rec("L2", email="ADA@example.com", name="Ada 2")],
        [rec("R1", email="ada@example.com")],
        [],
        [],
        id="two left records share an email: skipped, nothing created or linked",
    ),
]


@pytest.mark.parametrize(("left", "right", "links", "expected"), CASES)
def test_two_way_cases(left: list[Record], right: list[Record], links: list[Link], expected: list[Any]) -> None:
    assert sorted(writes(run_plan(left, right, links)), key=str) == sorted(expected, key=str)


@pytest.mark.parametrize(
    ("conflict", "winner_value"),
    [("left", "Left"), ("right", "Right"), ("newest", "Right")],
)
def test_conflict_rule_chooses_the_winner_and_keeps_the_loser(conflict: str, winner_value: str) -> None:
    link = synced("L1", "R1", email="ada@example.com", name="Ada")
    result = run_plan(
        [rec("L1", 5, email="ada@example.com", name="Left")],
        [rec("R1", 9, email="ada@example.com", name="Right")],
        [link],
        conflict=conflict,
    )
    [found] = result.of(Conflict)
    assert found.value == winner_value
    assert found.losing_value == ({"Left", "Right"} - {winner_value}).pop()


@pytest.mark.parametrize(
    ("left_minutes", "right_minutes", "winner", "rule"),
    [
        pytest.param(9, 5, "left", "newest change wins", id="left changed last: left wins"),
        pytest.param(5, 9, "right", "newest change wins", id="right changed last: right wins"),
        pytest.param(7, 7, "left", "both changed at the same time: left wins", id="same time: the tie-break"),
        pytest.param(
            None, 9, "left", "the left side cannot tell when it changed: left wins", id="left untimed: the tie-break"
        ),
        pytest.param(
            9, None, "left", "the right side cannot tell when it changed: left wins", id="right untimed: the tie-break"
        ),
        pytest.param(None, None, "left", "the left and right side cannot tell", id="both untimed: the tie-break"),
    ],
)
def test_newest_change_wins_in_either_order_and_ties_go_to_the_documented_side(
    left_minutes: int | None, right_minutes: int | None, winner: str, rule: str
) -> None:
    link = synced("L1", "R1", email="ada@example.com", name="Ada")
    result = run_plan(
        [rec("L1", left_minutes, email="ada@example.com", name="Left")],
        [rec("R1", right_minutes, email="ada@example.com", name="Right")],
        [link],
        conflict="newest",
    )
    [found] = result.of(Conflict)
    assert (found.winner, found.value) == (winner, winner.title())
    assert rule in found.rule, "the plan says which rule chose the winner"
    loser = "right" if winner == "left" else "left"
    assert writes(result) == [("update", loser, link.id_of(loser), {"name": winner.title()})]


@pytest.mark.parametrize(
    ("direction", "expected_sides"),
    [(Direction.TWO_WAY, {"left", "right"}), (Direction.LEFT_TO_RIGHT, {"right"}), (Direction.RIGHT_TO_LEFT, {"left"})],
)
def test_direction_limits_which_side_is_written(direction: Direction, expected_sides: set[str]) -> None:
    left = [rec("L1", email="a@example.com", name="A"), rec("L2", email="ada@example.com", name="Ada King")]
    right = [rec("R9", email="b@example.com", name="B"), rec("R1", email="ada@example.com", name="Ada K")]
    link = synced("L2", "R1", email="ada@example.com", name="Ada")
    result = run_plan(
        left,
        right,
        [link],
        direction=direction,
        mapper=Mapper(
            build_entries(
                [FieldMapping(left="email", right="email"), FieldMapping(left="name", right="name")], direction, {}
            ),
            {"left": MEMORY_FIELDS, "right": MEMORY_FIELDS},
        ),
    )
    assert {side for _, side, _, _ in writes(result)} == expected_sides


def test_one_way_conflict_keeps_the_source_value() -> None:
    link = synced("L1", "R1", email="ada@example.com", name="Ada")
    entries = build_entries([FieldMapping(left="name", right="name")], Direction.LEFT_TO_RIGHT, {})
    result = run_plan(
        [rec("L1", 1, email="ada@example.com", name="Left")],
        [rec("R1", 9, email="ada@example.com", name="Right")],
        [link],
        direction=Direction.LEFT_TO_RIGHT,
        mapper=Mapper(entries, {"left": MEMORY_FIELDS, "right": MEMORY_FIELDS}),
    )
    assert writes(result) == [("update", "right", "R1", {"name": "Left"})]


def test_per_field_direction_overrides_the_connection() -> None:
    custom = mapper(FieldMapping(left="company", right="company", direction=Direction.RIGHT_TO_LEFT))
    link = synced("L1", "R1", email="ada@example.com", company="Old")
    result = run_plan(
        [rec("L1", email="ada@example.com", company="Left Co")],
        [rec("R1", email="ada@example.com", company="Old")],
        [link],
        mapper=custom,
    )
    assert writes(result) == [], "a right-to-left field never flows left-to-right"


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        ({"left": Mode.CREATE_AND_UPDATE, "right": Mode.CREATE_ONLY}, {("create", "right")}),
        ({"left": Mode.CREATE_AND_UPDATE, "right": Mode.UPDATE_ONLY}, {("update", "right")}),
        ({"left": Mode.CREATE_AND_UPDATE, "right": Mode.CREATE_AND_UPDATE}, {("create", "right"), ("update", "right")}),
    ],
)
def test_modes(modes: dict[str, Mode], expected: set[tuple[str, str]]) -> None:
    left = [rec("L1", email="new@example.com", name="New"), rec("L2", email="ada@example.com", name="Ada King")]
    right = [rec("R1", email="ada@example.com", name="Ada")]
    result = run_plan(left, right, [synced("L2", "R1", email="ada@example.com", name="Ada")], modes=modes)
    assert {(kind, side) for kind, side, _, _ in writes(result)} == expected


def test_on_duplicate_link_oldest_links_the_oldest_candidate() -> None:
    right = [
        rec("R2", email="ada@example.com", created="2024-05-01"),
        rec("R1", email="ada@example.com", created="2020-01-01"),
    ]
    result = run_plan([rec("L1", email="ada@example.com")], right, on_duplicate="link_oldest")
    [link] = [op for op in result.of(LinkOnly) if op.new]
    assert link.link.right_id == "R1"


def test_duplicates_are_skipped_with_the_reason() -> None:
    right = [rec("R1", email="ada@example.com"), rec("R2", email="ada@example.com")]
    result = run_plan([rec("L1", email="ada@example.com")], right)
    reasons = [skip.reason for skip in result.of(Skip)]
    assert {skip.record_id for skip in result.of(Skip)} == {"L1", "R1", "R2"}
    assert all("R1, R2" in reason and "on_duplicate: skip" in reason for reason in reasons)
    assert not result.of(Create)
    assert not [op for op in result.of(LinkOnly) if op.new]


def test_filters_leave_records_out_with_their_reason() -> None:
    result = run_plan(
        [rec("L1", email="ada@example.com")],
        [],
        filters={"left": lambda record, exists, now: "IF left: name not_empty does not match"},
    )
    assert result.of(Skip) == [Skip("left", "L1", "IF left: name not_empty does not match")]
    assert not result.of(Create)


def test_a_deleted_record_tags_the_linked_record_once() -> None:
    link = synced("L1", "R1", email="ada@example.com")
    result = run_plan(
        [rec("L1", email="ada@example.com", deleted=True)],
        [rec("R1", email="ada@example.com")],
        [link],
        deletions=Deletions(),
    )
    [tag] = result.of(Tag)
    assert (tag.side, tag.record_id, tag.tag, tag.add) == ("right", "R1", "pairsync Trash", True)
    assert tag.base is not None and tag.base.left[DELETED] is True
    marked = Link("L1", "R1", tag.base)
    again = run_plan(
        [rec("L1", email="ada@example.com", deleted=True)],
        [rec("R1", email="ada@example.com")],
        [marked],
        deletions=Deletions(),
    )
    assert not again.of(Tag), "a deletion already tagged is not tagged again"


def test_a_record_missing_from_a_complete_listing_counts_as_deleted() -> None:
    links = [synced(f"L{i}", f"R{i}", email=f"p{i}@example.com") for i in range(10)]
    left = [rec(f"L{i}", email=f"p{i}@example.com") for i in range(1, 10)]  # L0 is gone
    result = run_plan(left, [], links, complete={"left": True, "right": False}, deletions=Deletions())
    assert [(t.side, t.record_id) for t in result.of(Tag)] == [("right", "R0")]


def test_deletions_are_not_inferred_from_an_incomplete_listing() -> None:
    links = [synced("L0", "R0", email="p0@example.com")]
    result = run_plan([], [], links, complete={"left": False, "right": False}, deletions=Deletions())
    assert not result.of(Tag)


def test_deletion_tags_are_skipped_with_a_reason_where_the_other_side_has_no_tags() -> None:
    link = synced("L1", "R1", email="ada@example.com")
    result = run_plan(
        [rec("L1", deleted=True)],
        [rec("R1", email="ada@example.com")],
        [link],
        deletions=Deletions(),
        tags_supported={"left": True, "right": False},
    )
    [skip] = result.of(Skip)
    assert "cannot take tags" in skip.reason
    assert not result.of(Tag)


def test_an_unsubscribe_becomes_the_unsubscribe_tag() -> None:
    link = synced("L1", "R1", email="ada@example.com")
    result = run_plan(
        [rec("L1", email="ada@example.com", unsubscribed=True)],
        [rec("R1", email="ada@example.com")],
        [link],
        unsubscribes=Unsubscribes(),
    )
    assert [(t.side, t.tag) for t in result.of(Tag)] == [("right", "pairsync Unsubscribes")]
    tagged = run_plan(
        [rec("L1", email="ada@example.com", unsubscribed=True)],
        [rec("R1", email="ada@example.com", tags={"pairsync Unsubscribes"})],
        [link],
        unsubscribes=Unsubscribes(),
    )
    assert not tagged.of(Tag), "already tagged: nothing to do"


def test_then_actions_apply_when_writing_into_a_side() -> None:
    actions = {"right": [Action(add_tag="from-crm"), Action(set_field="description", value="synced by pairsync")]}
    result = run_plan([rec("L1", email="ada@example.com")], [], actions=actions)
    [create] = result.of(Create)
    assert create.fields["description"] == "synced by pairsync"
    assert create.tags == ("from-crm",)


@pytest.mark.parametrize(
    ("changed", "linked", "blocked"),
    [(3, 10, False), (6, 10, True), (10, 100, False), (60, 100, True)],
)
def test_the_breaker_stops_mass_changes(changed: int, linked: int, blocked: bool) -> None:
    links = [synced(f"L{i}", f"R{i}", email=f"p{i}@example.com", name="Old") for i in range(linked)]
    left = [rec(f"L{i}", email=f"p{i}@example.com", name="New" if i < changed else "Old") for i in range(linked)]
    right = [rec(f"R{i}", email=f"p{i}@example.com", name="Old") for i in range(linked)]
    result = run_plan(left, right, links, breaker=Breaker(max_share=0.5, min_records=5))
    assert (result.blocked is not None) == blocked
    forced = run_plan(left, right, links, breaker=Breaker(max_share=0.5, min_records=5), force=True)
    assert forced.blocked is None


def test_an_empty_side_never_causes_mass_tagging() -> None:
    links = [synced(f"L{i}", f"R{i}", email=f"p{i}@example.com") for i in range(3)]
    right = [rec(f"R{i}", email=f"p{i}@example.com") for i in range(3)]
    result = run_plan([], right, links, complete={"left": True, "right": True}, deletions=Deletions())
    assert result.blocked is not None
    assert "came back empty" in result.blocked


def test_a_pending_create_reuses_its_journal_key() -> None:
    result = run_plan([rec("L1", email="ada@example.com")], [], pending={("right", "create", "L1"): "journal-key-7"})
    [create] = result.of(Create)
    assert create.key == "journal-key-7"


def test_a_pending_create_that_landed_is_linked_not_created_again() -> None:
    pending = {("right", "create", "L1"): "journal-key-7"}
    result = run_plan([rec("L1", email="ada@example.com")], [rec("R1", email="ada@example.com")], pending=pending)
    assert not result.of(Create)
    [link] = result.of(LinkOnly)
    assert link.settles == ("journal-key-7",)


def test_the_update_carries_old_values_for_the_plan_table() -> None:
    link = synced("L1", "R1", email="ada@example.com", name="Ada")
    result = run_plan(
        [rec("L1", email="ada@example.com", name="Ada King")], [rec("R1", email="ada@example.com", name="Ada")], [link]
    )
    [update] = result.of(Update)
    assert update.old == {"name": "Ada"}
    assert update.keys == (NAME,)


def test_name_split_and_join_between_a_full_name_and_first_and_last() -> None:
    names = Mapper(
        build_entries(
            [FieldMapping(left="email", right="email"), FieldMapping(left="name", right=["first_name", "last_name"])],
            Direction.TWO_WAY,
            {},
        ),
        {"left": MEMORY_FIELDS, "right": MEMORY_FIELDS},
    )
    created = run_plan([rec("L1", email="l@example.com", name="Ludwig van Beethoven")], [], mapper=names)
    assert created.of(Create)[0].fields == {
        "email": "l@example.com",
        "first_name": "Ludwig",
        "last_name": "van Beethoven",
    }
    key = "name|first_name+last_name"
    base = Base(
        {EMAIL: "ada@example.com", key: ["Ada", "Lovelace"]}, {EMAIL: "ada@example.com", key: ["Ada", "Lovelace"]}
    )
    result = run_plan(
        [rec("L1", email="ada@example.com", name="Dr. Ada Lovelace Jr.")],
        [rec("R1", email="ada@example.com", first_name="Ada", last_name="King")],
        [Link("L1", "R1", base)],
        mapper=names,
    )
    assert writes(result) == [("update", "left", "L1", {"name": "Dr. Ada King Jr."})], (
        "only the last name changes; title and suffix stay"
    )


SENT = Create("right", "L1", {"email": "ada@example.com", "name": "Ada"}, Base({}, {}), "sent-key")


@pytest.mark.parametrize(
    ("read", "sent_from", "key"),
    [
        pytest.param(rec("L1", email="ada@example.com", name="Ada"), None, "sent-key", id="same record: taken as sent"),
        pytest.param(
            rec("L1", email="ada@example.com", name="Ada Lovelace"),
            rec("L1", email="ada@example.com", name="Ada"),
            "k1",
            id="record changed since it was sent: planned again",
        ),
    ],
)
def test_a_create_sent_before_the_plan_is_taken_for_the_same_record(
    read: Record, sent_from: Record | None, key: str
) -> None:
    """The whole plan made after early creates (engine/planner/stream.py) takes each one as it was sent when it
    would create from the same record, instead of mapping the record again; a record read differently since is
    planned afresh (and `merge` warns that the sent create differs)."""
    early = {("right", "L1"): (sent_from or read, SENT)}
    [op] = run_plan([read], [], early=early).operations
    assert isinstance(op, Create) and (op.key, op.fields["name"]) == (key, read.fields["name"])
