"""Ranges for the numbers a user types: settings, CLI options, durations and ages.

Every number that reaches a ``timedelta``, a SQLite ``LIMIT`` or the Docker engine has an
upper bound, so a typo such as ``99999999999`` gets one line naming the allowed range
instead of an ``OverflowError`` deep inside (SQLite integers are 64-bit, ``timedelta``
stops at 999,999,999 days, ``datetime`` at year 9999). The bounds are generous: far above
any real use, far below any overflow.
"""

from __future__ import annotations

from vmuser_tui.core.errors import UsageError

KiB, MiB, GiB, TiB = 1024, 1024**2, 1024**3, 1024**4

#: Days: cleanup ages, ``--days``, ages and durations (100 years).
MAX_DAYS = 36_500
#: Seconds in :data:`MAX_DAYS`: the longest age or duration anything accepts.
MAX_SECONDS = MAX_DAYS * 86_400
#: Counts of checkpoints a retention rule keeps (``keep_*``, ``--keep-*``).
MAX_COUNT = 1_000_000
#: Rows ``vmuser log --limit`` prints.
MAX_LOG_LIMIT = 1_000_000
#: Lines ``vmuser session logs --tail`` asks the engine for.
MAX_TAIL = 1_000_000


def clip(text: str, width: int = 40) -> str:
    """``text`` shortened for a one-line message: a 4,000-digit typo shows its start and
    end (``'99999999999999999999…999d'``), not the whole of it."""
    return text if len(text) <= width else text[: width - 8] + "…" + text[-7:]


def show_size(n: float) -> str:
    """A byte count as a config file would spell it: ``4398046511104`` -> ``'4t'``,
    ``4194304`` -> ``'4m'``, ``1000`` -> ``'1000'`` (exact multiples only)."""
    for suffix, unit in (("t", TiB), ("g", GiB), ("m", MiB), ("k", KiB)):
        if n and n % unit == 0:
            return f"{int(n // unit)}{suffix}"
    return f"{n:g}" if isinstance(n, float) else str(n)


def in_range(what: str, value: int, lo: int, hi: int) -> int:
    """``value`` when ``lo <= value <= hi``; else UsageError (CLI exit 2)
    ``"--tail must be between 0 and 1000000, got 99999999999"``. ``what`` names the
    option as the user typed it."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise UsageError(f"{what} must be between {lo} and {hi}, got {value}")
    return value

