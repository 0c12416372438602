"""A state database that cannot be used, explained: which store, why, and what to do; never SQL.

SQLite and PostgreSQL report a damaged file, a read-only file or a full disk as
driver errors that quote the statement. The store turns the ones a user can fix
into `StateUnusable`, which the command line prints as one message.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from engine.errors import UserError

# (words in the driver's message, why, what to do)
_KNOWN = (
    (
        ("file is not a database", "disk image is malformed", "database corrupt"),
        "the file is damaged (it is not a readable SQLite database)",
        "move it aside (keep it for inspection) and run again: the next run relinks records by their origin "
        "stamp, id_field and email, and creates no duplicate",
    ),
    (
        ("readonly database", "read-only", "unable to open database file", "permission denied"),
        "it cannot be written (the file or its folder is read-only for this user)",
        "give this user write access to the file and its folder, or point `state:` at a writable place",
    ),
    (
        ("database or disk is full", "disk full", "no space left"),
        "its disk is full",
        "free space on that disk and run again: the write journal resumes where the run stopped",
    ),
    (
        ("database is locked",),
        "another process kept it locked for longer than 30 s",
        "wait for the other pairsync process to finish, or use a PostgreSQL `state:` for several processes",
    ),
)


class StateUnusable(UserError):
    """The state database cannot be used as it is; the message says which, why and what to do."""


def explain(error: DBAPIError, url: str) -> StateUnusable | None:
    """The user's version of a driver error the user can fix, or None for any other error."""
    text = str(error.orig if error.orig is not None else error).lower()
    for words, why, fix in _KNOWN:
        if any(word in text for word in words):
            return StateUnusable(f"the state store {where(url)} is unusable: {why}. To fix it: {fix}. "
                                 "pairsync changed nothing in it")
    return None


def where(url: str) -> str:
    """The state file's path for SQLite, the URL without its password otherwise."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(unreadable URL)"
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or "(in memory)"
    return parsed.render_as_string(hide_password=True)
