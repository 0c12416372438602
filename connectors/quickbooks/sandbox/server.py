"""`pairsync sandbox quickbooks`: one QuickBooks Online company on loopback.

Holds the store and the token service, and offers what tests and the demo
use to act as a QuickBooks user: add, edit, make inactive, list, and deliver
a signed webhook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.responses import JSONResponse

from connectors.quickbooks import fields as flat
from connectors.quickbooks.sandbox.app import build_app
from connectors.quickbooks.sandbox.authorize import AUTHORIZE_PATH, authorization_server
from connectors.quickbooks.sandbox.capabilities import MissingApis
from connectors.quickbooks.sandbox.faults import ApiFault
from connectors.quickbooks.sandbox.store import Store
from connectors.quickbooks.sandbox.tokens import TokenService
from engine.connector import Sandbox
from engine.oauth.server import AuthorizationMiddleware

FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia", "Ken")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Perlman", "Thompson")


class QuickBooksSandbox(Sandbox):
    connector_name = "quickbooks"
    realm_id = "9130350000000001"
    client_id = "sandbox-client-id"
    client_secret = "sandbox-client-secret"
    verifier_token = "sandbox-verifier-token"

    def __init__(self, seed: int = 0, rng_seed: int = 0) -> None:
        self.store = Store()
        self.tokens = TokenService(self.client_id, self.client_secret)
        self.initial_refresh_token = self.tokens.issue_refresh_token()
        self.authorization = authorization_server(self.tokens, self.realm_id)  # knob: `.deny = True`
        self.missing_apis: set[str] = set()  # knob: {"cdc"}: a company without Change Data Capture
        self._seeded = 0
        super().__init__(seed=seed, rng_seed=rng_seed)

    def app(self) -> Any:
        company = MissingApis(build_app(self.store, self.tokens, self.realm_id), self.missing_apis)
        return AuthorizationMiddleware(company, self.authorization)

    @property
    def fail_emails(self) -> set[str]:
        """Knob: API writes carrying one of these addresses fail with a 6000 ValidationFault.

        In a batch only that item fails (its own Fault), the others are written, as at
        QuickBooks; outside edits (`add_record`, `update_record`) are not affected.
        """
        return self.store.fail_emails

    @fail_emails.setter
    def fail_emails(self, emails: set[str]) -> None:
        self.store.fail_emails = set(emails)

    def settings(self, base_url: str) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.initial_refresh_token,
            "realm_id": self.realm_id,
            "base_url": base_url,
            "authorization_url": f"{base_url}{AUTHORIZE_PATH}",
            "token_url": f"{base_url}/oauth2/v1/tokens/bearer",
            "webhook_verifier_token": self.verifier_token,
        }

    def seed(self, count: int) -> None:
        rng = random.Random(self.rng_seed + self._seeded)
        for _ in range(count):
            self._seeded += 1
            first, last = rng.choice(FIRST), rng.choice(LAST)
            self.add_record({
                "GivenName": first,
                "FamilyName": last,
                "DisplayName": f"{first} {last} {self._seeded}",
                "PrimaryEmailAddr.Address": f"{first}.{last}.{self._seeded}@example.com".lower(),
                "BillAddr.City": rng.choice(("London", "Ghent", "Austin", "Oslo")),
            })

    def add_record(self, fields: Mapping[str, Any]) -> str:
        payload = flat.to_payload({k: v for k, v in fields.items() if k != "id" and v is not None})
        return str(self.store.create(payload)["Id"])

    def update_record(self, record_id: str, fields: Mapping[str, Any]) -> None:
        current = self.store.get(record_id)
        payload = flat.to_payload(fields, current.get("Notes"))
        self.store.update({**payload, "Id": record_id, "sparse": True}, check_token=False)

    def edit_before_next_writes(self, record_id: str, fields: Mapping[str, Any], times: int = 1) -> None:
        """Queue an outside edit of a record just before each of the next `times` write requests."""
        for _ in range(times):
            self.store.before_write.append(lambda: self.update_record(record_id, fields))

    def delete_record(self, record_id: str) -> None:
        """QuickBooks cannot delete a customer: a user makes it inactive."""
        self.update_record(record_id, {"Active": False})

    def records(self) -> list[dict[str, Any]]:
        with self.store.lock:
            customers = [c for c in self.store.customers.values() if c.get("Active", True)]
        return [{"id": c["Id"], **flat.flatten(c)} for c in customers]

    def error_response(self, status: int, retry_after: float | None = None) -> Any:
        if status == 429:
            fault = ApiFault("3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                             "The request limit was reached.", kind="SERVICE", status=429)
        else:
            fault = ApiFault("10000", "An application error has occurred while processing your request",
                             f"System Failure Error: HTTP {status}", kind="SystemFault", status=status)
        headers = {"retry-after": f"{retry_after:.3f}"} if retry_after is not None else None
        return JSONResponse(fault.envelope(), status_code=status, headers=headers)

    def webhook(
        self, ids: Iterable[str], style: str = "classic", operation: str = "Update"
    ) -> tuple[dict[str, str], bytes]:
        """Headers and raw body of a webhook naming these customers, signed like Intuit signs it."""
        ids = list(ids)
        if style == "cloudevents":
            payload: Any = [
                {"specversion": "1.0", "id": f"evt-{i}-Customer-{rid}", "source": "intuit.sandbox",
                 "type": f"qbo.customer.{operation.lower()}d.v1", "datacontenttype": "application/json",
                 "time": self.store.now().isoformat(), "intuitentityid": rid, "intuitaccountid": self.realm_id,
                 "data": {}}
                for i, rid in enumerate(ids)
            ]
        else:
            entities = [{"name": "Customer", "id": rid, "operation": operation,
                         "lastUpdated": self.store.now().isoformat()} for rid in ids]
            payload = {"eventNotifications": [{"realmId": self.realm_id, "dataChangeEvent": {"entities": entities}}]}
        body = json.dumps(payload).encode()
        return {"intuit-signature": sign(body, self.verifier_token), "content-type": "application/json"}, body

    def deliver_webhook(self, url: str, ids: Iterable[str], style: str = "classic") -> int:
        """POST a signed webhook to a receiver (loopback) and return its HTTP status."""
        import httpx

        headers, body = self.webhook(ids, style)
        return httpx.post(url, content=body, headers=headers).status_code


def sign(body: bytes, verifier_token: str) -> str:
    """`intuit-signature`: base64 of HMAC-SHA256 of the raw body keyed with the verifier token."""
    return base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()
