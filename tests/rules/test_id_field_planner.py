"""The planner's side of `id_field`: the right id flows into the left record, and the breaker ignores it."""

from __future__ import annotations

from engine.config.models import Breaker, Direction, FieldMapping
from engine.mapping import Mapper, build_entries
from engine.planner.model import Base, Link, Update
from engine.planner.plan import PlanInput, plan
from engine.records import Record
from engine.testing.memory import MEMORY_FIELDS

SCHEMAS = {"left": MEMORY_FIELDS, "right": MEMORY_FIELDS}


def test_writing_ids_into_every_linked_record_does_not_trip_the_breaker() -> None:
    entries = build_entries([FieldMapping(left="email", right="email")], Direction.LEFT_TO_RIGHT, {})
    mapper = Mapper(entries, SCHEMAS, id_field="custom.rid")
    assert mapper.id_key is not None
    lefts = {f"l{n}": Record(f"l{n}", {"email": f"{n}@x.io"}) for n in range(10)}
    rights = {f"r{n}": Record(f"r{n}", {"email": f"{n}@x.io"}) for n in range(10)}
    base = {n: {"email|email": f"{n}@x.io", mapper.id_key: None} for n in range(10)}
    links = [Link(f"l{n}", f"r{n}", Base(dict(base[n]), {**base[n], mapper.id_key: f"r{n}"})) for n in range(10)]
    result = plan(
        PlanInput(
            connection="c",
            mapper=mapper,
            changes={"left": {}, "right": {}},
            index={"left": lefts, "right": rights},
            links=links,
            direction=Direction.LEFT_TO_RIGHT,
            breaker=Breaker(max_share=0.1, min_records=1),
        )
    )
    assert result.blocked is None
    assert sorted((op.record_id, dict(op.fields)) for op in result.of(Update)) == sorted(
        (f"l{n}", {"custom.rid": f"r{n}"}) for n in range(10)
    )
