"""What `pairsync status` needs of a config: where the state store is and the connection names; no secrets.

Status only reads the state store, so it must work where the API keys are not set (a support shell, cron mail).
Only `state:` has its `${VAR}` references expanded (a database password); account settings are not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.config.errors import ConfigError, Problem
from engine.config.loader import _read
from engine.secrets import UnsetVariable, expand


@dataclass
class StateOnly:
    path: Path
    state: str | None
    connections: list[str]
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)  # connection -> (left, right) account

    @property
    def state_url(self) -> str:
        if self.state:
            return self.state
        folder = self.path.resolve().parent / ".pairsync"
        folder.mkdir(exist_ok=True)
        return f"sqlite:///{folder / 'state.db'}"


def load_state_only(path: str | Path) -> StateOnly:
    path = Path(path)
    try:
        data: Any = yaml.safe_load(_read(path))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Problem(str(path), line, "", "not valid YAML; `pairsync validate` explains")]) from None
    if not isinstance(data, dict):
        raise ConfigError([Problem(str(path), None, "", "expected a mapping with `accounts` and `connections`")])
    state = data.get("state")
    try:
        state = expand(state) if isinstance(state, str) else None
    except UnsetVariable as unset:
        raise ConfigError(
            [Problem(str(path), None, "state", f"environment variable {unset.name} is not set; export it")]
        ) from None
    connections = data.get("connections") or []
    named = [c for c in connections if isinstance(c, dict) and c.get("name")]
    accounts = {str(c["name"]): (str(c.get("left", "")), str(c.get("right", ""))) for c in named}
    return StateOnly(path, state, [str(c["name"]) for c in named], accounts)
