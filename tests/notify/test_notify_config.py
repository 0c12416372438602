"""A bad `notify:` entry is reported like every config problem: file, line, key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, load_config

CONFIG = """\
accounts:
  a: {connector: memory, settings: {store: notify-config-a}}
  b: {connector: memory, settings: {store: notify-config-b}}
connections:
  - {name: p, left: a, right: b}
notify:
  - kind: webhok
    url: http://127.0.0.1:9/hook
  - kind: email
    host: smtp.example.com
    from: pairsync@example.com
    to: []
    period: 5 minutes
"""


def test_notify_problems_name_their_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "pairsync.yaml"
    path.write_text(CONFIG)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    found = {(p.line, p.key): p.message for p in raised.value.problems}
    assert "does not match any of the expected tags: 'webhook', 'slack', 'email'" in found[(7, "notify[0]")]
    assert "at least 1 item" in found[(12, "notify[1].to")]
    assert found[(13, "notify[1].period")] == "expected a period such as 30m, 1h or 1d"
