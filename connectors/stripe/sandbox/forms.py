"""Stripe's form encoding: `metadata[plan]=pro`, `expand[]=x`, `items[0][price]=p` into nested values."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

_PART = re.compile(r"\[([^\[\]]*)\]")


def split_key(key: str) -> list[str]:
    """`items[0][price]` -> ["items", "0", "price"]; `expand[]` -> ["expand", ""]."""
    head = key.split("[", 1)[0]
    return [head, *_PART.findall(key[len(head) :])]


def _insert(target: dict[str, Any], parts: list[str], value: str) -> None:
    node: Any = target
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        following = None if last else parts[index + 1]
        child_default: Any = [] if following == "" else {}
        if isinstance(node, list):  # `key[]` appends
            if last:
                node.append(value)
                return
            node.append(child_default)
            node = node[-1]
            continue
        if last:
            node[part] = value
            return
        node = node.setdefault(part, child_default)


def _lists_from_indexes(value: Any) -> Any:
    """Dicts keyed "0", "1", ... (indexed arrays, as the SDKs send them) become lists."""
    if isinstance(value, dict):
        converted = {k: _lists_from_indexes(v) for k, v in value.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    if isinstance(value, list):
        return [_lists_from_indexes(v) for v in value]
    return value


def decode_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in pairs:
        _insert(nested, split_key(key), value)
    result = _lists_from_indexes(nested)
    assert isinstance(result, dict)
    return result


def decode(text: str) -> dict[str, Any]:
    """A query string or form body as nested dicts and lists (values stay strings, as on the wire)."""
    return decode_pairs(parse_qsl(text, keep_blank_values=True))
