"""The built-in transforms and condition operators, registered through the same entry point as plugins."""

from engine.conditions import register_condition_ops
from engine.transforms import register_transforms

__all__ = ["register_condition_ops", "register_transforms"]
