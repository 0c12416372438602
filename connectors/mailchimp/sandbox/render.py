"""Members and webhooks as the Marketing API shows them: every documented member field."""

from __future__ import annotations

from typing import Any

from connectors.mailchimp.sandbox.store import Member, Store

Json = dict[str, Any]


def links(path: str, method: str = "GET") -> list[Json]:
    return [{"rel": "self", "href": f"https://server.api.mailchimp.com/3.0{path}", "method": method,
             "targetSchema": "https://api.mailchimp.com/schema/3.0/Definitions/Lists/Members/Response.json"}]


def member_json(store: Store, member: Member) -> Json:
    first, last = member.merge_fields.get("FNAME", ""), member.merge_fields.get("LNAME", "")
    body: Json = {
        "id": member.id,
        "email_address": member.email,
        "unique_email_id": member.unique_email_id,
        "contact_id": member.contact_id,
        "full_name": " ".join(p for p in (first, last) if p),
        "web_id": member.web_id,
        "email_type": member.email_type,
        "status": member.shown_status,
        "consents_to_one_to_one_messaging": True,
        "sms_phone_number": "",
        "sms_subscription_status": "",
        "sms_subscription_last_updated": "",
        "merge_fields": {tag: _merge_default(kind, member.merge_fields.get(tag))
                         for tag, kind in store.merge_fields.items()},
        "interests": {},
        "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
        "ip_signup": "",
        "timestamp_signup": member.timestamp_signup,
        "ip_opt": "",
        "timestamp_opt": member.timestamp_opt,
        "member_rating": 2,
        "last_changed": member.last_changed,
        "language": member.language,
        "vip": member.vip,
        "email_client": "",
        "location": {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0, "country_code": "", "timezone": "",
                     "region": ""},
        "marketing_permissions": [],
        "source": "API - Generic",
        "tags_count": len(member.tags),
        "tags": [{"id": store.tag_ids.get(name, 0), "name": name} for name in member.tags],
        "list_id": store.list_id,
        "_links": links(f"/lists/{store.list_id}/members/{member.id}"),
    }
    if member.status == "unsubscribed":
        body["unsubscribe_reason"] = member.unsubscribe_reason or "N/A (Unsubscribed by an admin)"
    return body


def _merge_default(kind: str, value: Any) -> Any:
    """Mailchimp shows every merge field; an empty address is "" and an empty text is ""."""
    if value is None:
        return ""
    return value


def without(body: Any, excluded: set[str], prefix: str = "") -> Any:
    """`exclude_fields` applied: dotted paths (`members._links`) removed from a body."""
    if isinstance(body, list):
        return [without(item, excluded, prefix) for item in body]
    if not isinstance(body, dict):
        return body
    kept: Json = {}
    for key, value in body.items():
        path = f"{prefix}{key}"
        if path in excluded:
            continue
        kept[key] = without(value, excluded, path + ".")
    return kept
