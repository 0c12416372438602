"""Where each key and value of a YAML file stands, so errors can name the line."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

Path = tuple[str | int, ...]


@dataclass
class Locations:
    """Line numbers (1-based) of every key and value path in a YAML document."""

    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: list[tuple[Path, int]] = field(default_factory=list)

    def line(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def locate(text: str) -> Locations:
    """Walk the composed YAML node tree recording each path's line."""
    locations = Locations()
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        _walk(root, (), locations)
    return locations


def _walk(node: yaml.Node, path: Path, locations: Locations, outer: frozenset[int] = frozenset()) -> None:
    locations.lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in outer:
        return  # an alias inside its own anchor; the loader reports it
    outer = outer | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                locations.duplicates.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            locations.lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, locations, outer)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), locations, outer)
