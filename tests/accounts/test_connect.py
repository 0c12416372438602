"""`pairsync connect --no-browser` against each OAuth sandbox, driven as a user would from a shell:
the command prints the authorization URL first, a plain HTTP client follows it, the command exits."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
import yaml

from connectors.google_contacts.sandbox import GoogleContactsSandbox
from connectors.quickbooks.sandbox import QuickBooksSandbox
from engine.config import load_config
from engine.connector import Sandbox
from engine.sandbox import SandboxServer, bound_socket
from engine.state.crypto import KEY_VARIABLE
from engine.state.store import StateStore
from tests.reliability.helpers import PAIRSYNC

KEEP = ("base_url", "token_url", "authorization_url", "client_id", "client_secret")
REALM = QuickBooksSandbox.realm_id


@pytest.fixture(params=["google_contacts", "quickbooks"])
def app(request: pytest.FixtureRequest) -> Iterator[tuple[str, Sandbox, SandboxServer]]:
    sandbox: Sandbox = GoogleContactsSandbox() if request.param == "google_contacts" else QuickBooksSandbox()
    with SandboxServer(sandbox) as server:
        yield request.param, sandbox, server


def write_config(folder: Path, connector: str, server: SandboxServer, **override: Any) -> Path:
    """Only the OAuth client in the settings: no refresh token, no realm id."""
    settings = {k: v for k, v in server.settings().items() if k in KEEP}
    path = folder / "pairsync.yaml"
    path.write_text(yaml.safe_dump({
        "accounts": {"crm": {"connector": connector, "settings": {**settings, **override}},
                     "mem": {"connector": "memory", "settings": {"store": f"connect-{folder.name}"}}},
        "connections": [{"name": "people", "left": "crm", "right": "mem", "direction": "left-to-right"}],
    }))
    return path


def start_connect(config: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != KEY_VARIABLE}
    return subprocess.Popen([PAIRSYNC, "connect", str(config), "crm", "--no-browser", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out + err


def stored(config: Path) -> dict[str, str]:
    store = StateStore(load_config(config).state_url)
    return {key: value for key in ("refresh_token", "realm_id") if (value := store.credential("crm", key))}


def test_connect_stores_the_refresh_token_encrypted_and_a_run_uses_it(app, tmp_path: Path) -> None:
    connector, sandbox, server = app
    config = write_config(tmp_path, connector, server)
    if connector == "quickbooks":
        sandbox.add_record({"GivenName": "Ada", "FamilyName": "Lovelace", "PrimaryEmailAddr.Address": "a@x.io"})
    else:
        sandbox.add_record({"givenName": "Ada", "familyName": "Lovelace", "email": "a@x.io"})
    process = start_connect(config)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith(server.settings()["authorization_url"] + "?")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["code_challenge_method"] == "S256" and query["state"] and query["code_challenge"]

    landed = httpx.get(url, follow_redirects=True)  # consent approves at once; the redirect reaches the listener
    assert landed.status_code == 200 and "pairsync received the authorization" in landed.text
    code, said = finish(process)
    assert code == 0, said
    assert "stored encrypted" in said and "key file" in said

    saved = stored(config)
    assert set(saved) == ({"refresh_token", "realm_id"} if connector == "quickbooks" else {"refresh_token"})
    assert saved.get("realm_id", REALM) == REALM
    state_bytes = b"".join(p.read_bytes() for p in (tmp_path / ".pairsync").iterdir() if p.name.startswith("state"))
    assert saved["refresh_token"].encode() not in state_bytes
    assert saved["refresh_token"] not in said

    ran = subprocess.run([PAIRSYNC, "run", str(config), "--json"], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert '"status": "ok"' in ran.stdout


def test_connect_clears_needs_reconnect(app, tmp_path: Path) -> None:
    connector, _sandbox, server = app
    config = write_config(tmp_path, connector, server)
    StateStore(load_config(config).state_url).mark_needs_reconnect("crm", "invalid_grant")
    process = start_connect(config)
    assert process.stdout is not None
    httpx.get(process.stdout.readline().strip(), follow_redirects=True)
    code, said = finish(process)
    assert code == 0 and "its connections run again" in said
    assert StateStore(load_config(config).state_url).account_health("crm").ok


def _redirect_of(url: str) -> str:
    """The consent page's redirect, not followed."""
    answer = httpx.get(url)
    assert answer.status_code == 302
    return answer.headers["location"]


