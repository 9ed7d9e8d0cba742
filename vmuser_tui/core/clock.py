"""UTC time in one place, so tests can freeze it.

Timestamps are stored as ISO 8601 strings in UTC with a ``Z`` suffix and second
precision's microseconds, e.g. ``2026-11-21T09:30:00.123456Z``; they sort as text.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

_FROZEN_ENV = "VMUSER_FROZEN_TIME"


def now() -> datetime:
    """Return the current time as an aware UTC datetime.

    ``VMUSER_FROZEN_TIME`` (an ISO 8601 string) freezes it, for snapshot tests.
    """
    frozen = os.environ.get(_FROZEN_ENV)
    if frozen:
        return parse(frozen)
    return datetime.now(timezone.utc)


def iso(dt: datetime | None = None) -> str:
    """Format ``dt`` (default: now) as a UTC ISO 8601 string ending in ``Z``."""
    dt = dt or now()
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    """The current UTC time as stored in the database."""
    return iso(now())


def parse(text: str) -> datetime:
    """Parse a stored timestamp (``...Z`` or with an offset) into an aware UTC datetime."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def ago(text: str | None, reference: datetime | None = None) -> str:
    """Humanize a stored timestamp relative to now: ``'5s ago'``, ``'3h ago'``, ``'2d ago'``."""
    if not text:
        return "-"
    seconds = int(((reference or now()) - parse(text)).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
