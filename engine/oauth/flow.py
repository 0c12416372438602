"""The authorization-code grant with PKCE through a loopback redirect, for `pairsync connect`.

Authlib provides the protocol pieces (the authorization URL, the redirect's `code`
and `state` check, the token request body, PKCE's S256 challenge, random tokens);
httpx sends the one token request. Every failure is a ConnectError with one clear
line, and nothing is stored unless the whole flow succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.errors import MismatchingStateException, MissingCodeException
from authlib.oauth2.rfc6749.parameters import (
    parse_authorization_code_response,
    prepare_grant_uri,
    prepare_token_request,
)
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from engine.connector import OAuthApp
from engine.errors import UserError
from engine.oauth.loopback import LoopbackListener
from engine.secrets import REDACTOR


class ConnectError(UserError):
    """The authorization did not complete (denied, forged, timed out, refused): nothing was stored."""


@dataclass(frozen=True)
class Grant:
    """What the flow obtained: the refresh token and the redirect values the connector keeps."""

    refresh_token: str
    extra: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Grant(extra_keys={sorted(self.extra)})"


async def authorize(app: OAuthApp, announce: Callable[[str], None], timeout: float, port: int = 0) -> Grant:
    """Send the user to the app's consent page (`announce` shows the URL) and exchange the code."""
    try:
        listener = await LoopbackListener(port).start()
    except OSError as error:
        raise ConnectError(f"cannot listen on 127.0.0.1:{port} for the redirect ({error.strerror})") from None
    try:
        verifier = generate_token(64)
        state = generate_token(32)
        announce(authorization_url(app, listener.redirect_uri, state, verifier))
        try:
            redirect = await listener.wait(timeout)
        except TimeoutError:
            raise ConnectError(f"no authorization arrived within {timeout:g} seconds: nothing stored") from None
    finally:
        await listener.close()
    code, params = _checked_redirect(redirect, state)
    refresh_token = await _exchange(app, code, listener.redirect_uri, verifier)
    return Grant(refresh_token, _kept(app, params))


def authorization_url(app: OAuthApp, redirect_uri: str, state: str, verifier: str) -> str:
    uri: str = prepare_grant_uri(
        app.authorization_url,
        app.client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=" ".join(app.scopes),
        state=state,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
        **app.authorization_params,
    )
    return uri


def _checked_redirect(redirect: str, state: str) -> tuple[str, dict[str, str]]:
    params = dict(parse_qsl(urlsplit(redirect).query))
    if "error" in params:
        said = params.get("error_description")
        raise ConnectError(
            f"the authorization was refused ({params['error']}{': ' + said if said else ''}): nothing stored"
        )
    try:
        checked = parse_authorization_code_response(redirect, state=state)
    except MismatchingStateException:
        raise ConnectError(
            "the redirect's state does not match this request (a forged or stale redirect): nothing stored"
        ) from None
    except MissingCodeException:
        raise ConnectError("the redirect carried no authorization code: nothing stored") from None
    return str(checked["code"]), params


async def _exchange(app: OAuthApp, code: str, redirect_uri: str, verifier: str) -> str:
    """The code and PKCE verifier for tokens; only the refresh token is kept."""
    extra = {"client_id": app.client_id, "client_secret": app.client_secret} if app.client_auth == "post" else {}
    body = prepare_token_request(
        "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=verifier, **extra
    )
    auth = httpx.BasicAuth(app.client_id, app.client_secret) if app.client_auth == "basic" else httpx.Auth()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    try:
        async with httpx.AsyncClient(timeout=30.0) as client:
            response = await client.post(app.token_url, content=body, headers=headers, auth=auth)
    except httpx.HTTPError as error:
        raise ConnectError(f"the token endpoint {app.token_url} did not answer ({type(error).__name__})") from None
    answer = _json(response)
    if response.status_code != 200:
        reason = answer.get("error") or f"HTTP {response.status_code}"
        hint = ": check client_id and client_secret" if reason in ("invalid_client", "unauthorized_client") else ""
        raise ConnectError(f"the token endpoint refused the authorization code ({reason}){hint}: nothing stored")
    token = answer.get("refresh_token")
    if not isinstance(token, str) or not token:
        raise ConnectError("the app granted no refresh token (offline access): nothing stored")
    REDACTOR.add(token)
    access = answer.get("access_token")
    if isinstance(access, str):
        REDACTOR.add(access)
    return token


def _kept(app: OAuthApp, params: dict[str, str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, key in app.keep_from_redirect.items():
        if not params.get(name):
            raise ConnectError(f"the redirect carried no {name}: nothing stored")
        kept[key] = params[name]
    return kept


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
