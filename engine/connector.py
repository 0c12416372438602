"""The connector contract: what a plugin implements so the engine can sync its app.

A connector class declares what its app is (name, record kind, field schema,
capabilities) and implements five async operations. The engine never knows
an app by name; everything app-specific lives behind this class.
"""

from __future__ import annotations

import builtins
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from engine.records import Page, Record, WriteRequest, WriteResult


class RecordKind(StrEnum):
    CUSTOMER = "customer"
    CONTACT = "contact"


class ChangeFeed(StrEnum):
    """How a connector finds what changed since its last read."""

    EVENTS = "events"
    CDC = "cdc"
    SYNC_TOKEN = "sync_token"
    FULL_SCAN = "full_scan"


class ChangeTimes(StrEnum):
    """Whether the records a connector reads carry when they last changed (`Record.updated`).

    `conflict: newest` compares these times; where one is missing the planner
    applies its tie-break and `validate` warns beforehand.
    """

    ALWAYS = "always"  # every record read says when it last changed
    CHANGE_FEED = "change_feed"  # only records read through the change feed (not full listings)
    NEVER = "never"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a connector's schema."""

    name: str
    type: str = "string"
    read_only: bool = False
    description: str = ""


@dataclass(frozen=True)
class FieldSchema:
    """Standard fields, custom-field prefixes (`metadata.`) and read-only derived fields."""

    fields: Sequence[FieldSpec]
    custom_prefixes: Sequence[str] = ()

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def spec(self, name: str) -> FieldSpec | None:
        """The spec of a field, custom fields included; None when the connector has no such field."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        for prefix in self.custom_prefixes:
            if name.startswith(prefix) and len(name) > len(prefix):
                return FieldSpec(name=name, description="custom field")
        return None

    def has(self, name: str) -> bool:
        return name == "id" or self.spec(name) is not None

    def writable(self, name: str) -> bool:
        spec = self.spec(name)
        return spec is not None and not spec.read_only


@dataclass(frozen=True)
class RateLimit:
    """Requests allowed per period (seconds) and in flight at once."""

    requests: float
    per_seconds: float = 1.0
    max_concurrency: int = 4


@dataclass(frozen=True)
class Capabilities:
    """What the app can do; the engine adapts its plan and warnings to it."""

    tags: bool = True
    batch_size: int = 1
    rate_limit: RateLimit = field(default_factory=lambda: RateLimit(requests=10))
    change_feed: ChangeFeed = ChangeFeed.FULL_SCAN
    idempotency: bool = False
    deletion_signal: bool = True
    unsubscribe_signal: bool = False
    source_of_truth: bool = False
    source_of_truth_reason: str = ""
    change_times: ChangeTimes = ChangeTimes.ALWAYS


class ConnectorSettings(BaseModel):
    """Base of every connector's account settings: `base_url` points the same code at any host."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None


Exclusive = Callable[[str], AbstractAsyncContextManager[Any]]


@dataclass(frozen=True)
class OAuthApp:
    """How `pairsync connect` authorizes one account: authorization code with PKCE and a loopback redirect.

    `keep_from_redirect` names redirect parameters to store as credentials (QuickBooks: `realmId` ->
    `realm_id`); the refresh token is stored under `refresh_token`, where the connector's auth reads it.
    """

    client_id: str
    client_secret: str
    authorization_url: str
    token_url: str
    scopes: tuple[str, ...]
    authorization_params: Mapping[str, str] = field(default_factory=dict)
    client_auth: Literal["basic", "post"] = "post"
    keep_from_redirect: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PermissionCheck:
    """One line of `pairsync check`: a permission an account needs, proven with the cheapest request."""

    name: str
    ok: bool
    required: bool = True
    cost: str = ""  # what a missing permission costs ("every run lists all customers")
    fix: str = ""  # how to grant it
    detail: str = ""  # the app's answer, redacted


