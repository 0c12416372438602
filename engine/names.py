"""Splitting a full name into parts and joining it back, changing only the parts that changed.

Neither direction loses a character. A split keeps every character nameparser
does not place in a title, suffix or nickname: when its parts would drop some
(emoji, zero-width joiners, symbols), the name is split on spaces instead. A
join starts from the current full name and replaces only the text of the part
that changed, so titles, nicknames, emoji and spacing stay where they were.

One app keeps "Dr. Ada de la Cruz Jr." in one field, another keeps first and
last names apart. Splitting uses nameparser (titles, suffixes, particles);
joining starts from the current full name so titles and suffixes survive.
Names written in Chinese, Japanese or Korean script put the family name
first ("山田 太郎"): nameparser reads them that way, so joining writes them
that way too, or the joined name would split back with the parts swapped.
"""

from __future__ import annotations

import functools
from collections import Counter

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
    if _lost(full, (first, middle, last, name.title, name.suffix, name.nickname)):
        return _split_on_spaces(full, count)
    if count == 3:
        return (_clean(first), _clean(middle), _clean(last))
    return (_clean(f"{first} {middle}"), _clean(last))


_DROPPED = frozenset(',()"\'')  # punctuation nameparser uses to find nicknames and "Last, First"


def _lost(full: str, pieces: Parts) -> bool:
    """Whether characters of `full` are in none of the pieces (nameparser drops emoji and joiners)."""
    kept = Counter(char for char in "".join(pieces) if not char.isspace())
    wanted = Counter(char for char in full if not char.isspace() and char not in _DROPPED)
    return bool(wanted - kept)


def _split_on_spaces(full: str, count: int) -> Parts:
    """A split that keeps every character: the last word is the family name, the first the given name."""
    words = full.split()
    if len(words) == 1:
        return (words[0],) + ("",) * (count - 1)
    if count == 3:
        return (words[0], " ".join(words[1:-1]), words[-1])
    return (" ".join(words[:-1]), words[-1])


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
        joined = _replace_changed(parts, current) or _smart_join(parts, current)
        if joined is not None:
            return joined
    return plain_join(parts)


def _replace_changed(parts: Parts, current: str) -> str | None:
    """The current name with the text of each changed part replaced in place; None when a changed part's
    old text cannot be found (or was empty), so there is nothing to replace."""
    old = split_name(current, len(parts))
    text = current
    for index, (before, after) in enumerate(zip(old, parts, strict=True)):
        if before == after:
            continue
        if not before:
            return None
        last = index == len(parts) - 1
        at = text.rfind(before) if last else text.find(before)
        if at < 0:
            return None
        text = text[:at] + after + text[at + len(before) :]
    joined = _clean(text)
    return joined if joined and split_name(joined, len(parts)) == parts else None


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
    if _lost(current, (joined, *old)) or split_name(joined, count) != parts:
        return None  # nameparser would drop or move characters of the current name
    return joined
