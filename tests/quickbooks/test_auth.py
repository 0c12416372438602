"""OAuth2: refresh before expiry and on 401, rotation persisted across a restart, no token in output."""

from __future__ import annotations

import base64
import logging
import time

import httpx
import pytest

from connectors.quickbooks.auth import REFRESH_TOKEN_KEY
from connectors.quickbooks.connector import QuickBooksConnector
from connectors.quickbooks.errors import QuickBooksAuthError, QuickBooksRevoked
from engine.records import WriteRequest
from tests.quickbooks.conftest import run


def read_one(connector, record_id: str = "1"):
    async def body(c):
        return await c.get(record_id)

    return run(connector, body)


def refresh_with(server, refresh_token: str) -> httpx.Response:
    """What the token endpoint says to a refresh grant with this token (HTTP Basic client auth)."""
    settings = server.settings()
    basic = base64.b64encode(f"{settings['client_id']}:{settings['client_secret']}".encode()).decode()
    return httpx.post(settings["token_url"], data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                      headers={"Authorization": f"Basic {basic}"})


def test_forced_rotation_is_saved_at_once_and_used_after_a_restart(sandbox, server, make_connector, credentials):
    sandbox.seed(1)
    sandbox.tokens.force_rotation = True
    original = sandbox.initial_refresh_token
    assert read_one(make_connector()) is not None
    rotated = credentials.load(REFRESH_TOKEN_KEY)
    assert rotated and rotated != original and credentials.saves == [REFRESH_TOKEN_KEY]
    assert refresh_with(server, original).json() == {"error": "invalid_grant"}, "the stale token is refused"

    assert read_one(make_connector()) is not None, "a restart loads the rotated token from the state store"
    assert credentials.load(REFRESH_TOKEN_KEY) not in (None, rotated), "and saves the next one"


def test_a_restart_without_the_saved_token_fails_clearly(sandbox, make_connector, credentials):
    sandbox.tokens.force_rotation = True
    read_one(make_connector())
    credentials.path.unlink()
    with pytest.raises(QuickBooksAuthError) as raised:
        read_one(make_connector())
    assert "invalid_grant" in str(raised.value)
    assert sandbox.initial_refresh_token not in str(raised.value)


@pytest.mark.parametrize(("age_hours", "rotates"), [(1, False), (25, True)])
def test_refresh_token_rotates_once_it_is_about_a_day_old(sandbox, make_connector, credentials, age_hours, rotates):
    sandbox.tokens.refresh_tokens[sandbox.initial_refresh_token] = time.time() - age_hours * 3600
    read_one(make_connector())
    assert (credentials.load(REFRESH_TOKEN_KEY) is not None) is rotates
    assert (REFRESH_TOKEN_KEY in credentials.saves) is rotates


def test_access_token_is_reused_until_it_nears_expiry(sandbox, make_connector):
    sandbox.seed(1)

    async def body(connector):
        for _ in range(3):
            await connector.get("1")
        return connector.api.tokens.refreshes

    assert run(make_connector(), body) == 1
    sandbox.tokens.access_ttl = 60  # shorter than the refresh leeway: every call refreshes first
    assert run(make_connector(), body) == 3


def test_a_401_refreshes_and_resends_once(sandbox, make_connector):
    sandbox.seed(1)

    async def body(connector):
        await connector.get("1")
        sandbox.tokens.expire_access_tokens()
        record = await connector.get("1")
        return record, connector.api.tokens.refreshes

    record, refreshes = run(make_connector(), body)
    assert record is not None and refreshes == 2


@pytest.mark.parametrize("field", ["client_id", "client_secret"])
def test_wrong_client_credentials_fail_without_showing_secrets(make_connector, field):
    with pytest.raises(QuickBooksAuthError) as raised:
        read_one(make_connector(**{field: "wrong"}))
    assert "invalid_client" in str(raised.value)


def test_secrets_never_appear_in_reprs_errors_or_logs(sandbox, server, make_connector, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox.seed(1)
    connector = make_connector()
    secrets = [sandbox.client_secret, sandbox.initial_refresh_token, sandbox.verifier_token]

    async def body(c):
        await c.get("1")
        return repr(c), repr(c.settings), repr(c.api.tokens), str(c.settings.model_dump())

    shown = " ".join(run(connector, body))
    issued = [*sandbox.tokens.access_tokens, *sandbox.tokens.refresh_tokens]
    for secret in [*secrets, *issued]:
        assert secret not in shown
        assert secret not in caplog.text


def test_a_grant_revoked_during_the_writes_stops_them_instead_of_failing_each_customer(sandbox, make_connector):
    """The company's grant is withdrawn after the run read: the write's 401, the refresh's `invalid_grant`,
    and the revocation reaches the engine (which marks the company `needs reconnect`), not one failed record
    after another."""
    sandbox.seed(1)

    async def body(connector):
        await connector.get("1")
        sandbox.tokens.refresh_tokens.clear()  # the user disconnected the app in QuickBooks
        sandbox.tokens.expire_access_tokens()
        return await connector.upsert([WriteRequest(key="k1", id=None, fields={"DisplayName": "New Person"})])

    with pytest.raises(QuickBooksRevoked) as revoked:
        run(make_connector(), body)
    assert QuickBooksConnector.auth_failure(revoked.value)
