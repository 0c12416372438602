"""Built-in transforms: named functions; input they cannot handle passes through unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from engine.plugins import registry

TRANSFORMS = registry().transforms


@pytest.mark.parametrize(
    ("name", "value", "args", "expected"),
    [
        ("lower", "Ada@ACME.io", {}, "ada@acme.io"),
        ("upper", "gb", {}, "GB"),
        ("strip", "  Ada  ", {}, "Ada"),
        ("phone_e164", "(555) 123-4567", {}, "+15551234567"),
        ("phone_e164", "020 7946 0018", {"region": "GB"}, "+442079460018"),
        ("phone_e164", "+49 30 123456", {}, "+4930123456"),
        ("phone_e164", "call me", {}, "call me"),
        ("email", "Ada@EXAMPLE.COM ", {}, "ada@example.com"),
        ("email", "not an address", {}, "not an address"),
        ("date_format", "2026-03-04T10:00:00Z", {}, "2026-03-04"),
        ("date_format", "2026-03-04", {"format": "%d/%m/%Y"}, "04/03/2026"),
        ("date_format", "soon", {}, "soon"),
        ("default", None, {"value_if_empty": "unknown"}, "unknown"),
        ("default", "set", {"value_if_empty": "unknown"}, "set"),
        ("join", ["Pro", "Team", None], {}, "Pro, Team"),
        ("join", ["a", "b"], {"separator": "|"}, "a|b"),
        ("split", "vip, lead,,", {}, ["vip", "lead"]),
        ("lower", None, {}, None),
    ],
)
def test_transform(name: str, value: Any, args: dict[str, Any], expected: Any) -> None:
    assert TRANSFORMS[name](value, **args) == expected


def test_every_builtin_is_registered() -> None:
    assert {"lower", "upper", "strip", "phone_e164", "email", "date_format", "default", "join", "split"} <= set(
        TRANSFORMS
    )
