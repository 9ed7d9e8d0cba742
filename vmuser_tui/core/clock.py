"""UTC time in one place, so tests can freeze it.

Timestamps are stored as ISO 8601 strings in UTC with a ``Z`` suffix and second
precision's microseconds, e.g. ``2026-11-21T09:30:00.123456Z``; they sort as text.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

_FROZEN_ENV = "VMUSER_FROZEN_TIME"


def now() -> datetime:
    """Return the current time as an aware UTC datetime.

    ``VMUSER_FROZEN_TIME`` (an ISO 8601 string) freezes it, for snapshot tests.
    """
    frozen = os.environ.get(_FROZEN_ENV)
    if frozen:
        return parse(frozen)
    return datetime.now(UTC)


def epoch() -> float:
    """The current time in UTC epoch seconds (what lease rows store); frozen with
    :func:`now` by ``VMUSER_FROZEN_TIME``, so a test's "expired 30 s ago" stays 30 s."""
    return now().timestamp()


def iso(dt: datetime | None = None) -> str:
    """Format ``dt`` (default: now) as a UTC ISO 8601 string ending in ``Z``."""
    dt = dt or now()
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    """The current UTC time as stored in the database."""
    return iso(now())


def parse(text: str) -> datetime:
    """Parse a stored timestamp (``...Z`` or with an offset) into an aware UTC datetime."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


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


def parse_when(text: str) -> str:
    """A time given by a user as stored ISO UTC: an ISO 8601 time or date
    (``2026-11-21``, ``2026-11-21T09:30``, with or without an offset: UTC if none), or an
    age before now (``30s``, ``15m``, ``2h``, ``3d``, ``1w``; at most 100 years). Raises
    UsageError."""
    import re
    from datetime import timedelta

    from vmuser_tui.core.errors import UsageError

    text = text.strip()
    m = re.fullmatch(r"(\d+)\s*([smhdw])", text)
    if m:
        from vmuser_tui.core.bounds import MAX_DAYS, MAX_SECONDS, clip

        size = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[m.group(2)]
        # the length first: int() refuses over 4300 digits, and timedelta overflows long before
        if len(m.group(1)) > 12 or int(m.group(1)) * size > MAX_SECONDS:
            raise UsageError(f"the age {clip(text)!r} is too long: at most {MAX_DAYS} days (100 years), "
                             f"e.g. {MAX_DAYS}d or {MAX_DAYS * 24}h")
        return iso(now() - timedelta(seconds=int(m.group(1)) * size))
    try:
        return iso(parse(text))
    except ValueError:
        raise UsageError(f"cannot read the time {text!r}: give an ISO time (2026-11-21T09:30) or an age "
                         "(30m, 2h, 3d)") from None
