"""The People API v1 discovery document (shipped in google-api-python-client) and a small schema checker.

The checker follows `$ref`, `type`, `properties`, `additionalProperties`,
`items` and `enum`. Unknown properties are errors. In request bodies,
output-only (`readOnly`) properties are errors too: Google ignores or
refuses them, so a client that sends them has misread the API.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient

Json = dict[str, Any]


@cache
def document() -> Json:
    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "people.v1.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def methods() -> dict[tuple[str, str], Json]:
    """Every API method by (HTTP method, flatPath)."""
    found: dict[tuple[str, str], Json] = {}

    def walk(resources: Json) -> None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                found[(method["httpMethod"], method.get("flatPath", method["path"]))] = method
            walk(resource.get("resources", {}))

    walk(document()["resources"])
    return found


def check(value: Any, schema: Json, path: str = "$", request: bool = False) -> list[str]:
    """Every way `value` departs from `schema`, as `path: problem` lines."""
    if "$ref" in schema:
        return check(value, document()["schemas"][schema["$ref"]], path, request)
    if request and schema.get("readOnly"):
        return [f"{path}: output-only, must not be sent"]
    kind = schema.get("type", "any")
    if kind == "object":
        return _check_object(value, schema, path, request)
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected an array, got {type(value).__name__}"]
        items = schema.get("items", {})
        return [e for i, item in enumerate(value) for e in check(item, items, f"{path}[{i}]", request)]
    if not _SCALARS.get(kind, lambda _v: True)(value):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} is not one of {schema['enum']}"]
    return []


_SCALARS = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _check_object(value: Any, schema: Json, path: str, request: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {type(value).__name__}"]
    properties: Json = schema.get("properties", {})
    extra: Json | None = schema.get("additionalProperties")
    errors: list[str] = []
    for key, item in value.items():
        if key in properties:
            errors += check(item, properties[key], f"{path}.{key}", request)
        elif extra is not None:
            errors += check(item, extra, f"{path}[{key!r}]", request)
        else:
            errors.append(f"{path}: unknown property {key!r}")
    return errors


def check_query(method: Json, query: dict[str, list[str]]) -> list[str]:
    """Query parameters the method (or the API as a whole) does not take, or repeats it does not allow."""
    allowed = {**document()["parameters"], **method.get("parameters", {})}
    errors: list[str] = []
    for name, values in query.items():
        spec = allowed.get(name)
        if spec is None or spec.get("location") == "path":
            errors.append(f"query: unknown parameter {name!r}")
        elif len(values) > 1 and not spec.get("repeated"):
            errors.append(f"query: {name!r} given {len(values)} times")
        elif spec.get("type") == "integer" and not all(re.fullmatch(r"-?\d+", v) for v in values):
            errors.append(f"query: {name!r} must be an integer")
        elif spec.get("type") == "boolean" and not all(v in ("true", "false") for v in values):
            errors.append(f"query: {name!r} must be true or false")
    return errors
