"""Alembic environment: migrations run programmatically on the connection the store opens."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import engine.state.tables  # noqa: F401  - registers the tables on SQLModel.metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("pairsync migrations run through engine.state.store.StateStore")
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
