"""A validated config: each account's connector class and typed settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FilePath

from pydantic import BaseModel

from engine.config.models import Config, Connection
from engine.connector import Capabilities, Connector, ConnectorSettings
from engine.plugins import Registry


@dataclass
class AccountSetup:
    name: str
    connector: type[Connector]
    settings: ConnectorSettings

    @property
    def capabilities(self) -> Capabilities:
        return self.connector.capabilities_for(self.settings)


@dataclass
class LoadedConfig:
    """A validated config with each account's connector class and typed settings."""

    path: FilePath
    config: Config
    accounts: dict[str, AccountSetup]
    options: dict[str, dict[str, BaseModel | None]] = field(default_factory=dict)
    plugins: Registry | None = None  # installed plugins plus the config's own `plugins:` files, when it lists any
    warnings: list[str] = field(default_factory=list)

    def side(self, connection: Connection, side: str) -> AccountSetup:
        return self.accounts[connection.left if side == "left" else connection.right]

    @property
    def state_url(self) -> str:
        if self.config.state:
            return self.config.state
        folder = self.path.resolve().parent / ".pairsync"
        folder.mkdir(exist_ok=True)
        return f"sqlite:///{folder / 'state.db'}"
