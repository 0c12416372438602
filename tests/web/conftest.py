"""A service with two memory accounts and a few runs behind it, for the dashboard's tests."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from engine.config import load_config
from engine.service import ServiceSettings, build_app
from engine.service.app import Service
from engine.testing.memory import MemoryStore

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
FAST = ServiceSettings(shutdown_grace=5.0, webhook_debounce=0.2, config_watch=0.2)


@dataclass
class Dashboard:
    client: TestClient
    service: Service
    left: MemoryStore
    right: MemoryStore

    def csrf(self) -> str:
        return csrf_of(self.client.get("/").text)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf(), **(data or {})}, **kwargs)

    def run(self) -> dict[str, Any]:
        response = self.client.post("/connections/people/run", params={"wait": "true"})
        assert response.status_code == 200, response.text
        summary: dict[str, Any] = response.json()
        return summary


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def write_config(folder: Path, left: str, right: str, **connection: Any) -> Path:
    path = folder / "pairsync.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "accounts": {
                    "crm": {"connector": "memory", "settings": {"store": left}},
                    "billing": {"connector": "memory", "settings": {"store": right}},
                },
                "connections": [
                    {"name": "people", "left": "crm", "right": "billing", **connection},
                    {"name": "paused", "left": "crm", "right": "billing", "enabled": False},
                ],
            },
            sort_keys=False,
        )
    )
    return path


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    """People on both sides, two with hostile names; nothing run yet."""
    tag = uuid.uuid4().hex[:8]
    left, right = MemoryStore.named(f"left-{tag}"), MemoryStore.named(f"right-{tag}")
    left.add({"email": "ada@example.com", "name": SCRIPT})
    left.add({"email": "grace@example.com", "name": IMG})
    right.add({"email": "linus@example.com", "name": "Linus Torvalds"})
    config = write_config(tmp_path, f"left-{tag}", f"right-{tag}", deletions={"review": True}, schedule="1h")
    app, service = build_app(load_config(config), FAST)
    with TestClient(app) as client:
        yield Dashboard(client, service, left, right)
    MemoryStore.forget(f"left-{tag}")
    MemoryStore.forget(f"right-{tag}")
