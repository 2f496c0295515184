"""pytest plugin (entry point ``neutropenia_kb``): collects rule cases from tests/cases/*.yaml."""

from __future__ import annotations
