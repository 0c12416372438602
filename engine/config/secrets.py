"""Secret-typed settings (SecretStr) of every account: scrubbed wherever they came from, and a warning
for each one written inline in the config rather than as a `${VAR}` reference."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import SecretStr

from engine.config.loaded import LoadedConfig
from engine.config.locations import Locations, Path
from engine.secrets import REDACTOR


def inline_secrets(loaded: LoadedConfig, locations: Locations, referenced: set[Path]) -> list[str]:
    """Register every secret setting with the redactor; one warning per secret written inline."""
    warnings = []
    for path, value in _secret_settings(loaded):
        REDACTOR.add(value)
        if path not in referenced:
            line = locations.line(path)
            where = f"{loaded.path}:{line}" if line else str(loaded.path)
            key = ".".join(str(part) for part in path)
            variable = f"{path[1]}_{path[-1]}".upper().replace("-", "_")
            warnings.append(
                f"{where}: {key}: a secret written in the config file; it belongs in the environment: "
                f"write `{path[-1]}: ${{{variable}}}` and export {variable} (the value is kept out of output)"
            )
    return warnings


def _secret_settings(loaded: LoadedConfig) -> Iterator[tuple[Path, str]]:
    for name, setup in loaded.accounts.items():
        for field in type(setup.settings).model_fields:
            value = getattr(setup.settings, field)
            if isinstance(value, SecretStr) and value.get_secret_value():
                yield ("accounts", name, "settings", field), value.get_secret_value()
