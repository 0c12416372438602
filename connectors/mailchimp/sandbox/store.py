"""The sandbox's state: one audience's members, merge fields, tags, permanently deleted addresses.

Rules follow Mailchimp's: the member id is the MD5 of the lower-cased
address; `status_if_new` applies only to an address not on the list; moving
an unsubscribed or cleaned member back to subscribed or pending is refused
as a compliance state; a permanently deleted address cannot be added again.
Every change moves `last_changed` (whole seconds, UTC) and is announced to
the listeners (the webhook deliveries) with its source: `api` for API
calls, `admin` or `user` for edits made as the account's user or the person.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.mailchimp.members import ADDRESS, ADDRESS_REQUIRED, subscriber_hash
from connectors.mailchimp.sandbox.errors import ApiError, invalid_field

Json = dict[str, Any]
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
OPTED_OUT = ("unsubscribed", "cleaned")
DEFAULT_MERGE_FIELDS = {"FNAME": "text", "LNAME": "text", "ADDRESS": "address", "PHONE": "phone",
                        "BIRTHDAY": "birthday"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$")  # punycode TLDs too
Listener = Callable[[str, str, "Member", Json], None]


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class Member:
    email: str
    status: str
    seq: int
    merge_fields: Json = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # name -> date added
    email_type: str = "html"
    language: str = ""
    vip: bool = False
    unsubscribe_reason: str = ""
    archived: bool = False
    timestamp_signup: str = ""
    timestamp_opt: str = ""
    last_changed: str = field(default_factory=now)
    unique_email_id: str = field(default_factory=lambda: secrets.token_hex(5))
    contact_id: str = field(default_factory=lambda: secrets.token_hex(16))
    web_id: int = 0

    @property
    def id(self) -> str:
        return subscriber_hash(self.email)

    @property
    def shown_status(self) -> str:
        return "archived" if self.archived else self.status


def check_email(email: Any) -> str:
    if not isinstance(email, str) or not EMAIL.match(email.strip()):
        shown = email if isinstance(email, str) else "The email address"
        raise ApiError(400, f"{shown} looks fake or invalid, please enter a real email address.")
    return email.strip()


class Store:
    """Thread-safe: the API runs in the server's thread, outside edits in the test's."""

    def __init__(self, list_id: str, merge_tags: dict[str, str] | None = None) -> None:
        self.list_id = list_id
        self.lock = threading.RLock()
        self.members: dict[str, Member] = {}
        self.forgotten: set[str] = set()
        self.merge_fields: dict[str, str] = {**DEFAULT_MERGE_FIELDS, **(merge_tags or {})}
        self.tag_ids: dict[str, int] = {}
        self.listeners: list[Listener] = []
        self._seq = itertools.count(1)

    # reading

    def find(self, member_id: str, archived: bool = True) -> Member:
        with self.lock:
            member = self.members.get(member_id)
            if member is None or (member.archived and not archived):
                raise ApiError(404)
            return member

    def select(self, status: str | None, since: str | None, before: str | None) -> list[Member]:
        """Members in list order; archived ones only when asked for by status, as at Mailchimp."""
        since_t, before_t = _time(since, "since_last_changed"), _time(before, "before_last_changed")
        with self.lock:
            chosen = []
            for member in sorted(self.members.values(), key=lambda m: m.seq):
                if status is None and member.archived:
                    continue
                if status is not None and member.shown_status != status:
                    continue
                changed = datetime.fromisoformat(member.last_changed)
                if since_t is not None and not changed > since_t:
                    continue
                if before_t is not None and not changed < before_t:
                    continue
                chosen.append(member)
            return chosen

    # writing

    def add(self, body: Json, status: str, source: str) -> Member:
        """A new member (or an archived one brought back) with `status`; refuses forgotten addresses."""
        email = check_email(body.get("email_address"))
        member_id = subscriber_hash(email)
        with self.lock:
            if member_id in self.forgotten:
                raise ApiError(400, f"{email} was permanently deleted and cannot be re-imported. The contact must "
                                    "re-subscribe to get back on the list.", title="Forgotten Email Not Subscribed")
            existing = self.members.get(member_id)
            if existing is not None and not existing.archived:
                raise ApiError(400, f"{email} is already a list member. Use PUT to insert or update list members.",
                               title="Member Exists")
            if status not in STATUSES:
                raise invalid_field("status", "Schema describes enum, NULL found instead" if not status
                                    else f"Schema describes enum, {status!r} is not one of its values")
            stamp = now()
            member = Member(email=email, status=status, seq=next(self._seq), timestamp_signup=stamp,
                            timestamp_opt=stamp if status == "subscribed" else "", web_id=next(self._seq) + 100000)
            self._apply(member, body)
            self.members[member_id] = member
            self._announce("subscribe" if status == "subscribed" else "profile", source, member, {})
            return member

    def update(self, member_id: str, body: Json, source: str) -> Member:
        """Change an existing (not archived) member; a new address moves it to a new id."""
        with self.lock:
            member = self.find(member_id, archived=False)
            self._validate(body)
            status = body.get("status")
            if status is not None:
                self._check_status(member, status)
            old_email = member.email
            new_email = body.get("email_address")
            if new_email is not None and check_email(new_email).lower() != member.email.lower():
                if subscriber_hash(new_email) in self.members:
                    raise ApiError(400, f"{new_email} is already a list member.", title="Member Exists")
                del self.members[member_id]
                member.email = new_email.strip()
                self.members[member.id] = member
            elif new_email is not None:
                member.email = new_email.strip()
            before = member.status
            self._apply(member, body)
            if status is not None and status != before:
                member.status = status
                member.unsubscribe_reason = "N/A (Unsubscribed by an admin)" if status == "unsubscribed" else ""
            member.last_changed = now()
            if member.email != old_email:
                self._announce("upemail", source, member, {"old_email": old_email, "new_email": member.email})
            elif status is not None and status != before:
                kind = {"unsubscribed": "unsubscribe", "cleaned": "cleaned", "subscribed": "subscribe"}
                self._announce(kind.get(status, "profile"), source, member, {})
            else:
                self._announce("profile", source, member, {})
            return member

    def unsubscribe(self, member_id: str, reason: str, source: str) -> Member:
        """The person used the unsubscribe link (source `user`), or an admin unsubscribed them."""
        with self.lock:
            member = self.find(member_id, archived=False)
            member.status, member.unsubscribe_reason, member.last_changed = "unsubscribed", reason, now()
            self._announce("unsubscribe", source, member, {"reason": "manual"})
            return member

    def clean(self, member_id: str, source: str) -> Member:
        """The address bounced hard: Mailchimp cleans it."""
        with self.lock:
            member = self.find(member_id, archived=False)
            member.status, member.last_changed = "cleaned", now()
            self._announce("cleaned", source, member, {"reason": "hard"})
            return member

    def archive(self, member_id: str, source: str) -> None:
        with self.lock:
            member = self.find(member_id, archived=False)
            member.archived, member.last_changed = True, now()
            self._announce("unsubscribe", source, member, {"action": "archive"})

    def forget(self, member_id: str, source: str) -> None:
        """Permanent deletion: the member is gone and its address can never be added again."""
        with self.lock:
            member = self.find(member_id)
            del self.members[member_id]
            self.forgotten.add(member_id)
            self._announce("unsubscribe", source, member, {"action": "delete"})

    def set_tags(self, member_id: str, tags: list[Json], source: str) -> None:
        with self.lock:
            member = self.find(member_id, archived=False)
            changed = False
            for tag in tags:
                name, status = tag.get("name"), tag.get("status")
                if not isinstance(name, str) or not name.strip() or status not in ("active", "inactive"):
                    raise invalid_field("tags", "each tag needs a name and a status of active or inactive")
                name = name.strip()
                if status == "active" and name not in member.tags:
                    self.tag_ids.setdefault(name, len(self.tag_ids) + 1)
                    member.tags[name] = now()
                    changed = True
                elif status == "inactive" and name in member.tags:
                    del member.tags[name]
                    changed = True
            if changed:
                member.last_changed = now()

    def add_merge_field(self, tag: str, kind: str) -> None:
        with self.lock:
            if tag in self.merge_fields:
                raise ApiError(400, f"A Merge Field with the tag \"{tag}\" already exists for this list.")
            self.merge_fields[tag] = kind

    # helpers

    def _check_status(self, member: Member, status: Any) -> None:
        if status not in STATUSES:
            raise invalid_field("status", f"Schema describes enum, {status!r} is not one of its values")
        if member.status in OPTED_OUT and status in ("subscribed", "pending") and member.status != status:
            raise ApiError(400, f"{member.email} is already a list member in compliance state due to unsubscribe, "
                                "bounce, or compliance review and cannot be subscribed.",
                           title="Member In Compliance State")

    def _validate(self, body: Json) -> None:
        merges = body.get("merge_fields") or {}
        if not isinstance(merges, dict):
            raise invalid_field("merge_fields", "Schema describes object, other type found instead")
        for tag, value in merges.items():
            if tag not in self.merge_fields:
                raise invalid_field(f"merge_fields.{tag}", f"Merge field {tag} does not exist in this audience")
            incomplete = not isinstance(value, dict) or any(not value.get(part) for part in ADDRESS_REQUIRED)
            if tag == ADDRESS and value not in ("", None) and incomplete:
                raise invalid_field(ADDRESS, "Please enter a complete address")

    def _apply(self, member: Member, body: Json) -> None:
        self._validate(body)
        for tag, value in (body.get("merge_fields") or {}).items():
            if value in ("", None):
                member.merge_fields.pop(tag, None)
            else:
                member.merge_fields[tag] = dict(value) if isinstance(value, dict) else value
        for key in ("email_type", "language"):
            if isinstance(body.get(key), str):
                setattr(member, key, body[key])
        if isinstance(body.get("vip"), bool):
            member.vip = body["vip"]
        for tag in body.get("tags") or []:  # POST/PUT may carry tag names
            if isinstance(tag, str) and tag.strip():
                self.tag_ids.setdefault(tag.strip(), len(self.tag_ids) + 1)
                member.tags.setdefault(tag.strip(), now())
        member.last_changed = now()

    def _announce(self, kind: str, source: str, member: Member, extra: Json) -> None:
        for listener in list(self.listeners):
            listener(kind, source, member, extra)


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_field(name, "Schema describes string, format date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
