"""Splitting full names into parts and joining them back, changing only what changed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.names import family_first, join_name, split_name


@pytest.mark.parametrize(
    ("full", "two", "three"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace"), ("Ada", "", "Lovelace")),
        ("Dr. Ada de la Cruz Jr.", ("Ada", "de la Cruz"), ("Ada", "", "de la Cruz")),
        ("Ludwig van der Rohe", ("Ludwig", "van der Rohe"), ("Ludwig", "", "van der Rohe")),
        ("Mr. John Smith III", ("John", "Smith"), ("John", "", "Smith")),
        ("John Ronald Reuel Tolkien", ("John Ronald Reuel", "Tolkien"), ("John", "Ronald Reuel", "Tolkien")),
        ("Smith, John", ("John", "Smith"), ("John", "", "Smith")),
        ("Cher", ("Cher", ""), ("Cher", "", "")),
        ("  Jean-Luc   Picard ", ("Jean-Luc", "Picard"), ("Jean-Luc", "", "Picard")),
        ("Иван Петров", ("Иван", "Петров"), ("Иван", "", "Петров")),
        ("山田 太郎", ("太郎", "山田"), ("太郎", "", "山田")),
        ("김 민준", ("민준", "김"), ("민준", "", "김")),
        ("王小明", ("", "王小明"), ("", "", "王小明")),
        ("", ("", ""), ("", "", "")),
        (None, ("", ""), ("", "", "")),
    ],
)
def test_split(full: str | None, two: tuple[str, ...], three: tuple[str, ...]) -> None:
    assert split_name(full, 2) == two
    assert split_name(full, 3) == three


@pytest.mark.parametrize(
    ("parts", "current", "joined"),
    [
        (("Ada", "Lovelace"), None, "Ada Lovelace"),
        (("Ada", "Lovelace"), "Ada Lovelace", "Ada Lovelace"),
        (("Ada", "Smith"), "Dr. Ada de la Cruz Jr.", "Dr. Ada Smith Jr."),
        (("Grace", "de la Cruz"), "Dr. Ada de la Cruz Jr.", "Dr. Grace de la Cruz Jr."),
        (("Jon", "Smith"), "Mr. John Smith III", "Mr. Jon Smith III"),
        (("John", "R.", "Tolkien"), "John Ronald Reuel Tolkien", "John R. Tolkien"),
        (("Cher", ""), None, "Cher"),
        (("", ""), "Bob", ""),
        (("太郎", "田中"), "山田 太郎", "田中 太郎"),
        (("민준", "김"), None, "김 민준"),
        (("Ivan", "Petrov"), "Иван Петров", "Ivan Petrov"),
    ],
)
def test_join_replaces_only_the_changed_parts(parts: tuple[str, ...], current: str | None, joined: str) -> None:
    assert join_name(parts, current) == joined
    if joined:
        assert split_name(joined, len(parts)) == parts


@pytest.mark.parametrize("text", ["山田", "王小明", "김민준", "カタカナ"])
def test_cjk_scripts_are_family_first(text: str) -> None:
    assert family_first(text)


@pytest.mark.parametrize("text", ["Ada", "Иван", "Ελένη", "José"])
def test_other_scripts_are_given_name_first(text: str) -> None:
    assert not family_first(text)


WORD = st.text(alphabet="bcdfghklmnprstvwz", min_size=4, max_size=8).map(str.capitalize)
NAMES = st.one_of(
    st.tuples(WORD, WORD).map(" ".join),
    st.tuples(st.sampled_from(["Dr.", "Mr.", "Ms."]), WORD, WORD, st.sampled_from(["Jr.", "III", ""])).map(" ".join),
    st.tuples(WORD, st.sampled_from(["van der", "de la", "von"]), WORD).map(" ".join),
)


@given(current=NAMES)
def test_joining_the_same_parts_keeps_the_name_as_written(current: str) -> None:
    assert join_name(split_name(current, 2), current) == current


@given(current=NAMES, first=WORD, last=WORD)
def test_a_joined_name_splits_back_into_the_parts_asked_for(current: str, first: str, last: str) -> None:
    assert split_name(join_name((first, last), current), 2) == (first, last)


@given(current=NAMES, last=WORD)
def test_changing_the_last_name_keeps_the_first_name(current: str, last: str) -> None:
    first = split_name(current, 2)[0]
    joined = join_name((first, last), current)
    assert split_name(joined, 2) == (first, last)
    assert joined.startswith(current.split(" ")[0])
