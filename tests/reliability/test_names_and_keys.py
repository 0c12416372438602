"""Matching and names never change data: keys only ignore case and spacing, names never lose a character.

Before: `casefold()` made `straße@` and `strasse@` one key (two people linked,
one overwritten); a split dropped emoji (`Ann 😀 Lee` reached Google as
`Ann` / `Lee`), left bare zero-width joiners of a family emoji, and a join
moved nicknames to the end.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.names import join_name, split_name
from engine.planner.model import Create, LinkOnly
from engine.records import match_key
from tests.test_planner import rec, run_plan


@pytest.mark.parametrize(
    ("one", "two", "same"),
    [
        ("Ann@Example.com", " ann@example.com ", True),
        ("straße@example.com", "strasse@example.com", False),
        ("STRASSE@example.com", "strasse@example.com", True),
        ("ÉLISE@Example.com", "élise@example.com", True),
    ],
)
def test_match_keys_ignore_case_and_spacing_only(one: str, two: str, same: bool) -> None:
    assert (match_key(one) == match_key(two)) is same


def test_two_people_whose_emails_fold_alike_are_not_linked() -> None:
    result = run_plan([rec("L1", email="straße@example.com")], [rec("R1", email="strasse@example.com")])
    assert result.of(LinkOnly) == []
    assert sorted((op.side, op.source_id) for op in result.of(Create)) == [("left", "R1"), ("right", "L1")]


FAMILY = "👩\u200d👩\u200d👧\u200d👦"


@pytest.mark.parametrize(
    ("full", "parts"),
    [
        ("Ann 😀 Lee", ("Ann 😀", "Lee")),
        (f"Emoji {FAMILY} Family", (f"Emoji {FAMILY}", "Family")),
        ("Ann Lee", ("Ann", "Lee")),
        ("Dr. Ada de la Cruz Jr.", ("Ada", "de la Cruz")),
        ("John (Jack) Smith", ("John", "Smith")),
    ],
)
def test_a_split_keeps_every_character_but_titles_suffixes_and_nicknames(full: str, parts: tuple[str, str]) -> None:
    assert split_name(full, 2) == parts


@pytest.mark.parametrize(
    ("current", "parts", "joined"),
    [
        ("Ann 😀 Lee", ("Ann 😀", "Lee-Smith"), "Ann 😀 Lee-Smith"),
        (f"Emoji {FAMILY} Family", (f"Emoji {FAMILY}", "Familia"), f"Emoji {FAMILY} Familia"),
        ("John (Jack) Smith", ("Jon", "Smith"), "Jon (Jack) Smith"),
        ('Ann "Annie" Lee', ("Ann", "Lee-Smith"), 'Ann "Annie" Lee-Smith'),
        ("Dr. Ada de la Cruz Jr.", ("Ada", "Lovelace"), "Dr. Ada Lovelace Jr."),
        ("Lee, Ann", ("Anna", "Lee"), "Lee, Anna"),
    ],
)
def test_a_join_changes_only_the_part_that_changed(current: str, parts: tuple[str, str], joined: str) -> None:
    assert join_name(parts, current) == joined


WORDS = ["Ann", "Lee", "Maria", "José", "Chen", "Åsa", "Zoë", "Müller", "Nguyen", "Okafor", "Smith", "Ólafur"]
SYMBOLS = ["😀", FAMILY, "🏳️\u200d🌈", "★", "♥", "👍🏽"]
word = st.sampled_from(WORDS)
token = st.one_of(word, st.sampled_from(SYMBOLS), st.tuples(word, st.sampled_from(SYMBOLS)).map("".join))
full_names = st.lists(token, min_size=1, max_size=5).map(" ".join)


def chars(text: str) -> Counter[str]:
    return Counter(char for char in text if not char.isspace())


@given(full_names, st.sampled_from([2, 3]))
def test_split_never_loses_a_character(full: str, count: int) -> None:
    assert chars("".join(split_name(full, count))) == chars(full)


@given(full_names, st.sampled_from([2, 3]))
def test_split_then_join_gives_the_name_back(full: str, count: int) -> None:
    assert join_name(split_name(full, count), full) == full


@given(full_names, word, st.sampled_from([0, 1]))
def test_changing_one_part_keeps_every_other_character(full: str, new: str, index: int) -> None:
    old = split_name(full, 2)
    if not old[index]:
        return
    parts = (new, old[1]) if index == 0 else (old[0], new)
    joined = join_name(parts, full)
    assert not (chars(full) - chars(old[index]) - chars(joined)), f"{full!r} -> {joined!r} lost characters"
    assert new in joined
