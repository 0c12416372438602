"""An account's identity: a fingerprint of the settings that select its data (`Connector.identity_settings`).

Secrets are never stored: a secret setting is kept as a short hash, enough to notice that it changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import SecretStr

from engine.config.loaded import AccountSetup


def described(setup: AccountSetup) -> dict[str, Any]:
    """Each identity setting as it may be shown: its value, or `sha256:…` for a secret."""
    shown: dict[str, Any] = {"connector": setup.connector.name}
    for name in setup.connector.identity_settings:
        value = getattr(setup.settings, name, None)
        if isinstance(value, SecretStr):
            value = "sha256:" + hashlib.sha256(value.get_secret_value().encode()).hexdigest()[:16]
        shown[name] = value if value is None or isinstance(value, str | int | float | bool) else str(value)
    return shown


def fingerprint(shown: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


def what_changed(old: dict[str, Any], new: dict[str, Any]) -> str:
    """`base_url 'http://a' → 'http://b'`, or just the name for a secret."""
    parts = []
    for name in sorted(set(old) | set(new)):
        if old.get(name) == new.get(name):
            continue
        secret = str(new.get(name) or old.get(name) or "").startswith("sha256:")
        parts.append(name if secret else f"{name} {old.get(name)!r} → {new.get(name)!r}")
    return ", ".join(parts) or "its settings"
