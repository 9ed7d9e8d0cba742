"""Retention policy (restic's ``forget``): which checkpoints to keep, which to forget, and why.

A pure function, no database: :func:`apply` takes a :class:`RetentionPolicy` and
checkpoint-like records and returns a decision for each. It follows restic's
``ApplyPolicy`` (``internal/restic/snapshot_policy.go``) rule for rule:

- Candidates are sorted newest first (a stable sort: equal times keep the input order).
- ``keep_last N`` keeps the N newest; ``keep_hourly/daily/weekly/monthly/yearly N`` keep
  the newest checkpoint of each of the N newest *buckets that hold a checkpoint*: an
  hour, a day, an ISO week (Monday to Sunday; 2025-12-31 is in week 2026-W01), a month,
  a year, all in UTC. Empty hours or days are skipped, not counted. ``-1`` means every
  bucket (restic's ``unlimited``).
- A rule that still has counts left when it reaches the oldest candidate keeps that one
  too (restic >= 0.17), which keeps the longest history the counts allow; its reason
  then says e.g. ``"monthly (oldest)"``.
- ``keep_within D`` keeps every candidate created strictly after ``newest - D``, where
  newest is the newest candidate not in the future (restic: relative to the newest
  snapshot, not to now, so a project left alone for a month does not lose everything).
  ``D`` uses restic's units: ``y`` years, ``m`` *months*, ``d`` days, ``h`` hours,
  combined as in ``1m15d`` or ``36h``. Months and years move the calendar as Go's
  ``AddDate`` does: one month before 31 Dec is "31 Nov", normalised to 1 Dec.
- A policy with no rule keeps everything (restic's "policy is empty"); callers that
  delete refuse it instead (see :mod:`vmuser_tui.core.forget`).

vmuser's additions: the rules apply to ``auto`` checkpoints only. ``manual`` and
``pre-restore`` checkpoints, checkpoints with any tag and checkpoints with annotations are
kept (reasons ``"manual"``, ``"pre-restore"``, ``"tagged"``, ``"annotated"``) and do not
use up any bucket, unless the matching ``include_*`` flag makes them candidates. The
newest record of all is always kept (reason ``"newest"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Protocol

from vmuser_tui.core import clock
from vmuser_tui.core.bounds import MAX_COUNT, MAX_DAYS, MAX_SECONDS, clip
from vmuser_tui.core.errors import UsageError

#: The count rules in restic's order, with the reason a kept checkpoint gets for each.
COUNT_RULES = (
    ("keep_last", "last"),
    ("keep_hourly", "hourly"),
    ("keep_daily", "daily"),
    ("keep_weekly", "weekly"),
    ("keep_monthly", "monthly"),
    ("keep_yearly", "yearly"),
)

_DURATION_PART = re.compile(r"(\d+)([a-zA-Z]?)")
_DAWN = datetime.min.replace(tzinfo=UTC)  # restic's zero time: everything is after it


@dataclass(frozen=True)
class Duration:
    """restic's calendar duration: whole years, months, days and hours (no minutes)."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0

    def is_zero(self) -> bool:
        return not (self.years or self.months or self.days or self.hours)

    def __str__(self) -> str:
        """restic's spelling: ``'1y2m3d4h'`` with zero parts left out."""
        parts = ((self.years, "y"), (self.months, "m"), (self.days, "d"), (self.hours, "h"))
        return "".join(f"{n}{unit}" for n, unit in parts if n)

    def before(self, t: datetime) -> datetime:
        """``t`` minus this duration, moving the calendar as Go's ``t.AddDate(-y, -m, -d)``
        then ``Add(-h hours)`` does (days past a month's end roll into the next month).
        Raises OverflowError when that is before year 1."""
        months = t.year * 12 + (t.month - 1) - self.years * 12 - self.months
        year, month0 = divmod(months, 12)
        if year < 1:
            raise OverflowError("before year 1")
        first = t.replace(year=year, month=month0 + 1, day=1)
        return first + timedelta(days=t.day - 1 - self.days, hours=-self.hours)


