"""Credentials are sealed at rest: the token is nowhere in the state file's bytes, the files are private,
and a missing or wrong key is one clear error that says to reconnect."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.state.crypto import KEY_VARIABLE, SecretKeyError, key_file_for
from engine.state.store import StateStore

TOKEN = "1//refresh-token-that-must-never-be-on-disk-0123456789"


def _bytes_of(folder: Path) -> bytes:
    """Every byte of the database, its write-ahead log and shared memory file."""
    return b"".join(path.read_bytes() for path in folder.iterdir() if path.name.startswith("state.db"))


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_the_token_is_not_in_the_state_files_bytes(sqlite_url: str, tmp_path: Path) -> None:
    store = StateStore(sqlite_url)
    store.save_credential("google", "refresh_token", TOKEN)
    assert TOKEN.encode() not in _bytes_of(tmp_path)
    store.close()
    assert TOKEN.encode() not in _bytes_of(tmp_path)
    assert StateStore(sqlite_url).credential("google", "refresh_token") == TOKEN


def test_state_and_key_files_are_readable_by_their_owner_only(sqlite_url: str, tmp_path: Path) -> None:
    StateStore(sqlite_url).save_credential("google", "refresh_token", TOKEN)
    key_file = key_file_for(sqlite_url)
    assert key_file == tmp_path / "state.db.key"
    for path in (tmp_path / "state.db", key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_environment_key_is_used_instead_of_a_file(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "a-key-from-the-environment-for-this-test")
    StateStore(sqlite_url).save_credential("qb", "refresh_token", TOKEN)
    assert not (tmp_path / "state.db.key").exists()
    assert StateStore(sqlite_url).credential("qb", "refresh_token") == TOKEN


@pytest.mark.parametrize(
    "lose_the_key",
    [
        pytest.param(lambda path, mp: path.unlink(), id="key file deleted"),
        pytest.param(lambda path, mp: path.write_text("another key\n"), id="key file replaced"),
        pytest.param(lambda path, mp: mp.setenv(KEY_VARIABLE, "not the key it was sealed with"), id="wrong env key"),
    ],
)
def test_a_missing_or_wrong_key_is_a_clear_error_saying_to_reconnect(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, lose_the_key
) -> None:
    StateStore(sqlite_url).save_credential("qb", "refresh_token", TOKEN)
    key_file = key_file_for(sqlite_url)
    assert key_file is not None
    lose_the_key(key_file, monkeypatch)
    with pytest.raises(SecretKeyError) as raised:
        StateStore(sqlite_url).credential("qb", "refresh_token")
    assert "pairsync connect <config> qb" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_a_sealed_value_moved_to_another_account_does_not_open(sqlite_url: str, tmp_path: Path) -> None:
    store = StateStore(sqlite_url)
    store.save_credential("one", "refresh_token", TOKEN)
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("UPDATE credentials SET account = 'two'")
    with pytest.raises(SecretKeyError):
        store.credential("two", "refresh_token")


def test_a_plaintext_row_from_an_older_version_is_sealed_when_read(sqlite_url: str, tmp_path: Path) -> None:
    StateStore(sqlite_url).close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("INSERT INTO credentials (account, key, value) VALUES ('qb', 'refresh_token', ?)", (TOKEN,))
    store = StateStore(sqlite_url)
    assert store.credential("qb", "refresh_token") == TOKEN
    with sqlite3.connect(tmp_path / "state.db") as db:
        [(stored,)] = db.execute("SELECT value FROM credentials").fetchall()
    assert stored.startswith("v1:") and TOKEN not in stored


def test_a_server_database_without_the_environment_key_says_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.state.crypto import load_box

    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    with pytest.raises(SecretKeyError, match=KEY_VARIABLE):
        load_box("postgresql://postgres@127.0.0.1:5432/test")


@given(value=st.text(), account=st.text(min_size=1), other=st.text(min_size=1))
def test_sealing_round_trips_and_binds_each_value_to_its_row(value: str, account: str, other: str) -> None:
    from engine.state.crypto import SecretBox, load_box

    box: SecretBox = load_box("sqlite://", environ={KEY_VARIABLE: "property-test-key"})
    sealed = box.seal(value, account)
    assert sealed.startswith("v1:") and (len(value) < 8 or value not in sealed)
    assert box.open(sealed, account, "fix") == value
    if other != account:
        with pytest.raises(SecretKeyError):
            box.open(sealed, other, "fix")
