"""Connections in YAML: models, loading, and errors that point at the line."""

from engine.config.errors import ConfigError, Problem
from engine.config.loaded import AccountSetup, LoadedConfig
from engine.config.loader import load_config
from engine.config.models import Config, Connection, Direction, Mode

__all__ = [
    "AccountSetup",
    "Config",
    "ConfigError",
    "Connection",
    "Direction",
    "LoadedConfig",
    "Mode",
    "Problem",
    "load_config",
]
