"""Tags as one reserved, visible line at the end of a customer's `Notes`.

QuickBooks customers have no labels. The line reads `pairsync tags: ["a", "b"]`
(a sorted JSON list, so writing the same tags twice yields the same text):
people see it in QuickBooks, and the connector strips it from the `Notes`
field it exposes and reads it back as `Record.tags`.
"""

from __future__ import annotations

import json

PREFIX = "pairsync tags: "
ORIGIN_PREFIX = "pairsync origin: "
"""pairsync's origin stamp (the id of the record a customer was created from) rides on the line before the tags."""


def split(notes: str | None) -> tuple[str | None, frozenset[str]]:
    """The user's notes without the reserved lines, and the tags the tag line holds."""
    head, tags, _origin = parse(notes)
    return head, tags


def origin(notes: str | None) -> str | None:
    """The origin stamp kept in `notes`, if any."""
    return parse(notes)[2]


def parse(notes: str | None) -> tuple[str | None, frozenset[str], str | None]:
    """User notes, tags and origin stamp of a customer's Notes text."""
    if not notes:
        return notes, frozenset(), None
    head, _, last = notes.rpartition("\n")
    tags = _parse(last)
    if tags is None:
        head, tags = notes, frozenset()
    body, _, line = head.rpartition("\n")
    if line.startswith(ORIGIN_PREFIX) and line[len(ORIGIN_PREFIX) :].strip():
        return (body or None), tags, line[len(ORIGIN_PREFIX) :].strip()
    return (head or None), tags, None


def _parse(line: str) -> frozenset[str] | None:
    if not line.startswith(PREFIX):
        return None
    try:
        values = json.loads(line[len(PREFIX) :])
    except json.JSONDecodeError:
        return None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return None
    return frozenset(values)


def join(notes: str | None, tags: frozenset[str], stamp: str | None = None) -> str:
    """Notes text carrying the origin stamp and `tags` on reserved last lines (no line for what is absent)."""
    lines = [notes] if notes else []
    if stamp:
        lines.append(ORIGIN_PREFIX + stamp)
    if tags:
        lines.append(PREFIX + json.dumps(sorted(tags), ensure_ascii=False))
    return "\n".join(lines)
