"""Bounds on a YAML document before it is composed: depth and the size its aliases expand to.

A few lines of anchors and aliases can expand to billions of values (an alias
bomb), and thousands of nested brackets exhaust the recursion of any tree walk.
Both are found here from PyYAML's event stream, which is read without
recursion and without expanding anything, so the loader can name the line.
"""

from __future__ import annotations

import yaml

MAX_DEPTH = 64
MAX_VALUES = 100_000


class TooLarge(Exception):
    """The document is nested too deep or expands to too many values; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def check_bounds(text: str, max_depth: int = MAX_DEPTH, max_values: int = MAX_VALUES) -> None:
    """Raise TooLarge at the first collection nested deeper than `max_depth`, or the first alias that makes
    the document expand to more than `max_values` values."""
    sizes: dict[str, int] = {}
    stack: list[tuple[str | None, int]] = []  # (anchor, values so far) per open collection
    total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= max_depth:
                raise TooLarge(line, f"nested more than {max_depth} levels deep; a pairsync config needs a few")
            stack.append((event.anchor, 1))
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
            if stack:
                stack[-1] = (stack[-1][0], stack[-1][1] + size)
            continue
        if isinstance(event, yaml.AliasEvent):
            size = sizes.get(event.anchor or "", 1)
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        else:
            continue
        total += size
        if total > max_values:
            raise TooLarge(
                line,
                f"the YAML aliases up to here expand to more than {max_values} values (an alias bomb?); "
                "write the values out, or use fewer aliases of aliases",
            )
        if stack:
            stack[-1] = (stack[-1][0], stack[-1][1] + size)
