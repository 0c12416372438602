"""Beyond loopback the dashboard asks for the API token once and keeps a session cookie; the API keeps its bearer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from engine.config import load_config
from engine.service import build_app
from engine.testing.memory import MemoryStore
from tests.web.conftest import FAST, csrf_of, write_config

TOKEN = "dashboard-test-token-5f2c"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[TestClient]:
    tag = uuid.uuid4().hex[:8]
    MemoryStore.named(f"l-{tag}").add({"email": "ada@example.com", "name": "Ada"})
    MemoryStore.named(f"r-{tag}")
    app, _service = build_app(load_config(write_config(tmp_path, f"l-{tag}", f"r-{tag}")), replace(FAST, token=TOKEN))
    with TestClient(app, base_url="https://dashboard.example") as client:
        yield client
    MemoryStore.forget(f"l-{tag}")
    MemoryStore.forget(f"r-{tag}")


def log_in(client: TestClient, token: str = TOKEN, target: str = "/") -> object:
    form = client.get(f"/login?next={target}").text
    return client.post(
        "/login", data={"csrf_token": csrf_of(form), "token": token, "next": target}, follow_redirects=False
    )


@pytest.mark.parametrize(
    "path", ["/", "/ui/connections/people", "/ui/runs/1", "/ui/connections/people/records", "/ui/stream"]
)
def test_every_page_asks_for_the_token_first(guarded: TestClient, path: str) -> None:
    response = guarded.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    assert "Log in" in guarded.get(path).text


def test_htmx_requests_without_a_session_are_sent_to_the_login(guarded: TestClient) -> None:
    response = guarded.get("/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login"


def test_a_wrong_token_is_refused_and_never_shown(guarded: TestClient) -> None:
    response = log_in(guarded, token="not-it")
    assert response.status_code == 401 and "not-it" not in response.text  # type: ignore[attr-defined]
    assert guarded.get("/", follow_redirects=False).status_code == 303


def test_the_token_buys_a_strict_http_only_secure_session(guarded: TestClient) -> None:
    response = log_in(guarded, target="/ui/connections/people")
    assert response.status_code == 303 and response.headers["location"] == "/ui/connections/people"  # type: ignore[attr-defined]
    cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
    for flag in ("HttpOnly", "SameSite=strict", "Secure", "Path=/"):
        assert flag.lower() in cookie.lower(), flag
    page = guarded.get("/")
    assert page.status_code == 200 and "people" in page.text and TOKEN not in page.text


def test_the_login_does_not_send_people_to_another_site(guarded: TestClient) -> None:
    response = log_in(guarded, target="//evil.example/")
    assert response.headers["location"] == "/"  # type: ignore[attr-defined]


def test_the_login_form_itself_needs_its_csrf_token(guarded: TestClient) -> None:
    guarded.get("/login")
    refused = guarded.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert refused.status_code == 403


def test_the_api_still_wants_its_bearer_token_and_not_the_cookie(guarded: TestClient) -> None:
    log_in(guarded)
    assert guarded.get("/connections").status_code == 401
    assert guarded.get("/connections", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_logging_out_ends_the_session(guarded: TestClient) -> None:
    log_in(guarded)
    csrf = csrf_of(guarded.get("/").text)
    guarded.post("/logout", data={"csrf_token": csrf})
    assert guarded.get("/", follow_redirects=False).status_code == 303
