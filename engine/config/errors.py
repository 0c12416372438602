"""Config errors that name the file, line and key, say what was expected and suggest a fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.config.locations import Locations, Path


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """One or more problems in a config file; printed without a traceback."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        name = str(part) if str(part).isprintable() else repr(part)  # control characters would vanish on screen
        text += f"[{part}]" if isinstance(part, int) else (f".{name}" if text else name)
    return text


def suggest(word: str, choices: Iterable[str]) -> str:
    """`; did you mean `x`?` for the nearest choice, or nothing."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


class ProblemList:
    """Collects problems for one file, placing each at its line."""

    def __init__(self, file: str, locations: Locations) -> None:
        self.file = file
        self.locations = locations
        self.problems: list[Problem] = []
        self.more_keys: dict[Path, list[str]] = {}  # keys a plugin adds at a path (a connector's `sync_rules`)

    def add(self, path: Path, message: str) -> None:
        self.problems.append(Problem(self.file, self.locations.line(path), dotted(path), message))

    def add_validation(self, error: ValidationError, prefix: Path, data: Any, model: type[BaseModel]) -> None:
        seen: set[tuple[str, str]] = set()
        items = error.errors()
        typed = {_data_path(i["loc"], data) for i in items if i["type"] not in _UNION_NOISE}
        for item in items:
            relative = _data_path(item["ctx"]["at"] if "at" in (item.get("ctx") or {}) else item["loc"], data)
            if item["type"] in _UNION_NOISE and relative in typed:
                continue  # the other member of a union already explains this value
            if any(len(other) > len(relative) and other[: len(relative)] == relative for other in typed):
                continue  # a union member that fits the value's shape explains it more precisely, deeper down
            path = (*prefix, *relative)
            message = _message(item, model, relative, self.more_keys.get(relative[:-1], []))
            if (dotted(path), message) not in seen:
                seen.add((dotted(path), message))
                self.add(path, message)

    def raise_if_any(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


_UNION_NOISE = frozenset({"model_type", "dict_type", "model_attributes_type"})


def _is_key(part: str) -> bool:
    """Pydantic also puts union member names (`PerSideMode`, `function-after[...]`) in locations."""
    return not part[:1].isupper() and "[" not in part and not part.startswith("function-")


def _data_path(loc: Sequence[Any], data: Any) -> Path:
    """Keep only the parts of a pydantic location that step into the data (drop union member tags)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and part == node.get("kind"):
            continue  # the tag of a discriminated union (`notify[].kind`): not a step into the data
        elif isinstance(part, str) and isinstance(node, dict) and _is_key(part):
            path.append(part)  # a key the data lacks (a missing or unknown key)
            node = None
    return tuple(path)


def _message(item: Any, model: type[BaseModel], relative: Path, more_keys: Sequence[str] = ()) -> str:
    kind = item["type"]
    ctx = item.get("ctx") or {}
    key = relative[-1] if relative else ""
    if kind == "extra_forbidden":
        choices = [*_allowed_keys(model, relative[:-1]), *more_keys]
        return f"unknown key{suggest(str(key), choices)}" + (
            f" (expected one of: {', '.join(choices)})" if choices else ""
        )
    if kind == "missing":
        return "required key is missing"
    if kind in {"enum", "literal_error"}:
        expected = str(ctx.get("expected", ""))
        options = [o.strip(" '\"") for o in expected.replace(" or ", ",").split(",") if o.strip()]
        return f"expected {expected}, got {item.get('input')!r}{suggest(str(item.get('input')), options)}"
    if kind == "value_error":
        return str(ctx.get("error", item["msg"]))
    secret = _is_secret(model, relative)
    if kind in _EXPECTED:
        got = "" if secret or "input" not in item else f", got {_shown(item['input'])}"
        return f"expected {_EXPECTED[kind]}{got}"
    if secret or "input" not in item or isinstance(item["input"], dict):
        return str(item["msg"])
    return f"{item['msg']} (got {item['input']!r})"


_EXPECTED = {
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "string_type": "text",
    "dict_type": "a mapping of keys to values",
    "list_type": "a list",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}


def _shown(value: Any) -> str:
    """A value as the user wrote it, in a few words: `[...]` and `{...}` for collections, `null` for None."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _is_secret(model: type[BaseModel], path: Path) -> bool:
    """Whether the value at `path` is a SecretStr field, whose input must never be echoed back."""
    if not path or isinstance(path[-1], int):
        return False
    owner = _model_at(model, path[:-1])
    field = _field_by_key(owner, str(path[-1])) if owner is not None else None
    return field is not None and "SecretStr" in repr(field.annotation)


def _allowed_keys(model: type[BaseModel], path: Path) -> list[str]:
    """The keys a model accepts at a path inside it (aliases where set)."""
    current = _model_at(model, path)
    if current is None:
        return []
    return [info.alias or name for name, info in current.model_fields.items() if not info.exclude]


def _model_at(model: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The model that holds the keys at a path inside `model`, or None when the path leaves the models."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = _field_by_key(current, part)
        if field is not None:
            current = _model_of(field.annotation)
        # else: a dict key (an account name); stay on the model of the dict's values
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _model_of(annotation: Any) -> Any:
    """The BaseModel inside an annotation such as `X | None`, `list[X]` or `dict[str, X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