def parse_duration(text: str) -> Duration:
    """Parse restic's duration syntax: ``'2d'``, ``'36h'``, ``'1y6m'``, ``'1m15d12h'``
    (``m`` is months, as in restic). ``''`` is the zero duration; at most 100 years
    (:data:`~vmuser_tui.core.bounds.MAX_DAYS`). Raises UsageError."""
    s = (text or "").strip()
    values = {"y": 0, "m": 0, "d": 0, "h": 0}
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        unit = m.group(2).lower() if m else ""
        if not m or unit not in values:
            raise UsageError(
                f"bad duration {text!r}: use whole numbers with y (years), m (months), d (days) or h (hours), "
                "e.g. '2d', '36h' or '1m15d'"
            )
        # the length first: int() refuses over 4300 digits
        values[unit] = int(m.group(1)) if len(m.group(1)) <= 12 else MAX_SECONDS
        pos = m.end()
    # a year of 365 days and a month of a twelfth of that, so 100y, 1200m and 36500d all pass
    days = Fraction(values["y"] * 365) + Fraction(values["m"] * 365, 12) + values["d"] + Fraction(values["h"], 24)
    if days > MAX_DAYS:
        raise UsageError(f"bad duration {clip(text)!r}: at most 100 years, e.g. '100y', '1200m', '{MAX_DAYS}d' "
                         f"or '{MAX_DAYS * 24}h'")
    return Duration(values["y"], values["m"], values["d"], values["h"])


