"""OAuth2: refresh before expiry and on 401, rotated refresh tokens saved, secrets never shown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from connectors.google_contacts import GoogleContactsConnector, GoogleContactsSettings
from connectors.google_contacts.auth import MAX_SKEW_SECONDS, REFRESH_TOKEN_KEY, AuthError, RefreshTokenAuth
from connectors.google_contacts.sandbox import GoogleContactsSandbox
from engine.connector import ConnectorContext
from engine.records import WriteRequest

from .conftest import drive

Make = Callable[..., GoogleContactsConnector]


def read_twice(connector: GoogleContactsConnector) -> None:
    async def body(c: GoogleContactsConnector) -> None:
        await c.get("people/c404")
        await c.get("people/c404")

    drive(connector, body)


def test_one_access_token_serves_many_requests(sandbox: GoogleContactsSandbox, make_connector: Make) -> None:
    read_twice(make_connector())
    assert (sandbox.oauth.grants, sandbox.state.unauthorized) == (1, 0)


def test_token_is_refreshed_before_it_expires(sandbox: GoogleContactsSandbox, settings: GoogleContactsSettings) -> None:
    """The auth's own clock is moved, not waited for: refreshed once less than the skew is left, never late."""
    now = [1000.0]

    async def body() -> list[tuple[int, int]]:
        async with httpx.AsyncClient() as token_client:
            auth = RefreshTokenAuth(
                token_client,
                settings.token_url,
                settings.client_id,
                settings.client_secret.get_secret_value(),
                settings.refresh_token.get_secret_value(),
                ConnectorContext("test"),
                clock=lambda: now[0],
            )
            seen = []
            async with httpx.AsyncClient(base_url=settings.api_url, auth=auth) as api:
                for advance in (0.0, sandbox.oauth.token_lifetime - MAX_SKEW_SECONDS - 1, 2.0):
                    now[0] += advance
                    await api.get("/v1/people/c404", params={"personFields": "names"})
                    seen.append((sandbox.oauth.grants, sandbox.state.unauthorized))
            return seen

    seen = asyncio.run(body())
    assert seen == [(1, 0), (1, 0), (2, 0)], "one token until the skew before its expiry, then a new one, no 401"


def test_a_401_refreshes_once_and_repeats_the_request(sandbox: GoogleContactsSandbox, make_connector: Make) -> None:
    record_id = sandbox.add_record({"givenName": "Ada", "email": "ada@example.com"})

    async def body(c: GoogleContactsConnector) -> str | None:
        await c.get(record_id)
        sandbox.oauth.revoke_access_tokens()
        record = await c.get(record_id)
        return record.get("givenName") if record else None

    assert drive(make_connector(), body) == "Ada"
    assert (sandbox.oauth.grants, sandbox.state.unauthorized) == (2, 1)


def test_rotated_refresh_token_is_saved_and_used_by_the_next_run(
    sandbox: GoogleContactsSandbox, settings: GoogleContactsSettings
) -> None:
    sandbox.oauth.rotate_refresh_tokens = True
    saved: dict[str, str] = {}
    context = ConnectorContext("test", load_credential=saved.get, save_credential=saved.__setitem__)

    read_twice(GoogleContactsConnector(settings, context))
    assert saved == {REFRESH_TOKEN_KEY: sandbox.oauth.refresh_token}
    # the settings still hold the first refresh token, which the sandbox no longer accepts
    read_twice(GoogleContactsConnector(settings, context))
    assert sandbox.oauth.grants == 2


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"refresh_token": "1//revoked"}, "HTTP 400 invalid_grant"),
        ({"client_secret": "wrong-secret"}, "HTTP 401 invalid_client"),
    ],
)
def test_refused_refresh_says_why_without_the_secrets(
    make_connector: Make, override: dict[str, str], expected: str
) -> None:
    with pytest.raises(AuthError) as refused:
        read_twice(make_connector(**{k: SecretStr(v) for k, v in override.items()}))
    assert expected in str(refused.value)
    assert all(value not in str(refused.value) for value in override.values())


def test_secrets_never_appear_in_logs_reprs_or_results(
    sandbox: GoogleContactsSandbox, make_connector: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connector = make_connector()
    shown = [repr(connector), repr(connector.settings), str(connector.settings), connector.settings.model_dump_json()]

    async def body(c: GoogleContactsConnector) -> str:
        await c.get("people/c404")
        sandbox.oauth.revoke_access_tokens()
        results = await c.upsert([WriteRequest(key="k1", id=None, fields={"givenName": "Ada", "phone": "nope"}),
                                  WriteRequest(key="k2", id=None, fields={"givenName": "Grace"})])
        return repr(results) + repr(c.api) + repr(c.api.auth)

    shown.append(drive(connector, body))
    secrets = [sandbox.oauth.client_secret, sandbox.oauth.refresh_token, *sandbox.oauth.access_tokens]
    assert len(secrets) == 4 and sandbox.state.unauthorized == 1, "two access tokens, one refused"
    visible = "\n".join([*shown, caplog.text])
    assert [s for s in secrets if s in visible] == []

