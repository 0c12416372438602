"""The Marketing API paths the sandbox answers, as handlers over the store.

Each handler takes a `Call` and returns (status, body); a 204 has no body.
Writes made through the API announce themselves with the source `api`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.mailchimp.members import subscriber_hash
from connectors.mailchimp.sandbox.delivery import Hooks
from connectors.mailchimp.sandbox.errors import ApiError, invalid_field
from connectors.mailchimp.sandbox.render import links, member_json, without
from connectors.mailchimp.sandbox.store import Store, check_email

Json = dict[str, Any]
API = "api"
MAX_COUNT = 1000
MAX_BATCH = 500


@dataclass
class Call:
    store: Store
    hooks: Hooks
    path: dict[str, str]
    query: dict[str, str]
    body: Any
    check_url: Callable[[str], Awaitable[bool]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Json:
        if not isinstance(self.body, dict):
            raise ApiError(400, "We encountered an unspecified JSON parsing error.", title="JSON Parse Error")
        return self.body

    def audience(self) -> str:
        if self.path.get("list_id") != self.store.list_id:
            raise ApiError(404)
        return self.store.list_id

    def number(self, name: str, default: int, high: int | None = None) -> int:
        raw = self.query.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or (high is not None and int(raw) > high):
            raise invalid_field(name, f"{name} must be a whole number" + (f" up to {high}" if high else ""))
        return int(raw)


Result = tuple[int, Json | None]
Handler = Callable[[Call], Awaitable[Result]]


async def ping(call: Call) -> Result:
    return 200, {"health_status": "Everything's Chimpy!"}


async def get_list(call: Call) -> Result:
    list_id = call.audience()
    count = len([m for m in call.store.members.values() if not m.archived])
    return 200, {"id": list_id, "web_id": 1, "name": "pairsync sandbox audience",
                 "stats": {"member_count": count}, "_links": links(f"/lists/{list_id}")}


async def list_members(call: Call) -> Result:
    list_id = call.audience()
    count, offset = call.number("count", 10, MAX_COUNT), call.number("offset", 0)
    status = call.query.get("status") or None
    if status is not None and status not in ("subscribed", "unsubscribed", "cleaned", "pending", "transactional",
                                             "archived"):
        raise invalid_field("status", f"{status!r} is not a member status")
    chosen = call.store.select(status, call.query.get("since_last_changed"), call.query.get("before_last_changed"))
    page = chosen[offset: offset + count]
    body = {"members": [member_json(call.store, m) for m in page], "list_id": list_id, "total_items": len(chosen),
            "_links": links(f"/lists/{list_id}/members")}
    return 200, shaped(call, body)


def shaped(call: Call, body: Json) -> Json:
    excluded = {f.strip() for f in (call.query.get("exclude_fields") or "").split(",") if f.strip()}
    return without(body, excluded) if excluded else body


async def get_member(call: Call) -> Result:
    call.audience()
    member = call.store.find(call.path["hash"])
    return 200, shaped(call, member_json(call.store, member))


async def add_member(call: Call) -> Result:
    call.audience()
    body = call.json()
    return 200, member_json(call.store, call.store.add(body, str(body.get("status") or ""), API))


async def put_member(call: Call) -> Result:
    """Add or update: `status_if_new` only for an address not on the list (or archived)."""
    call.audience()
    body = call.json()
    email = check_email(body.get("email_address"))
    if subscriber_hash(email) != call.path["hash"].lower():
        raise invalid_field("email_address", "The subscriber hash in the URL does not match this email address.")
    with call.store.lock:
        existing = call.store.members.get(call.path["hash"].lower())
        if existing is None or existing.archived:
            status = str(body.get("status") or body.get("status_if_new") or "")
            return 200, member_json(call.store, call.store.add(body, status, API))
        return 200, member_json(call.store, call.store.update(existing.id, body, API))


async def patch_member(call: Call) -> Result:
    call.audience()
    return 200, member_json(call.store, call.store.update(call.path["hash"], call.json(), API))


async def archive_member(call: Call) -> Result:
    call.audience()
    call.store.archive(call.path["hash"], API)
    return 204, None


async def delete_permanent(call: Call) -> Result:
    call.audience()
    call.store.forget(call.path["hash"], API)
    return 204, None


async def get_tags(call: Call) -> Result:
    call.audience()
    member = call.store.find(call.path["hash"])
    tags = [{"id": call.store.tag_ids.get(n, 0), "name": n, "date_added": d} for n, d in member.tags.items()]
    return 200, {"tags": tags, "total_items": len(tags), "_links": links(f"/lists/{call.store.list_id}/members")}


async def post_tags(call: Call) -> Result:
    call.audience()
    tags = call.json().get("tags")
    if not isinstance(tags, list):
        raise invalid_field("tags", "Schema describes array, NULL found instead")
    call.store.set_tags(call.path["hash"], tags, API)
    return 204, None


async def batch_subscribe(call: Call) -> Result:
    """`POST /lists/{id}`: up to 500 members; errors are per member, the answer is a 200."""
    list_id = call.audience()
    body = call.json()
    members = body.get("members")
    if not isinstance(members, list) or len(members) > MAX_BATCH:
        raise invalid_field("members", f"Schema describes array of at most {MAX_BATCH} items")
    update = bool(body.get("update_existing"))
    created: list[Json] = []
    updated: list[Json] = []
    errors: list[Json] = []
    for item in members:
        try:
            created_or_updated = _subscribe_one(call.store, item, update)
        except ApiError as error:
            errors.append(_member_error(item, error))
            continue
        (created if created_or_updated[0] else updated).append(member_json(call.store, created_or_updated[1]))
    return 200, {"new_members": created, "updated_members": updated, "errors": errors,
                 "total_created": len(created), "total_updated": len(updated), "error_count": len(errors),
                 "_links": links(f"/lists/{list_id}", "POST")}


def _subscribe_one(store: Store, item: Any, update: bool) -> tuple[bool, Any]:
    if not isinstance(item, dict):
        raise ApiError(400, "Each member must be an object.")
    email = check_email(item.get("email_address"))
    with store.lock:
        existing = store.members.get(subscriber_hash(email))
        if existing is not None and not existing.archived:
            if not update:
                raise ApiError(400, f"{email} is already a list member, do you want to update? please provide "
                                    "update_existing:true in the request body", title="ERROR_CONTACT_EXISTS")
            return False, store.update(existing.id, item, API)
        status = str(item.get("status") or item.get("status_if_new") or "")
        return True, store.add(item, status, API)


def _member_error(item: Any, error: ApiError) -> Json:
    email = item.get("email_address", "") if isinstance(item, dict) else ""
    code = error.title if error.title == "ERROR_CONTACT_EXISTS" else "ERROR_GENERIC"
    field = error.errors[0] if error.errors else {}
    return {"email_address": email, "error": error.detail if not field else field.get("message", error.detail),
            "error_code": code, "field": field.get("field", ""), "field_message": field.get("message", "")}


async def list_merge_fields(call: Call) -> Result:
    list_id = call.audience()
    fields = [{"merge_id": i, "tag": tag, "name": tag.title(), "type": kind, "list_id": list_id}
              for i, (tag, kind) in enumerate(call.store.merge_fields.items(), start=1)]
    return 200, {"merge_fields": fields, "list_id": list_id, "total_items": len(fields)}


async def add_merge_field(call: Call) -> Result:
    list_id = call.audience()
    body = call.json()
    tag, kind = body.get("tag") or str(body.get("name", "")).upper()[:10], body.get("type")
    if not isinstance(tag, str) or not re.fullmatch(r"[A-Z0-9_]{1,10}", tag) or not isinstance(kind, str):
        raise invalid_field("tag", "a merge tag is up to 10 capital letters, digits or underscores, with a type")
    call.store.add_merge_field(tag, kind)
    return 200, {"merge_id": len(call.store.merge_fields), "tag": tag, "name": body.get("name") or tag,
                 "type": kind, "list_id": list_id}


async def list_webhooks(call: Call) -> Result:
    list_id = call.audience()
    hooks = [_hook_json(list_id, h) for h in call.hooks.hooks.values()]
    return 200, {"webhooks": hooks, "list_id": list_id, "total_items": len(hooks)}


async def add_webhook(call: Call) -> Result:
    """Mailchimp GETs the URL first and refuses to save one that does not answer 200."""
    list_id = call.audience()
    body = call.json()
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise invalid_field("url", "This value should be a valid URL.")
    if call.check_url is not None and not await call.check_url(url):
        raise ApiError(400, "The resource submitted could not be validated. Your URL didn't respond to our "
                            "validation request.", errors=[{"field": "url", "message": "Invalid URL"}])
    hook = call.hooks.register(url, body.get("events") or {}, body.get("sources") or {})
    return 200, _hook_json(list_id, hook)


def _hook_json(list_id: str, hook: Any) -> Json:
    return {"id": hook.id, "url": hook.url, "events": hook.events, "sources": hook.sources, "list_id": list_id,
            "_links": links(f"/lists/{list_id}/webhooks/{hook.id}")}


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/ping", ping),
    ("GET", "/lists/{list_id}", get_list),
    ("POST", "/lists/{list_id}", batch_subscribe),
    ("GET", "/lists/{list_id}/members", list_members),
    ("POST", "/lists/{list_id}/members", add_member),
    ("GET", "/lists/{list_id}/members/{hash}", get_member),
    ("PUT", "/lists/{list_id}/members/{hash}", put_member),
    ("PATCH", "/lists/{list_id}/members/{hash}", patch_member),
    ("DELETE", "/lists/{list_id}/members/{hash}", archive_member),
    ("POST", "/lists/{list_id}/members/{hash}/actions/delete-permanent", delete_permanent),
    ("GET", "/lists/{list_id}/members/{hash}/tags", get_tags),
    ("POST", "/lists/{list_id}/members/{hash}/tags", post_tags),
    ("GET", "/lists/{list_id}/merge-fields", list_merge_fields),
    ("POST", "/lists/{list_id}/merge-fields", add_merge_field),
    ("GET", "/lists/{list_id}/webhooks", list_webhooks),
    ("POST", "/lists/{list_id}/webhooks", add_webhook),
]


def _pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", path)
    return re.compile("^" + "".join(f"(?P<{p}>[^/]+)" if i % 2 else re.escape(p) for i, p in enumerate(parts)) + "$")


COMPILED = [(method, _pattern(path), handler) for method, path, handler in ROUTES]


def match(method: str, path: str, extra: list[tuple[str, re.Pattern[str], Handler]] | None = None
          ) -> tuple[Handler, dict[str, str]]:
    """The handler for a request under /3.0, or Mailchimp's 404/405."""
    allowed = False
    for route_method, pattern, handler in [*COMPILED, *(extra or [])]:
        found = pattern.match(path)
        if found:
            if route_method == method:
                return handler, found.groupdict()
            allowed = True
    raise ApiError(405 if allowed else 404)
