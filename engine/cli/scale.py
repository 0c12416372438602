"""`pairsync migrate`: pairsync's tables and, on PostgreSQL, the queue's, brought up to date in one step."""

from __future__ import annotations

from engine.cli import output
from engine.config.loaded import LoadedConfig
from engine.state.store import StateStore


def migrate_state(loaded: LoadedConfig) -> None:
    store = StateStore(loaded.state_url)  # opening migrates pairsync's own tables
    try:
        output.say(f"state tables up to date ({store.engine.url.render_as_string(hide_password=True)})")
        if store.engine.dialect.name == "postgresql":
            from engine.queue.schema import apply_queue_schema

            output.say(apply_queue_schema(store.engine))
    finally:
        store.close()
