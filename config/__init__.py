"""Tolmach configuration: one pydantic-settings tree for bot and workers."""

from config.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
