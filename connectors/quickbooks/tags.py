"""Tags as one reserved, visible line at the end of a customer's `Notes`.

QuickBooks customers have no labels. The line reads `pairsync tags: ["a", "b"]`
(a sorted JSON list, so writing the same tags twice yields the same text):
people see it in QuickBooks, and the connector strips it from the `Notes`
field it exposes and reads it back as `Record.tags`.
"""

from __future__ import annotations

import json

PREFIX = "pairsync tags: "


def split(notes: str | None) -> tuple[str | None, frozenset[str]]:
    """The user's notes without the tag line, and the tags that line holds."""
    if not notes:
        return notes, frozenset()
    head, _, last = notes.rpartition("\n")
    tags = _parse(last)
    if tags is None:
        return notes, frozenset()
    return (head or None), tags


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


def join(notes: str | None, tags: frozenset[str]) -> str:
    """Notes text carrying `tags` on its reserved last line (no line when there are no tags)."""
    body = notes or ""
    if not tags:
        return body
    line = PREFIX + json.dumps(sorted(tags), ensure_ascii=False)
    return f"{body}\n{line}" if body else line