def _with_state(location: str, state: str | None) -> str:
    parts = urlsplit(location)
    query = {k: v for k, v in parse_qsl(parts.query) if k != "state"}
    if state is not None:
        query["state"] = state
    return parts._replace(query=urlencode(query)).geturl()


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("consent denied", "the authorization was refused (access_denied)"),
        ("wrong state", "state does not match"),
        ("missing state", "state does not match"),
        ("timeout", "no authorization arrived within 1 seconds"),
        ("wrong client secret", "refused the authorization code (invalid_client): check client_id and client_secret"),
    ],
)
def test_bad_input_is_one_clear_line_exit_2_and_nothing_stored(app, tmp_path: Path, case: str, says: str) -> None:
    connector, sandbox, server = app
    override = {"client_secret": "not-the-client-secret"} if case == "wrong client secret" else {}
    config = write_config(tmp_path, connector, server, **override)
    sandbox.authorization.deny = case == "consent denied"  # type: ignore[attr-defined]
    process = start_connect(config, "--timeout", "1" if case == "timeout" else "60")
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if case in ("wrong state", "missing state"):
        forged = _with_state(_redirect_of(url), "forged" if case == "wrong state" else None)
        httpx.get(forged)
    elif case != "timeout":
        httpx.get(url, follow_redirects=True)
    code, said = finish(process)
    assert code == 2, said
    errors = [line for line in said.splitlines() if line.strip() and not line.startswith(("http", "open the URL"))]
    assert len(errors) == 1 and says in errors[0], said
    assert "Traceback" not in said
    assert stored(config) == {}


def test_the_sandbox_settings_line_names_both_oauth_urls(app) -> None:
    _connector, _sandbox, server = app
    settings = server.settings()
    assert settings["authorization_url"].startswith(server.base_url)
    assert settings["token_url"].startswith(server.base_url)


def test_a_refresh_token_written_in_the_config_still_works(tmp_path: Path) -> None:
    sandbox = QuickBooksSandbox()
    with SandboxServer(sandbox) as server:
        config = write_config(tmp_path, "quickbooks", server, refresh_token=sandbox.initial_refresh_token,
                              realm_id=REALM)
        ran = subprocess.run([PAIRSYNC, "run", str(config), "--json"], capture_output=True, text=True)
        assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_credentials_table_never_holds_plaintext(app, tmp_path: Path) -> None:
    connector, _sandbox, server = app
    config = write_config(tmp_path, connector, server)
    process = start_connect(config)
    assert process.stdout is not None
    httpx.get(process.stdout.readline().strip(), follow_redirects=True)
    assert finish(process)[0] == 0
    with sqlite3.connect(tmp_path / ".pairsync" / "state.db") as db:
        values = [row[0] for row in db.execute("SELECT value FROM credentials")]
    assert values and all(v.startswith("v1:") for v in values)


def test_a_fixed_port_for_apps_that_match_the_redirect_exactly(tmp_path: Path) -> None:
    with SandboxServer(QuickBooksSandbox()) as server:
        config = write_config(tmp_path, "quickbooks", server)
        probe = bound_socket("127.0.0.1", 0)  # a port nobody listens on; released just before connect binds it
        port = int(probe.getsockname()[1])
        probe.close()
        process = start_connect(config, "--port", str(port))
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert dict(parse_qsl(urlsplit(url).query))["redirect_uri"] == f"http://127.0.0.1:{port}/callback"
        httpx.get(url, follow_redirects=True)
        assert finish(process)[0] == 0


def test_a_lost_key_file_is_one_line_saying_to_reconnect_and_no_run_is_left_open(tmp_path: Path) -> None:
    with SandboxServer(GoogleContactsSandbox()) as server:
        config = write_config(tmp_path, "google_contacts", server)
        process = start_connect(config)
        assert process.stdout is not None
        httpx.get(process.stdout.readline().strip(), follow_redirects=True)
        assert finish(process)[0] == 0
        (tmp_path / ".pairsync" / "state.db.key").unlink()
        env = {k: v for k, v in os.environ.items() if k != KEY_VARIABLE}
        ran = subprocess.run([PAIRSYNC, "run", str(config)], capture_output=True, text=True, env=env)
        assert ran.returncode == 2, ran.stdout + ran.stderr
        [line] = [x for x in ran.stderr.splitlines() if x.strip()]
        assert "cannot decrypt the saved credentials" in line and "pairsync connect <config> crm" in line
        runs = StateStore(load_config(config).state_url).runs("people")
        assert [r["status"] for r in runs] in ([], ["error"])  # never left `running`
