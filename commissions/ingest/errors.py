"""The ingestion pipeline's two exceptions, in a module of their own: every stage raises or
catches them, and a module outside the pipeline that needs to tell them apart imports this
one without importing the pipeline (no cycle)."""

from __future__ import annotations

from config.errors import ServiceError


class Skip(Exception):
    """The event is not ours to act on (an unreferred customer, a zero invoice…)."""


class MalformedEvent(ServiceError):
    """The stored payload does not have the shape its type promises."""
