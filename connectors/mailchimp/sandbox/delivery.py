"""Webhooks of the sandbox's audience: registration with Mailchimp's GET check, form-encoded delivery.

Deliveries run in their own threads (the sandbox must not wait for the
receiver inside an API call); `wait()` joins them so tests need no sleep.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from connectors.mailchimp.sandbox.store import Member

EVENTS = ("subscribe", "unsubscribe", "profile", "cleaned", "upemail", "campaign")
SOURCES = ("user", "admin", "api")


@dataclass
class Hook:
    id: str
    url: str
    events: dict[str, bool]
    sources: dict[str, bool]

    def wants(self, kind: str, source: str) -> bool:
        return bool(self.events.get(kind)) and bool(self.sources.get(source))


@dataclass
class Delivered:
    url: str
    form: dict[str, str]
    status: int | None
    error: str | None = None


@dataclass
class Hooks:
    list_id: str
    hooks: dict[str, Hook] = field(default_factory=dict)
    delivered: list[Delivered] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def register(self, url: str, events: dict[str, bool], sources: dict[str, bool]) -> Hook:
        """Events and sources left out of a given object are off; with no object at all, all are on."""
        hook = Hook(f"{next(self._ids):010x}", url, {e: bool(events.get(e, not events)) for e in EVENTS},
                    {s: bool(sources.get(s, not sources)) for s in SOURCES})
        self.hooks[hook.id] = hook
        return hook

    def announce(self, kind: str, source: str, member: Member, extra: dict[str, Any]) -> None:
        """Called by the store on every change; posts the event to each hook that wants it."""
        for hook in list(self.hooks.values()):
            if hook.wants(kind, source):
                form = self.form(kind, member, extra)
                thread = threading.Thread(target=self._post, args=(hook.url, form), daemon=True)
                self._threads.append(thread)
                thread.start()

    def form(self, kind: str, member: Member, extra: dict[str, Any]) -> dict[str, str]:
        from connectors.mailchimp.sandbox.store import now

        form = {"type": kind, "fired_at": now().replace("T", " ")[:19], "data[list_id]": self.list_id}
        if kind == "upemail":
            form.update({"data[new_id]": member.unique_email_id, "data[new_email]": extra["new_email"],
                         "data[old_email]": extra["old_email"]})
            return form
        form.update({"data[id]": member.unique_email_id, "data[email]": member.email,
                     "data[email_type]": member.email_type, "data[web_id]": str(member.web_id)})
        for tag, value in member.merge_fields.items():
            if isinstance(value, str):
                form[f"data[merges][{tag}]"] = value
        form["data[merges][EMAIL]"] = member.email
        for key, value in extra.items():
            form[f"data[{key}]"] = str(value)
        return form

    def _post(self, url: str, form: dict[str, str]) -> None:
        try:
            response = httpx.post(url, content=urlencode(form).encode(), timeout=10,
                                  headers={"Content-Type": "application/x-www-form-urlencoded",
                                           "User-Agent": "MailChimp"})
            self.delivered.append(Delivered(url, form, response.status_code))
        except httpx.HTTPError as error:
            self.delivered.append(Delivered(url, form, None, f"{type(error).__name__}: {error}"))

    def wait(self) -> list[Delivered]:
        """Join every delivery started so far; the deliveries made."""
        while self._threads:
            self._threads.pop().join(timeout=15)
        return list(self.delivered)
