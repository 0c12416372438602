"""Splitting a full name into parts and joining it back, changing only the parts that changed.

One app keeps "Dr. Ada de la Cruz Jr." in one field, another keeps first and
last names apart. Splitting uses nameparser (titles, suffixes, particles);
joining starts from the current full name so titles and suffixes survive.
"""

from __future__ import annotations

from nameparser import HumanName

Parts = tuple[str, ...]


def _clean(text: str) -> str:
    return " ".join(text.split())


def split_name(full: str | None, count: int) -> Parts:
    """Parts of a full name: (first, last) for 2, (first, middle, last) for 3; empty strings when absent."""
    if not full or not full.strip():
        return ("",) * count
    name = HumanName(full)
    if not name.last and not name.first:
        return (_clean(full),) + ("",) * (count - 1)
    if not name.last:  # a single name stays the first name
        first, middle, last = name.first, name.middle, ""
    elif not name.first:
        first, middle, last = "", name.middle, name.last
    else:
        first, middle, last = name.first, name.middle, name.last
    if count == 3:
        return (_clean(first), _clean(middle), _clean(last))
    return (_clean(f"{first} {middle}"), _clean(last))


def join_name(parts: Parts, current: str | None = None) -> str:
    """A full name from parts; where `current` exists only the changed parts of it are replaced."""
    count = len(parts)
    if current and current.strip():
        old = split_name(current, count)
        if old == tuple(parts):
            return current
        name = HumanName(current)
        if count == 3:
            name.first, name.middle, name.last = parts
        else:
            first, last = parts
            if first != old[0]:
                name.first, name.middle = first, ""
            if last != old[1]:
                name.last = last
        joined = _clean(str(name))
        if split_name(joined, count) == tuple(parts):
            return joined
    return _clean(" ".join(part for part in parts if part))
