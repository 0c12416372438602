"""End to end in a real browser: Debian's Chromium, driven by Playwright, against the service on loopback.

`playwright install` downloads a browser and cannot work here; `.ci/run` installs Debian's `chromium`
and these tests launch it by path (PAIRSYNC_CHROMIUM overrides it).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.testing.memory import MemoryStore
from tests.service.conftest import FAST, RunningService, wait_for
from tests.web.conftest import IMG, SCRIPT, write_config

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("PAIRSYNC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run does)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[RunningService, MemoryStore, MemoryStore]]:
    tag = uuid.uuid4().hex[:8]
    left, right = MemoryStore.named(f"left-{tag}"), MemoryStore.named(f"right-{tag}")
    left.add({"email": "ada@example.com", "name": SCRIPT})
    left.add({"email": "grace@example.com", "name": IMG})
    right.add({"email": "linus@example.com", "name": "Linus Torvalds"})
    config = write_config(tmp_path, f"left-{tag}", f"right-{tag}", deletions={"review": True})
    with RunningService(config) as running:
        yield running, left, right
    MemoryStore.forget(f"left-{tag}")
    MemoryStore.forget(f"right-{tag}")


@pytest.fixture
def page(browser: Any, site: Any) -> Iterator[Any]:
    context = browser.new_context()
    opened = context.new_page()
    opened.dialogs = []  # type: ignore[attr-defined]
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))  # type: ignore[attr-defined]
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def url(site: Any, path: str = "/") -> str:
    return f"http://127.0.0.1:{site[0].port}{path}"


def last_run(site: Any) -> dict[str, Any]:
    runs = site[0].runs(connection="people")
    return runs[0] if runs else {}


def run_and_wait(page: Any, site: Any) -> dict[str, Any]:
    """Press Run now on the connections screen and wait until that run has finished."""
    before = last_run(site).get("id", 0)
    page.goto(url(site))
    page.get_by_role("row", name=re.compile("people")).get_by_role("button", name="Run now").click()
    return wait_for(lambda: (r := last_run(site)) and r["id"] > before and r["status"] != "running" and r, 30)


def test_enable_and_disable_a_connection(page: Any, site: Any) -> None:
    page.goto(url(site))
    assert page.evaluate("() => typeof htmx") == "object"  # the vendored htmx loaded and boosts the forms
    row = page.get_by_role("row", name=re.compile("people"))
    row.get_by_role("button", name="Enabled").click()
    row = page.get_by_role("row", name=re.compile("people"))
    row.get_by_role("button", name="Disabled").wait_for()
    assert "disabled" in row.locator(".badge").inner_text()
    assert site[0].http.get("/connections/people").json()["enabled"] is False
    row.get_by_role("button", name="Disabled").click()
    page.get_by_role("row", name=re.compile("people")).get_by_role("button", name="Enabled").wait_for()
    assert site[0].http.get("/connections/people").json()["enabled"] is True


def test_run_now_and_see_the_run_with_its_counts(page: Any, site: Any) -> None:
    run = run_and_wait(page, site)
    assert run["status"] == "ok"
    page.goto(url(site))
    page.get_by_role("row", name=re.compile("people")).get_by_role("link", name="ok").wait_for()
    page.get_by_role("link", name="people").first.click()
    page.get_by_role("link", name=f"#{run['id']}").click()
    page.get_by_role("heading", name=re.compile(f"Run #{run['id']}")).wait_for()
    counts = page.locator("dl.counts").inner_text()
    assert "Created" in counts and "L 1 · R 2" in counts


def test_the_xss_payloads_render_as_text(page: Any, site: Any) -> None:
    run_and_wait(page, site)
    page.goto(url(site, "/ui/connections/people/records"))
    page.get_by_text(SCRIPT).first.wait_for()
    page.get_by_text(IMG).first.wait_for()
    assert page.locator("main img").count() == 0 and page.locator("main script").count() == 0
    page.get_by_text(SCRIPT).first.click()
    page.get_by_role("heading", name=re.compile("alert")).wait_for()
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_resync_a_record(page: Any, site: Any) -> None:
    run_and_wait(page, site)
    _service, left, right = site
    ada = next(i for i, r in left.live().items() if r.fields["email"] == "ada@example.com")
    left.edit(ada, {"phone": "+44 20 7946 0000"})
    before = last_run(site)["id"]
    page.goto(url(site, f"/ui/connections/people/records/left/{ada}"))
    page.get_by_role("button", name="Resync").click()
    run = wait_for(lambda: (r := last_run(site)) and r["id"] > before and r["status"] != "running" and r, 30)
    assert run["trigger"] == "resync" and run["summary"]["updated"]["right"] == 1
    assert any(r.fields.get("phone") == "+44 20 7946 0000" for r in right.live().values())
    page.reload()
    assert page.get_by_role("link", name=re.compile(f"#{run['id']}")).count() >= 1


def test_pick_the_other_value_of_a_conflict_and_the_next_run_writes_it(page: Any, site: Any) -> None:
    run_and_wait(page, site)
    _service, left, right = site
    left_id = next(i for i, r in left.live().items() if r.fields["email"] == "linus@example.com")
    right_id = next(i for i, r in right.live().items() if r.fields["email"] == "linus@example.com")
    left.edit(left_id, {"name": "Linus from the left"})
    right.edit(right_id, {"name": "Linus from the right"})
    assert run_and_wait(page, site)["summary"]["conflicts"] == 1
    kept = right.live()[right_id].fields["name"]
    lost = "Linus from the left" if kept == "Linus from the right" else "Linus from the right"
    page.goto(url(site, "/ui/connections/people/review"))
    row = page.get_by_role("row", name=re.compile(lost))
    row.get_by_role("button", name="Use the lost value").click()
    page.get_by_text("Waiting for the next run").wait_for()
    run_and_wait(page, site)
    assert left.live()[left_id].fields["name"] == right.live()[right_id].fields["name"] == lost


def test_approve_a_deletion(page: Any, site: Any) -> None:
    run_and_wait(page, site)
    _service, left, right = site
    ada = next(i for i, r in left.live().items() if r.fields["email"] == "ada@example.com")
    left.delete(ada)
    assert run_and_wait(page, site)["summary"]["held_for_review"] == 1
    page.goto(url(site, "/ui/connections/people/review"))
    page.get_by_role("heading", name="Deletions waiting for approval (1)").wait_for()
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_role("heading", name="Deletions waiting for approval (0)").wait_for()
    run_and_wait(page, site)
    assert any("pairsync Trash" in r.tags for r in right.live().values() if r.fields["email"] == "ada@example.com")


def test_a_page_beyond_loopback_asks_for_the_token(browser: Any, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    MemoryStore.named(f"l-{tag}")
    MemoryStore.named(f"r-{tag}")
    config = write_config(tmp_path, f"l-{tag}", f"r-{tag}")
    token = "browser-test-token-8c1d"
    try:
        with RunningService(config, replace(FAST, token=token)) as running:
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{running.port}/ui/connections/people")
            page.get_by_role("heading", name="Log in").wait_for()
            page.get_by_label("API token").fill("wrong")
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("alert").wait_for()
            page.get_by_label("API token").fill(token)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("heading", name="people").wait_for()
            assert page.url.endswith("/ui/connections/people")
            assert token not in page.content()
            context.close()
    finally:
        MemoryStore.forget(f"l-{tag}")
        MemoryStore.forget(f"r-{tag}")
