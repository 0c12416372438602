"""Sync rules: the Stripe side of a connection may include or exclude customers by id."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.records import Record

CUSTOMER_ID = re.compile(r"^cus_[A-Za-z0-9]+$")


def invalid_id_message(customer_id: str) -> str:
    return f"Invalid customer ID: {customer_id} (expected cus_ followed by letters and numbers, e.g. cus_abc123)"


class SyncRules(BaseModel):
    """`mode: all | include | exclude` with `ids` as a YAML list or one comma-separated string."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["all", "include", "exclude"] = "all"
    ids: list[str] = Field(default_factory=list)

    @field_validator("ids", mode="before")
    @classmethod
    def _split_and_check(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for item in value:
                text = str(item).strip()
                if not CUSTOMER_ID.match(text):
                    raise ValueError(invalid_id_message(text))
            return [str(item).strip() for item in value]
        return value

    @model_validator(mode="after")
    def _include_needs_ids(self) -> SyncRules:
        if self.mode == "include" and not self.ids:
            raise ValueError("sync_rules: mode include needs at least one customer ID, or it would sync nothing")
        return self

    def reason(self, customer_id: str) -> str | None:
        """Why this rule leaves the customer out, or None when it is synced."""
        if self.mode == "include" and customer_id not in self.ids:
            return f"sync_rules: {customer_id} is not in the include list"
        if self.mode == "exclude" and customer_id in self.ids:
            return f"sync_rules: {customer_id} is in the exclude list"
        return None


class StripeConnectionOptions(BaseModel):
    """Options of a connection that apply to its Stripe side."""

    model_config = ConfigDict(extra="forbid")

    sync_rules: SyncRules = Field(default_factory=SyncRules)


def skip_reason(record: Record, options: BaseModel | None) -> str | None:
    if not isinstance(options, StripeConnectionOptions):
        return None
    return options.sync_rules.reason(record.id)