class ConnectorContext:
    """What the engine lends a connector: request counting and a place for rotating credentials."""

    def __init__(
        self,
        account: str,
        load_credential: Callable[[str], str | None] | None = None,
        save_credential: Callable[[str, str], None] | None = None,
        exclusive: Exclusive | None = None,
    ) -> None:
        self.account = account
        self.requests = 0
        self.rate_limit_waits = 0
        self._load = load_credential or (lambda _key: None)
        self._save = save_credential or (lambda _key, _value: None)
        self._exclusive: Exclusive = exclusive or (lambda _key: nullcontext())

    def exclusive(self, key: str) -> AbstractAsyncContextManager[Any]:
        """Hold this account's credential `key` alone, across every process sharing the state store, while
        a rotating credential is refreshed (`async with context.exclusive("refresh_token"): ...`)."""
        return self._exclusive(key)

    def count_request(self) -> None:
        self.requests += 1

    def count_rate_limit_wait(self) -> None:
        """The API answered 429: the request waits and is sent again."""
        self.rate_limit_waits += 1

    def load_credential(self, key: str) -> str | None:
        """A credential saved by an earlier run (a rotated refresh token), if any."""
        return self._load(key)

    def save_credential(self, key: str, value: str) -> None:
        """Persist a credential at once (a refresh token that just rotated)."""
        self._save(key, value)


