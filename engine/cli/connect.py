"""`pairsync connect CONFIG ACCOUNT`: authorize an account once; its credentials are kept encrypted in the state.

For connectors that declare OAuth (`Connector.oauth`): the authorization-code flow with PKCE through a
loopback redirect (engine/oauth). For the others (an API key in the config): the credentials are proven
with the cheapest read. Either way a `needs reconnect` mark on the account is cleared.
"""

from __future__ import annotations

import asyncio
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from engine.cli import output
from engine.config import LoadedConfig, load_config
from engine.config.loaded import AccountSetup
from engine.connector import ConnectorContext, OAuthApp
from engine.errors import UserError
from engine.notify.hooks import after_connect
from engine.oauth import ConnectError, Grant, authorize
from engine.state.crypto import SecretBox
from engine.state.store import StateStore

REFRESH_TOKEN_KEY = "refresh_token"


def account_setup(loaded: LoadedConfig, account: str) -> AccountSetup:
    setup = loaded.accounts.get(account)
    if setup is None:
        known = ", ".join(sorted(loaded.accounts))
        raise UserError(f"no account named {account!r} in {loaded.path} (accounts: {known})")
    return setup


def connect(
    config: Annotated[Path, typer.Argument(help="The connections file (YAML).")],
    account: Annotated[str, typer.Argument(help="The account to authorize, as named under `accounts:`.")],
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the authorization URL as the first line and wait.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the browser's redirect.")] = 300.0,
    port: Annotated[
        int, typer.Option(help="Loopback port of the redirect (0: any free one); for apps that match it exactly.")
    ] = 0,
) -> None:
    """Authorize an account (OAuth with PKCE for Google, QuickBooks, plugins); the token is stored encrypted."""
    loaded = load_config(config)
    setup = account_setup(loaded, account)
    store = StateStore(loaded.state_url)
    box = store.secret_box()  # a key problem shows before the user goes through consent
    app = setup.connector.oauth(setup.settings)
    if app is None:
        _prove_key(setup, store)
        _connected(loaded, store, account, f"{account} ({setup.connector.name}): its credentials work")
        return
    grant = asyncio.run(authorize(app, _announcer(app, no_browser), timeout, port))
    _store(store, account, grant)
    _connected(loaded, store, account, f"{account} ({setup.connector.name}): the refresh token is stored encrypted")
    _where(loaded, box)


def _announcer(app: OAuthApp, no_browser: bool) -> Callable[[str], None]:
    def announce(url: str) -> None:
        if no_browser:
            print(url, flush=True)  # the first line of standard output, for scripts and remote shells
            output.errors.print("open the URL above in a browser; waiting for the redirect to this machine ...")
            return
        output.errors.print(f"opening the browser at {app.authorization_url} ... if none opens, visit:\n{url}")
        webbrowser.open(url)

    return announce


def _store(store: StateStore, account: str, grant: Grant) -> None:
    store.forget_credentials(account)
    store.save_credential(account, REFRESH_TOKEN_KEY, grant.refresh_token)
    for key, value in grant.extra.items():
        store.save_credential(account, key, value)


def _prove_key(setup: AccountSetup, store: StateStore) -> None:
    """An account without OAuth: connecting means proving the configured credentials work."""

    async def prove() -> list[str]:
        context = ConnectorContext(
            setup.name,
            lambda key: store.credential(setup.name, key),
            lambda key, value: store.save_credential(setup.name, key, value),
        )
        connector = setup.connector(setup.settings, context)
        try:
            checks = await connector.check(writes=False)
        finally:
            await connector.aclose()
        return [c.detail or c.name for c in checks if c.name == "credentials" and not c.ok]

    try:
        refused = asyncio.run(prove())
    except Exception as error:  # noqa: BLE001 - one line, exit 2, whatever stopped the check
        raise ConnectError(
            f"{setup.name} ({setup.connector.name}) could not be checked: {type(error).__name__}: {error}"
        ) from None
    if refused:
        raise ConnectError(f"{setup.name} ({setup.connector.name}) refused its credentials: {refused[0]}")


def _connected(loaded: LoadedConfig, store: StateStore, account: str, what: str) -> None:
    recovered = store.mark_connected(account)
    output.say(f"connected {what}" + ("; its connections run again" if recovered else ""))
    if recovered:
        for note in asyncio.run(after_connect(loaded, store, account)):
            output.warn(note)


def _where(loaded: LoadedConfig, box: SecretBox) -> None:
    output.say(f"state: {loaded.state_url}; encryption key: {box.source.description}")
    if box.source.created:
        output.say("the key file was created now (mode 0600): keep it beside the state, or set PAIRSYNC_SECRET_KEY")
