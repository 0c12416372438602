"""The shape of a pairsync config file, as pydantic models (also the source of `pairsync schema`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from engine.config.schedule import trigger_for
from engine.notify.models import NotifyTarget


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Direction(StrEnum):
    TWO_WAY = "two-way"
    LEFT_TO_RIGHT = "left-to-right"
    RIGHT_TO_LEFT = "right-to-left"

    def writes(self, side: str) -> bool:
        """Whether this direction writes into `side` ("left" or "right")."""
        if self is Direction.TWO_WAY:
            return True
        return (self is Direction.LEFT_TO_RIGHT) == (side == "right")


class Mode(StrEnum):
    CREATE_AND_UPDATE = "create-and-update"
    CREATE_ONLY = "create-only"
    UPDATE_ONLY = "update-only"

    @property
    def creates(self) -> bool:
        return self is not Mode.UPDATE_ONLY

    @property
    def updates(self) -> bool:
        return self is not Mode.CREATE_ONLY


class Account(Strict):
    connector: str = Field(description="The connector's name, as `pairsync connectors` lists it.")
    settings: dict[str, Any] = Field(default_factory=dict, description="Connector settings; secrets as ${ENV_VAR}.")


class Match(Strict):
    left: str | None = Field(None, description="Field of the left side to match on (default: the connector's).")
    right: str | None = Field(None, description="Field of the right side to match on (default: the connector's).")
    on_duplicate: Literal["skip", "link_oldest"] = "skip"
    create_without_key: bool = Field(
        False,
        description="Create records that have no match value in an app that keeps no origin stamp. A create "
        "whose answer is lost cannot be recognised there, so a crash at the wrong moment can duplicate it.",
    )


class PerSideMode(Strict):
    left: Mode = Mode.CREATE_AND_UPDATE
    right: Mode = Mode.CREATE_AND_UPDATE


class FieldMapping(Strict):
    left: str | list[str] = Field(description="Field (or fields, joined) of the left side.")
    right: str | list[str] = Field(description="Field (or fields, joined) of the right side.")
    direction: Direction | None = Field(None, description="Overrides the connection's direction for this field.")
    enabled: bool = True
    transform: str | None = Field(None, description="Name of a registered transform applied on the way across.")
    transform_args: dict[str, Any] = Field(default_factory=dict)


class MappingConfig(Strict):
    defaults: bool = Field(True, description="Start from the default mapping for this app pair (mappings/).")
    fields: list[FieldMapping] = Field(default_factory=list)


class Condition(Strict):
    """One IF condition: a leaf ({field, op, value}) or a combination (all, any, not)."""

    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(None, alias="not")
    field: str | None = None
    op: str | None = None
    value: Any = None

    @model_validator(mode="after")
    def one_kind(self) -> Condition:
        kinds = [k for k in ("all", "any", "not_", "field") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a condition is exactly one of {all: [...]}, {any: [...]}, {not: ...}, {field, op, value}")
        if self.field is not None and self.op is None:
            raise ValueError("a field condition needs `op` (equals, contains, in, empty, ...)")
        return self


class PerSideCondition(Strict):
    left: Condition | None = None
    right: Condition | None = None


class Action(Strict):
    """One THEN action, applied when writing into a side; with `if`, it follows that condition of the source
    record instead (a conditional tag comes off again when the condition stops holding)."""

    add_tag: str | None = None
    remove_tag: str | None = None
    set_field: str | None = None
    value: Any = None
    if_: Condition | None = Field(None, alias="if", description="Apply only while the source record meets this.")

    @model_validator(mode="after")
    def one_kind(self) -> Action:
        kinds = [k for k in ("add_tag", "remove_tag", "set_field") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("an action is exactly one of add_tag, remove_tag, set_field (with value)")
        return self


class PerSideActions(Strict):
    left: list[Action] = Field(default_factory=list)
    right: list[Action] = Field(default_factory=list)


class TagSignal(Strict):
    enabled: bool = True
    tag: str


class Deletions(TagSignal):
    tag: str = "pairsync Trash"
    review: bool = Field(False, description="Hold each deletion tag in the dashboard's review queue until approved.")


class Unsubscribes(TagSignal):
    tag: str = "pairsync Unsubscribes"


class Breaker(Strict):
    max_share: float = Field(0.5, gt=0, le=1, description="Stop before changing more than this share of links.")
    min_records: int = Field(5, ge=0, description="The share is checked only above this many changed records.")




class Connection(Strict):
    name: str
    left: str = Field(description="Account name of the left side.")
    right: str = Field(description="Account name of the right side.")
    direction: Direction | None = Field(None, description="Omitted: two-way, with a warning for a source of truth.")
    enabled: bool = True
    schedule: str | None = Field(None, description="An interval (15m, 1h) or a cron expression.")
    match: Match = Field(default_factory=Match)
    mode: Mode | PerSideMode = Mode.CREATE_AND_UPDATE
    conflict: Literal["left", "right", "newest"] = "newest"
    mapping: MappingConfig = Field(default_factory=MappingConfig)
    if_: PerSideCondition = Field(default_factory=PerSideCondition, alias="if")
    then: PerSideActions = Field(default_factory=PerSideActions)
    deletions: Deletions = Field(default_factory=Deletions)
    unsubscribes: Unsubscribes = Field(default_factory=Unsubscribes)
    breaker: Breaker = Field(default_factory=Breaker)
    id_field: str | None = Field(None, description="A field of the left side that holds the right side's id.")
    options: dict[str, Any] = Field(default_factory=dict, exclude=True, description="Connector-specific keys.")

    @field_validator("schedule")
    @classmethod
    def schedule_shape(cls, value: str | None) -> str | None:
        if value is not None:
            trigger_for(value)  # the service's own parser: what `serve` would refuse, `validate` refuses
        return value

    def mode_for(self, side: str) -> Mode:
        if isinstance(self.mode, Mode):
            return self.mode
        return self.mode.left if side == "left" else self.mode.right

    @property
    def resolved_direction(self) -> Direction:
        return self.direction or Direction.TWO_WAY


class Config(Strict):
    state: str | None = Field(None, description="SQLAlchemy URL of the state store (default SQLite beside the file).")
    plugins: list[str] = Field(
        default_factory=list, description="Python files (relative to this file) loaded as plugins: trusted code."
    )
    accounts: dict[str, Account]
    connections: list[Connection]
    notify: list[NotifyTarget] = Field(default_factory=list, description="Where failures and recoveries go.")

    @model_validator(mode="after")
    def unique_names(self) -> Config:
        seen: set[str] = set()
        for index, connection in enumerate(self.connections):
            if connection.name in seen:
                raise PydanticCustomError(  # `at` lets the config errors point at the second name's line
                    "duplicate_name",
                    "two connections are named {name}; names must be unique",
                    {"name": repr(connection.name), "at": ("connections", index, "name")},
                )
            seen.add(connection.name)
        return self

    def connection(self, name: str) -> Connection:
        for connection in self.connections:
            if connection.name == name:
                return connection
        raise KeyError(name)