@dataclass(frozen=True)
class RetentionPolicy:
    """What to keep (restic's ``ExpirePolicy``). Counts: 0 = rule off, N > 0 = the N newest
    buckets, -1 = every bucket. ``keep_within``: a restic duration (``'2d'``, ``'36h'``),
    relative to the newest checkpoint; ``''`` = off. ``include_*``: let the rules forget
    manual / pre-restore / tagged / annotated checkpoints too (default: they are protected).

    Raises UsageError on a count below -1 or above :data:`~vmuser_tui.core.bounds.MAX_COUNT`,
    or a malformed ``keep_within``.
    """

    keep_last: int = 0
    keep_hourly: int = 0
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_yearly: int = 0
    keep_within: str = ""
    include_manual: bool = False
    include_pre_restore: bool = False
    include_tagged: bool = False
    include_annotated: bool = False

    def __post_init__(self) -> None:
        for name, _ in COUNT_RULES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= MAX_COUNT:
                raise UsageError(f"{name.replace('_', '-')} must be a whole number from 0 to {MAX_COUNT} "
                                 f"(or -1 for all), got {value!r}")
        parse_duration(self.keep_within)

    @classmethod
    def from_config(cls, config, **flags) -> RetentionPolicy:
        """The ``[retention]`` section of a :class:`~vmuser_tui.core.config.Config`, with
        ``flags`` (``include_manual=True``, ...) on top."""
        values = {name: config.get("retention", name) for name, _ in COUNT_RULES}
        return cls(**values, keep_within=config.get("retention", "keep_within"), **flags)

    @property
    def within(self) -> Duration:
        return parse_duration(self.keep_within)

    def is_empty(self) -> bool:
        """True when no rule is set (every count 0, no ``keep_within``): such a policy keeps all."""
        return all(getattr(self, name) == 0 for name, _ in COUNT_RULES) and self.within.is_zero()

    def describe(self) -> str:
        """One line, as restic prints it: ``'keep 10 last, 24 hourly, 7 daily checkpoints and all within 2d'``."""
        counts = [
            f"{'all' if getattr(self, n) == -1 else getattr(self, n)} {word}"
            for n, word in COUNT_RULES
            if getattr(self, n)
        ]
        text = f"{', '.join(counts)} checkpoints" if counts else ""
        if not self.within.is_zero():
            text += (" and " if text else "") + f"all within {self.within} of the newest"
        included = [
            w
            for flag, w in (
                ("include_manual", "manual"),
                ("include_pre_restore", "pre-restore"),
                ("include_tagged", "tagged"),
                ("include_annotated", "annotated"),
            )
            if getattr(self, flag)
        ]
        scope = "auto" + "".join(f", {w}" for w in included)
        return f"keep {text or 'everything'} (rules apply to: {scope})"

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class RetentionRecord(Protocol):
    """What :func:`apply` reads of a record, e.g. a :class:`~vmuser_tui.core.models.Checkpoint`."""

    @property
    def id(self) -> str: ...
    @property
    def created_at(self) -> datetime | str: ...  # aware datetime or stored ISO string (UTC)
    @property
    def kind(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def annotations(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Decision:
    """One record's fate: ``keep`` and, when kept, ``reasons``: protections first
    (``"manual"``, ``"tagged"``...), then ``"within D"``, the count rules in restic's order
    (``"last"``, ``"hourly"``, ..., ``"monthly (oldest)"``), and ``"newest"`` last."""

    record: RetentionRecord
    keep: bool
    reasons: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.record.id


@dataclass
class RetentionResult:
    """:func:`apply`'s answer: ``keep`` and ``forget``, each newest first."""

    keep: list[Decision]
    forget: list[Decision]


def _created(record: RetentionRecord) -> datetime:
    t = record.created_at
    return clock.parse(t) if isinstance(t, str) else t.astimezone(UTC)


def protections(record: RetentionRecord, policy: RetentionPolicy) -> list[str]:
    """Why ``record`` is out of the rules' reach under ``policy`` (empty: it is a candidate)."""
    out = []
    if record.kind == "manual" and not policy.include_manual:
        out.append("manual")
    elif record.kind == "pre-restore" and not policy.include_pre_restore:
        out.append("pre-restore")
    elif record.kind not in ("auto", "manual", "pre-restore"):
        out.append(record.kind)  # a kind this version does not know: never forget it
    if record.tags and not policy.include_tagged:
        out.append("tagged")
    if record.annotations and not policy.include_annotated:
        out.append("annotated")
    return out


def _buckets(t: datetime, nr: int) -> tuple:
    """restic's bucket keys for one candidate: last (unique), hour, day, ISO week, month, year."""
    iso_year, iso_week, _ = t.isocalendar()
    return (
        nr,
        (t.year, t.month, t.day, t.hour),
        (t.year, t.month, t.day),
        (iso_year, iso_week),
        (t.year, t.month),
        t.year,
    )


def apply(policy: RetentionPolicy, records: Iterable[RetentionRecord], *, now: datetime | None = None
          ) -> RetentionResult:
    """Decide, for each record, keep or forget under ``policy``, with restic's rules.

    ``records``: objects with ``id``, ``created_at`` (aware datetime or stored ISO string,
    UTC), ``kind`` (``auto``/``manual``/``pre-restore``), ``tags`` and ``annotations``
    (lists; non-empty means tagged / annotated), e.g. :class:`~vmuser_tui.core.models.Checkpoint`.
    ``now`` (aware UTC; default :func:`clock.now`) only matters for ``keep_within``: as in
    restic, candidates in the future do not count as the newest. Returns both lists newest
    first; every record appears in exactly one. Raises nothing for valid policies.
    """
    now = now or clock.now()
    timed = sorted(((r, _created(r)) for r in records), key=lambda rt: rt[1], reverse=True)
    protected = [protections(r, policy) for r, _ in timed]
    candidates = [i for i, why in enumerate(protected) if not why]
    rules: dict[int, list[str]] = {}
    if policy.is_empty():
        rules = {i: ["policy is empty"] for i in candidates}
        candidates = []
    within = policy.within
    cutoff = None
    if candidates and not within.is_zero():
        past = [timed[i][1] for i in candidates if timed[i][1] < now]
        try:
            cutoff = within.before(max(past)) if past else _DAWN
        except OverflowError:
            cutoff = _DAWN
    counts = [getattr(policy, name) for name, _ in COUNT_RULES]
    last: list[object] = [None] * len(COUNT_RULES)
    for nr, i in enumerate(candidates):
        t = timed[i][1]
        got = rules.setdefault(i, [])
        if cutoff is not None and t > cutoff:
            got.append(f"within {within}")
        keys = _buckets(t, nr)
        oldest = nr == len(candidates) - 1
        for b, (_, word) in enumerate(COUNT_RULES):
            if counts[b] == 0:
                continue
            if keys[b] != last[b]:
                got.append(word)
            elif oldest:  # restic keeps the oldest too while a rule has counts left
                got.append(f"{word} (oldest)")
            else:
                continue
            last[b] = keys[b]
            if counts[b] > 0:
                counts[b] -= 1
    keep: list[Decision] = []
    forget: list[Decision] = []
    for i, (record, _) in enumerate(timed):
        why = protected[i] + rules.get(i, []) + (["newest"] if i == 0 else [])
        (keep if why else forget).append(Decision(record, bool(why), tuple(why)))
    return RetentionResult(keep, forget)
