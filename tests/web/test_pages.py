"""Every dashboard page and fragment through Starlette's test client: status, content, escaping, CSRF, actions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from engine.secrets import REDACTOR
from engine.service.runs import Live
from engine.state.review import DELETION
from engine.state.store import process_holder
from tests.web.conftest import IMG, SCRIPT, Dashboard


def record_link(html: str, side: str) -> str:
    return re.findall(rf'href="(/ui/connections/people/records/{side}/[^"]+)"', html)[0]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", ["<h1>Connections</h1>", "people", "paused", "off in config", "Run now"]),
        ("/ui/connections/people", ["Field mapping", "<code>email</code>", "default", "Recent runs", "#1"]),
        ("/ui/connections/people/preview", ["Preview of people", "Nothing to do"]),
        ("/ui/runs/1", ["Run #1 of", "Per-record events", "created", "Requests"]),
        ("/ui/connections/people/records", ["Records of people", "ada@example.com", "linus@example.com", "synced"]),
        ("/ui/connections/people/review", ["Deletions waiting for approval (0)", "Conflicts"]),
        ("/ui/connections/people/failures", ["Failures of people", "Nothing is failing"]),
        ("/login", ["Log in"]),
    ],
)
def test_every_page_renders(dashboard: Dashboard, path: str, expected: list[str]) -> None:
    dashboard.run()
    response = dashboard.client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    for wanted in expected:
        assert wanted in response.text, wanted


@pytest.mark.parametrize(
    "path", ["/ui/connections/nobody", "/ui/runs/999", "/ui/connections/people/records/left/nobody"]
)
def test_unknown_things_are_404_pages(dashboard: Dashboard, path: str) -> None:
    response = dashboard.client.get(path)
    assert response.status_code == 404 and "Not found" in response.text


@pytest.mark.parametrize(
    ("path", "block_id", "not_in_fragment"),
    [
        ("/ui/connections/people/records?q=ada", "records_list", "<h1>"),
        ("/ui/runs/1?kind=created", "events_list", "<h1>"),
        ("/ui/connections/people", "runs_list", "Field mapping"),
        ("/", "connections_rows", "<table"),
    ],
)
def test_fragments_are_blocks_of_the_same_page(
    dashboard: Dashboard, path: str, block_id: str, not_in_fragment: str
) -> None:
    dashboard.run()
    whole = dashboard.client.get(path).text
    by_query = dashboard.client.get(path + ("&" if "?" in path else "?") + f"fragment={block_id}").text
    by_htmx = dashboard.client.get(path, headers={"HX-Request": "true", "HX-Target": block_id}).text
    assert by_query == by_htmx
    assert not_in_fragment in whole and not_in_fragment not in by_query
    assert by_query.strip() and by_query.strip() in whole


@pytest.mark.parametrize("payload", [SCRIPT, IMG])
def test_hostile_record_names_render_as_text_everywhere(dashboard: Dashboard, payload: str) -> None:
    dashboard.run()
    records = dashboard.client.get("/ui/connections/people/records").text
    pages = [records, dashboard.client.get("/ui/runs/1").text]
    links = set(re.findall(r'href="(/ui/connections/people/records/[^"]+)"', records))
    pages += [dashboard.client.get(link).text for link in links]
    for html in pages:
        assert payload not in html
        assert "<img src=x" not in html and "<script>alert" not in html
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&#34;&gt;&lt;img" in html for html in pages)


def test_search_by_email_name_and_id_and_the_synced_filter(dashboard: Dashboard) -> None:
    dashboard.run()
    url = "/ui/connections/people/records"
    assert "linus@example.com" in dashboard.client.get(url, params={"q": "LINUS@example.com"}).text
    assert "linus@example.com" in dashboard.client.get(url, params={"q": "Torvalds"}).text
    by_name = dashboard.client.get(url, params={"q": "Torvalds"}).text
    assert "ada@example.com" not in by_name
    left_id = next(iter(dashboard.left.live()))
    assert left_id in dashboard.client.get(url, params={"q": left_id}).text
    assert "not synced" not in dashboard.client.get(url, params={"synced": "yes"}).text.split("<tbody>")[1]
    assert "No record" in dashboard.client.get(url, params={"synced": "no"}).text


def test_lists_page_with_a_next_link(dashboard: Dashboard) -> None:
    for n in range(60):
        dashboard.left.add({"email": f"p{n:02d}@example.com", "name": f"Person {n}"})
    dashboard.run()
    first = dashboard.client.get("/ui/connections/people/records").text
    after = re.search(r'after=([^"&]+)">Next records', first)
    assert after, "no next page link"
    second = dashboard.client.get(f"/ui/connections/people/records?after={after.group(1)}").text
    ids = lambda html: set(re.findall(r'href="/ui/connections/people/records/(\w+/[^"]+)"', html))  # noqa: E731
    assert ids(first) and ids(second) and not ids(first) & ids(second)


@pytest.mark.parametrize(
    "path",
    [
        "/ui/connections/people/disable",
        "/ui/connections/people/run",
        "/ui/connections/people/review/pick",
        "/ui/connections/people/review/deletions",
        "/ui/connections/people/records/left/x/resync",
        "/logout",
    ],
)
def test_every_post_without_the_csrf_token_is_refused(dashboard: Dashboard, path: str) -> None:
    for data in ({}, {"csrf_token": "0" * 64}):
        response = dashboard.client.post(path, data=data)
        assert response.status_code == 403, path
    assert dashboard.client.get("/connections/people").json()["enabled"] is True


def test_a_post_from_a_visitor_without_a_session_is_refused(dashboard: Dashboard) -> None:
    token = dashboard.csrf()
    dashboard.client.cookies.clear()
    assert dashboard.client.post("/ui/connections/people/disable", data={"csrf_token": token}).status_code == 403


def test_enable_switch_and_run_now(dashboard: Dashboard) -> None:
    off = dashboard.post("/ui/connections/people/disable", follow_redirects=False)
    assert off.status_code == 303
    assert dashboard.client.get("/connections/people").json()["enabled"] is False
    assert "badge disabled" in dashboard.client.get("/").text
    assert dashboard.post("/ui/connections/people/run").status_code == 409
    dashboard.post("/ui/connections/people/enable")
    assert dashboard.client.get("/connections/people").json()["enabled"] is True
    refused = dashboard.post("/ui/connections/paused/enable")
    assert refused.status_code == 409 and "enabled: false" in refused.text


def test_health_is_never_ok_while_the_last_run_failed(dashboard: Dashboard) -> None:
    dashboard.right.fail_ids.add("ada@example.com")
    assert dashboard.run()["failed"] == 1
    home = dashboard.client.get("/").text
    assert "badge failing" in home and "badge ok" not in home
    failures = dashboard.client.get("/ui/connections/people/failures").text
    assert "injected failure" in failures and "Retry" in failures


def test_resync_and_retry_run_a_targeted_sync_of_that_record(dashboard: Dashboard) -> None:
    dashboard.right.fail_ids.add("ada@example.com")
    dashboard.run()
    assert "injected failure" in dashboard.client.get("/ui/connections/people/failures").text
    dashboard.right.fail_ids.clear()
    ada = next(i for i, r in dashboard.left.live().items() if r.fields["email"] == "ada@example.com")
    dashboard.post(f"/ui/connections/people/records/left/{ada}/resync")
    runs = dashboard.client.get("/runs", params={"connection": "people"}).json()["runs"]
    assert runs[0]["trigger"] == "resync" or dashboard.service.runs.running("people")


def test_pick_the_losing_value_of_a_conflict(dashboard: Dashboard) -> None:
    dashboard.run()
    linus = next(iter(dashboard.right.live()))
    left_linus = next(i for i, r in dashboard.left.live().items() if r.fields["email"] == "linus@example.com")
    dashboard.left.edit(left_linus, {"name": "Linus L"})
    dashboard.right.edit(linus, {"name": "Linus R"})
    assert dashboard.run()["conflicts"] == 1
    review = dashboard.client.get("/ui/connections/people/review").text
    assert "Linus L" in review and "Linus R" in review
    event = re.search(r'name="event" value="(\d+)"', review)
    assert event
    dashboard.post("/ui/connections/people/review/pick", {"event": event.group(1)})
    assert "Waiting for the next run" in dashboard.client.get("/ui/connections/people/review").text
    kept = dashboard.right.live()[linus].fields["name"]
    lost = "Linus L" if kept == "Linus R" else "Linus R"
    dashboard.run()
    assert dashboard.right.live()[linus].fields["name"] == lost == dashboard.left.live()[left_linus].fields["name"]


@pytest.mark.parametrize("bulk", [False, True])
def test_approve_held_deletions_one_by_one_or_in_bulk(dashboard: Dashboard, bulk: bool) -> None:
    dashboard.run()
    for record_id in list(dashboard.left.live()):
        dashboard.left.delete(record_id)
    assert dashboard.run()["held_for_review"] == 3
    review = dashboard.client.get("/ui/connections/people/review").text
    assert "Deletions waiting for approval (3)" in review
    items = re.findall(r'name="item" value="(\d+)"', review)
    if bulk:
        dashboard.client.post(
            "/ui/connections/people/review/deletions",
            data={"csrf_token": dashboard.csrf(), "item": items, "decision": "approved"},
        )
    else:
        dashboard.post("/ui/connections/people/review/deletions", {"one": f"{items[0]}:approved"})
        dashboard.post("/ui/connections/people/review/deletions", {"one": f"{items[1]}:dismissed"})
    assert dashboard.service.store.count_review("people", DELETION) == (0 if bulk else 1)
    summary = dashboard.run()
    assert summary["tagged"]["right"] == (3 if bulk else 1)
    trashed = [r for r in dashboard.right.live().values() if "pairsync Trash" in r.tags]
    assert len(trashed) == (3 if bulk else 1)


def test_the_stream_sends_the_connections_rows(dashboard: Dashboard) -> None:
    with dashboard.client.stream("GET", "/ui/stream", params={"events": 1}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    assert body.startswith("event: connections\n") and "data: " in body and "/ui/connections/people" in body


def test_static_assets_and_their_licence_are_served(dashboard: Dashboard) -> None:
    html = dashboard.client.get("/").text
    for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert dashboard.client.get(path).status_code == 200, path
    assert "BSD" in dashboard.client.get("/static/vendor/htmx.LICENSE").text


def test_the_json_api_keeps_its_answers(dashboard: Dashboard) -> None:
    assert dashboard.client.get("/connections").headers["content-type"] == "application/json"
    assert dashboard.client.get("/healthz").json()["status"] == "ok"
    assert dashboard.client.get("/records", params={"connection": "people"}).status_code == 200


def test_a_run_in_progress_streams_its_progress_bar(dashboard: Dashboard) -> None:
    dashboard.service.runs.live["people"] = Live("api", phase="writing", done=3, total=10)
    try:
        with dashboard.client.stream("GET", "/ui/stream", params={"events": 1}) as response:
            body = "".join(response.iter_text())
        assert '<progress max="10" value="3"' in body and "3 / 10 writes" in body and "badge running" not in body
        assert 'progress aria-label="reading both sides"' not in body
    finally:
        dashboard.service.runs.live.pop("people")


def test_known_secrets_never_reach_a_page(dashboard: Dashboard) -> None:
    secret = "sk_live_dashboard_" + "9f8e7d6c5b4a"
    REDACTOR.add(secret)
    dashboard.left.add({"email": "leak@example.com", "name": f"Pasted {secret}"})
    dashboard.run()
    for path in ("/ui/connections/people/records?q=leak", "/ui/runs/1"):
        html = dashboard.client.get(path).text
        assert secret not in html
    assert "Pasted" in dashboard.client.get("/ui/connections/people/records", params={"q": "leak"}).text


@pytest.mark.parametrize(("holder_alive", "badge"), [(False, "stalled"), (True, "running")])
def test_a_run_row_left_running_is_stalled_unless_a_live_process_holds_it(
    dashboard: Dashboard, holder_alive: bool, badge: str
) -> None:
    """A run stuck "running" after its process died shows as stalled, not as running (nor as ok)."""
    store = dashboard.service.store
    store.start_run("people", "schedule")  # the row a killed process leaves behind
    if holder_alive:
        assert store.acquire("run:people", process_holder())  # this process: alive
    else:
        assert store.acquire("run:people", "otherhost:1:dead")  # another machine's expired-or-not holder
        with store.engine.begin() as tx:
            tx.execute(text("UPDATE locks SET expires_at = '2000-01-01 00:00:00' WHERE name = 'run:people'"))
    assert f"badge {badge}" in dashboard.client.get("/").text
