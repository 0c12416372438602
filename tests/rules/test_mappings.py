"""Field mappings: the default pair files, a connection's own entries, validation, JSONPath fields."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from engine.cli import app
from engine.config import ConfigError, load_config
from engine.config.models import Direction, FieldMapping
from engine.mapping import Mapper, build_entries, check_entries, default_mappings, merge_entries
from engine.plugins import registry
from engine.records import Record
from engine.testing.memory import MEMORY_FIELDS

PLUGINS = registry()
APPS = ("stripe", "quickbooks", "google_contacts", "mailchimp")
SETTINGS: dict[str, dict[str, Any]] = {
    "stripe": {"api_key": "${STRIPE_KEY}"},
    "quickbooks": {"client_id": "id", "client_secret": "s", "refresh_token": "t", "realm_id": "1"},
    "google_contacts": {"client_id": "id", "client_secret": "s", "refresh_token": "t"},
    "mailchimp": {"api_key": "k-us1", "list_id": "a1"},
    "memory": {},
}


@pytest.mark.parametrize(("left", "right"), list(permutations(APPS, 2)))
def test_default_pair_file_loads_and_validates_in_either_order(left: str, right: str) -> None:
    schemas = {"left": PLUGINS.connector(left).schema, "right": PLUGINS.connector(right).schema}
    entries = default_mappings(left, right, schemas)
    assert check_entries(entries, schemas, {"left": left, "right": right}, PLUGINS.transforms) == []
    mapped = {f for e in entries for f in ([e.left] if isinstance(e.left, str) else e.left)}
    assert mapped & {"email", "PrimaryEmailAddr.Address"}, "every pair maps the email address"


def test_pair_files_on_disk_are_the_six_pairs() -> None:
    folder = Path(__file__).parents[2] / "mappings"
    assert sorted(p.name for p in folder.glob("*.yaml")) == [
        "mailchimp__google_contacts.yaml",
        "quickbooks__google_contacts.yaml",
        "quickbooks__mailchimp.yaml",
        "stripe__google_contacts.yaml",
        "stripe__mailchimp.yaml",
        "stripe__quickbooks.yaml",
    ]


def test_swapped_pair_file_swaps_one_way_directions(tmp_path: Path) -> None:
    (tmp_path / "alpha__beta.yaml").write_text(
        yaml.safe_dump({"fields": [{"left": "name", "right": "email", "direction": "left-to-right"}]})
    )
    schemas = {"left": MEMORY_FIELDS, "right": MEMORY_FIELDS}
    [entry] = default_mappings("beta", "alpha", schemas, [tmp_path])
    assert (entry.left, entry.right, entry.direction) == ("email", "name", Direction.RIGHT_TO_LEFT)


def test_without_a_pair_file_the_shared_writable_fields_map() -> None:
    entries = default_mappings("memory", "memory", {"left": MEMORY_FIELDS, "right": MEMORY_FIELDS})
    assert [e.left for e in entries] == ["email", "name", "first_name", "last_name", "phone", "company", "description"]


def test_own_entries_override_defaults_that_map_the_same_field_and_add_the_rest() -> None:
    defaults = [FieldMapping(left="email", right="email"), FieldMapping(left="name", right=["first_name", "last_name"])]
    own = [FieldMapping(left="name", right="name", transform="upper"), FieldMapping(left="custom.a", right="custom.b")]
    merged = merge_entries(defaults, own)
    assert [(e.left, e.right) for e in merged] == [("email", "email"), ("name", "name"), ("custom.a", "custom.b")]


def mapper(*items: FieldMapping) -> Mapper:
    return Mapper(
        build_entries(items, Direction.TWO_WAY, PLUGINS.transforms), {"left": MEMORY_FIELDS, "right": MEMORY_FIELDS}
    )


def test_jsonpath_fields_read_nested_values_and_are_never_written() -> None:
    m = mapper(
        FieldMapping(left="custom.plans$[*].name", right="custom.plan_names", transform="join"),
        FieldMapping(left="custom.settings$.tier", right="company"),
    )
    record = Record("l1", {"custom.plans": [{"name": "Pro"}, {"name": "Team"}], "custom.settings": '{"tier": "gold"}'})
    assert m.project("left", record) == {
        "custom.plans$[*].name|custom.plan_names": "Pro, Team",
        "custom.settings$.tier|company": "gold",
    }
    assert [m.can_write(key, "left", Direction.TWO_WAY) for key in m.by_key] == [False, False]
    assert [m.can_write(key, "right", Direction.TWO_WAY) for key in m.by_key] == [True, True]


def test_a_transform_that_raises_leaves_the_value_alone() -> None:
    def broken(_value: Any) -> Any:
        raise RuntimeError("boom")

    entries = build_entries(
        [FieldMapping(left="email", right="email", transform="broken")], Direction.TWO_WAY, {"broken": broken}
    )
    m = Mapper(entries, {"left": MEMORY_FIELDS, "right": MEMORY_FIELDS})
    assert m.project("left", Record("l1", {"email": "a@x.io"})) == {"email|email": "a@x.io"}


def write_config(tmp_path: Path, connection: dict[str, Any], left: str = "memory", right: str = "memory") -> Path:
    data = {
        "accounts": {
            "a": {"connector": left, "settings": SETTINGS[left]},
            "b": {"connector": right, "settings": SETTINGS[right]},
        },
        "connections": [{"name": "c", "left": "a", "right": "b", **connection}],
    }
    path = tmp_path / "pairsync.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("connection", "message"),
    [
        (
            {"mapping": {"fields": [{"left": "nmae", "right": "name"}]}},
            "memory has no field 'nmae'; did you mean `name`?; its fields: email, name, first_name",
        ),
        (
            {"mapping": {"fields": [{"left": "name", "right": "name", "transform": "uper"}]}},
            "no transform named 'uper'",
        ),
        (
            {"mapping": {"fields": [{"left": ["first_name", "last_name"], "right": ["first_name", "last_name"]}]}},
            "map fields that match one to one in entries of their own",
        ),
        ({"mapping": {"fields": [{"left": "custom.x$[[", "right": "name"}]}}, "does not parse"),
        ({"if": {"left": {"field": "compnay", "op": "equals", "value": "x"}}}, "memory has no field 'compnay'"),
        ({"if": {"right": {"field": "company", "op": "equalz", "value": "x"}}}, "unknown operator 'equalz'"),
        ({"then": {"right": [{"set_field": "created", "value": "x"}]}}, "no writable field 'created'"),
        ({"id_field": "created"}, "no writable field 'created'"),
    ],
)
def test_validation_errors_name_the_problem(tmp_path: Path, connection: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, connection))
    assert message in str(caught.value)


def test_custom_fields_of_every_app_validate(tmp_path: Path) -> None:
    fields = [
        {"left": "metadata.product", "right": "userDefined.product"},
        {"left": "plans$[*].product_name", "right": "userDefined.plans", "transform": "join"},
    ]
    path = write_config(
        tmp_path, {"direction": "left-to-right", "mapping": {"fields": fields}}, "stripe", "google_contacts"
    )
    loaded = load_config(path, environ={"STRIPE_KEY": "sk_test_x"})
    assert loaded.config.connections[0].mapping.fields[0].left == "metadata.product"


def test_validate_says_when_neither_side_reports_unsubscribes(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"direction": "left-to-right"}, "stripe", "quickbooks")
    result = CliRunner().invoke(app, ["validate", str(path)], env={"STRIPE_KEY": "sk_test_secret_value"})
    assert result.exit_code == 0, result.output
    assert "reports unsubscribes" in result.output
    assert "sk_test_secret_value" not in result.output


def test_validate_is_quiet_about_unsubscribes_when_a_side_reports_them(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(write_config(tmp_path, {}))])
    assert result.exit_code == 0, result.output
    assert "unsubscribes" not in result.output