class Connector(ABC):
    """Base class of every connector.

    Subclasses set the class attributes and implement the async operations.
    `list(since)` yields pages; the last page has `last=True` and the cursor
    for the next call. A full listing (`since` None, or a fallback when the
    cursor expired) sets `full=True` on its pages, which is what lets the
    engine treat a missing record as deleted.
    """

    name: ClassVar[str]
    kind: ClassVar[RecordKind] = RecordKind.CONTACT
    schema: ClassVar[FieldSchema]
    capabilities: ClassVar[Capabilities] = Capabilities()
    settings_model: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    match_field: ClassVar[str] = "email"
    origin_field: ClassVar[str | None] = None
    """The flat field where the app keeps pairsync's origin stamp (the id of the record a create was made
    from). It must round-trip: written on create, returned by `get` and `list`. With it the engine
    recognises its own creates after a lost answer, a killed run or a lost state store, even for records
    without a match value. None when the app can keep no stamp: then records without a match value are
    created in this app only when the connection opts in (`match.create_without_key: true`)."""
    connection_options: ClassVar[type[BaseModel] | None] = None
    identity_settings: ClassVar[tuple[str, ...]] = ("base_url",)
    """The settings that select whose data the account reads (host, key, company): when one changes, the
    connection's state belongs to another account and that side starts afresh (engine/identity.py)."""

    def __init__(self, settings: ConnectorSettings, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context

    @abstractmethod
    def list(self, since: Any = None) -> AsyncIterator[Page]:
        """Stream records page by page; a full listing when `since` is None."""

    @abstractmethod
    async def get(self, record_id: str) -> Record | None:
        """One record by id, or None when it does not exist (deleted records may come back flagged)."""

    @abstractmethod
    async def upsert(self, requests: Sequence[WriteRequest]) -> builtins.list[WriteResult]:
        """Create or update records, batched where the API allows; one result per request, in order."""

    async def tag(self, record_id: str, tag: str) -> None:
        """Add a tag; adding a tag the record has changes nothing."""
        raise NotImplementedError(f"{self.name} does not support tags")

    async def untag(self, record_id: str, tag: str) -> None:
        """Remove a tag; removing a tag the record lacks changes nothing."""
        raise NotImplementedError(f"{self.name} does not support tags")

    async def cursor_after_writes(self, cursor: Any) -> Any:
        """The change cursor to save after this run's writes; `cursor` is where the run's read of this app ended.

        A feed that hands a run's own writes back to the next run may make it page through them all (an initial
        sync's creates). A connector that followed its feed while writing returns a later cursor, but only one it
        has checked skips nothing but records the run wrote and knows exactly as they are; the default keeps
        `cursor`."""
        return cursor

    async def aclose(self) -> None:
        """Release network clients."""

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> builtins.list[str]:
        """Check a webhook's signature; return the ids of the records it names, or raise WebhookError."""
        raise WebhookError(f"{self.name} does not accept webhooks")

    def verify_webhook_at(self, token: str | None, headers: Mapping[str, str], body: bytes) -> builtins.list[str]:
        """Like `verify_webhook`, for a delivery to `/webhooks/{account}/{token}`: apps that sign nothing
        (Mailchimp) put a secret in the URL instead. By default only the tokenless URL is accepted."""
        if token is not None:
            raise WebhookError(f"{self.name} webhooks carry no token in their URL")
        return self.verify_webhook(headers, body)

    def webhook_check(self, token: str) -> bool:
        """Whether to answer 200 to an app's GET check of its webhook URL (Mailchimp's, before it saves one)."""
        return False

    @classmethod
    def capabilities_for(cls, settings: ConnectorSettings) -> Capabilities:
        """The capabilities of one configured account (some depend on settings); the class's by default."""
        return cls.capabilities

    @classmethod
    def oauth(cls, settings: ConnectorSettings) -> OAuthApp | None:
        """The OAuth client `pairsync connect` authorizes with; None for apps that take a key in the config."""
        return None

    async def check(self, writes: bool) -> builtins.list[PermissionCheck]:
        """Prove the credentials with the cheapest read, then each permission a connection needs.

        `writes`: some connection writes into this account. The default reads the first page.
        """
        try:
            async for _page in self.list(None):
                break
        except Exception as error:  # noqa: BLE001 - any refusal is the answer this check reports
            return [PermissionCheck("credentials", False, detail=f"{type(error).__name__}: {error}")]
        return [PermissionCheck("credentials", True)]

    @classmethod
    def auth_failure(cls, error: BaseException) -> bool:
        """Whether `error` means the credentials are refused for good (not a transient failure)."""
        return isinstance(error, AuthenticationFailed)

    @classmethod
    def skip_reason(cls, record: Record, options: BaseModel | None) -> str | None:
        """Why the connection's options for this connector (`connection_options`) leave a record out."""
        return None

    @classmethod
    def sandbox(cls) -> type[Sandbox] | None:
        """The sandbox server class for this connector's API, if it ships one."""
        return None


class CursorRefused(Exception):
    """Raised by `list(since)` when the app refuses the cursor (expired, unreadable, of another account): the
    engine lists the side in full instead and says so in a note."""


class Unreachable(Exception):
    """The app did not answer at all (no connection, DNS, TLS, timeout): the engine names the account, the URL and
    what to check. Connectors whose SDK hides httpx raise it; httpx transport errors are recognised as such."""


class AuthenticationFailed(Exception):
    """The app refused the account's credentials for good (revoked key, `invalid_grant`): only reconnecting helps.

    Raise it (or a subclass) from a connector, or recognise the app's own error in `Connector.auth_failure`;
    the engine then marks the account `needs reconnect` and pauses its connections.
    """


class WebhookError(Exception):
    """A webhook that failed verification: it changes nothing."""


class Sandbox(ABC):
    """A stateful local server speaking a connector's real wire format.

    `app()` returns an ASGI application; `settings(base_url)` returns the
    account settings block that reaches it; `seed(n)` adds n sample records.
    Latency, rate limit and fault knobs are attributes the engine's server
    wrapper applies to every request.
    """

    connector_name: ClassVar[str]

    def __init__(self, seed: int = 0, rng_seed: int = 0) -> None:
        self.rng_seed = rng_seed
        if seed:
            self.seed(seed)

    @abstractmethod
    def app(self) -> Any:
        """The ASGI application."""

    @abstractmethod
    def settings(self, base_url: str) -> dict[str, Any]:
        """Account settings (credentials this sandbox accepts, base_url, token_url) for a config."""

    @abstractmethod
    def seed(self, count: int) -> None:
        """Add `count` sample records."""

    @abstractmethod
    def add_record(self, fields: Mapping[str, Any]) -> str:
        """Add one record from engine-style flat fields and return its id (used by the demo and tests)."""

    @abstractmethod
    def update_record(self, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change fields of one record as a user of the app would (an outside edit)."""

    @abstractmethod
    def delete_record(self, record_id: str) -> None:
        """Delete one record as a user of the app would."""

    @abstractmethod
    def records(self) -> list[dict[str, Any]]:
        """Every live record as engine-style flat fields with its `id` (used by tests and the demo)."""

    @abstractmethod
    def error_response(self, status: int, retry_after: float | None = None) -> Any:
        """A starlette Response in the API's own error envelope (429 rate limit, 500, 502, 503)."""

    def quota(self, method: str, path: str) -> str:
        """The rate-limit bucket a request counts against. One bucket by default; an API that meters reads and
        writes separately (Google's per-user read and write quotas) names a bucket for each."""
        return ""


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def check_connector_class(cls: type[Connector]) -> None:
    """Reject a connector class that does not declare what the contract asks for."""
    for attr in ("name", "schema"):
        if not hasattr(cls, attr):
            raise TypeError(f"connector class {cls.__qualname__} does not set `{attr}`")
    origin = getattr(cls, "origin_field", None)
    if origin is not None and not cls.schema.writable(origin):
        raise TypeError(f"connector {cls.name}: origin_field {origin!r} must be a writable field of its schema")
    if not _NAME.match(cls.name):
        raise TypeError(f"connector name {cls.name!r} must be lower-case letters, digits and underscores")
