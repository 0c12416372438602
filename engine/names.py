"""Splitting a full name into parts and joining it back, changing only the parts that changed.

One app keeps "Dr. Ada de la Cruz Jr." in one field, another keeps first and
last names apart. Splitting uses nameparser (titles, suffixes, particles);
joining starts from the current full name so titles and suffixes survive.
Names written in Chinese, Japanese or Korean script put the family name
first ("山田 太郎"): nameparser reads them that way, so joining writes them
that way too, or the joined name would split back with the parts swapped.
"""

from __future__ import annotations

import functools

from nameparser import HumanName

Parts = tuple[str, ...]

# Han, Hiragana, Katakana, Hangul syllables and Jamo: scripts written family name first.
_FAMILY_FIRST_RANGES = (
    (0x1100, 0x11FF),
    (0x3040, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
)


def _clean(text: str) -> str:
    return " ".join(text.split())


def family_first(text: str) -> bool:
    """Whether a name is in a script written family name first (Chinese, Japanese, Korean)."""
    return any(low <= ord(char) <= high for char in text for low, high in _FAMILY_FIRST_RANGES)


@functools.lru_cache(maxsize=65536)
def split_name(full: str | None, count: int) -> Parts:
    """Parts of a full name: (first, last) for 2, (first, middle, last) for 3; empty strings when absent.

    Cached: every run projects every changed record, and parsing is the costly part.
    """
    if not full or not full.strip():
        return ("",) * count
    name = HumanName(full)
    if not name.last and not name.first:
        return (_clean(full),) + ("",) * (count - 1)
    if not name.last:  # a single name stays the first name
        first, middle, last = name.first, name.middle, ""
    else:
        first, middle, last = name.first, name.middle, name.last
    if count == 3:
        return (_clean(first), _clean(middle), _clean(last))
    return (_clean(f"{first} {middle}"), _clean(last))


def plain_join(parts: Parts) -> str:
    """The parts as one name, family name first for CJK scripts."""
    ordered = parts
    if family_first("".join(parts)):
        ordered = (parts[-1], *parts[:-1])
    return _clean(" ".join(part for part in ordered if part))


def join_name(parts: Parts, current: str | None = None) -> str:
    """A full name from parts; where `current` exists only the changed parts of it are replaced."""
    parts = tuple(_clean(part) for part in parts)
    count = len(parts)
    if current and current.strip():
        if split_name(current, count) == parts:
            return current
        joined = _smart_join(parts, current)
        if joined is not None:
            return joined
    return plain_join(parts)


def _smart_join(parts: Parts, current: str) -> str | None:
    """The current name with only the changed parts replaced (title, suffix, particles kept); None if unsafe."""
    if family_first(current) or family_first("".join(parts)):
        return None
    count = len(parts)
    old = split_name(current, count)
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
    return joined if split_name(joined, count) == parts else None
