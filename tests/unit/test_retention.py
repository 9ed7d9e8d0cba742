"""Retention (restic's forget rules) over a synthetic year of hourly automatic checkpoints.

The year: one ``auto`` checkpoint at the top of every hour of 2025, UTC, 8,760 in all; the
newest is 2025-12-31 23:00 (a Wednesday, in ISO week 2026-W01). The clock is injected
(``now`` = 2026-01-01 00:00), so nothing depends on when the test runs. Every expected set
below was worked out by hand from restic's rules and is written out literally.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.retention import RetentionPolicy, apply, parse_duration

START = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Rec:
    id: str
    created_at: datetime
    kind: str = "auto"
    tags: list = field(default_factory=list)
    annotations: list = field(default_factory=list)


def year() -> list[Rec]:
    # ids are the timestamps themselves, so failures read as times
    return [Rec(f"{t:%Y-%m-%d %H:%M}", t) for t in (START + timedelta(hours=h) for h in range(365 * 24))]


def kept(policy: RetentionPolicy, records=None, now=NOW) -> list[str]:
    result = apply(policy, records if records is not None else year(), now=now)
    assert len(result.keep) + len(result.forget) == len(records if records is not None else year())
    return [d.id for d in result.keep]


def reasons(policy: RetentionPolicy, records=None) -> dict[str, tuple[str, ...]]:
    return {d.id: d.reasons for d in apply(policy, records if records is not None else year(), now=NOW).keep}


def test_synthetic_year_has_8760_hourly_checkpoints():
    records = year()
    assert len(records) == 8760
    assert (records[0].id, records[-1].id) == ("2025-01-01 00:00", "2025-12-31 23:00")


def test_keep_last_keeps_the_n_newest():
    assert kept(RetentionPolicy(keep_last=5)) == [
        "2025-12-31 23:00", "2025-12-31 22:00", "2025-12-31 21:00", "2025-12-31 20:00", "2025-12-31 19:00",
    ]  # fmt: skip


def test_keep_hourly_keeps_one_per_hour():
    assert kept(RetentionPolicy(keep_hourly=3)) == ["2025-12-31 23:00", "2025-12-31 22:00", "2025-12-31 21:00"]


def test_keep_daily_keeps_the_last_checkpoint_of_each_of_the_newest_days():
    assert kept(RetentionPolicy(keep_daily=7)) == [
        "2025-12-31 23:00", "2025-12-30 23:00", "2025-12-29 23:00", "2025-12-28 23:00",
        "2025-12-27 23:00", "2025-12-26 23:00", "2025-12-25 23:00",
    ]  # fmt: skip


def test_keep_weekly_uses_iso_weeks_across_the_year_boundary():
    # Mon 29 Dec - Sun 4 Jan is 2026-W01; the weeks before end on Sundays 28, 21 and 14 Dec.
    assert kept(RetentionPolicy(keep_weekly=4)) == [
        "2025-12-31 23:00", "2025-12-28 23:00", "2025-12-21 23:00", "2025-12-14 23:00",
    ]  # fmt: skip


def test_keep_monthly_with_counts_left_also_keeps_the_oldest():
    # 12 months hold checkpoints; the 13th count keeps the oldest one (restic >= 0.17).
    assert kept(RetentionPolicy(keep_monthly=13)) == [
        "2025-12-31 23:00", "2025-11-30 23:00", "2025-10-31 23:00", "2025-09-30 23:00",
        "2025-08-31 23:00", "2025-07-31 23:00", "2025-06-30 23:00", "2025-05-31 23:00",
        "2025-04-30 23:00", "2025-03-31 23:00", "2025-02-28 23:00", "2025-01-31 23:00",
        "2025-01-01 00:00",
    ]  # fmt: skip
    assert reasons(RetentionPolicy(keep_monthly=13))["2025-01-01 00:00"] == ("monthly (oldest)",)
    # with no count left, the oldest goes
    assert kept(RetentionPolicy(keep_monthly=12))[-1] == "2025-01-31 23:00"


def test_keep_yearly():
    assert kept(RetentionPolicy(keep_yearly=1)) == ["2025-12-31 23:00"]
    assert kept(RetentionPolicy(keep_yearly=2)) == ["2025-12-31 23:00", "2025-01-01 00:00"]


def test_rules_combine_as_a_union_with_every_reason():
    policy = RetentionPolicy(keep_last=2, keep_daily=3, keep_weekly=2, keep_monthly=2)
    assert reasons(policy) == {
        "2025-12-31 23:00": ("last", "daily", "weekly", "monthly", "newest"),
        "2025-12-31 22:00": ("last",),
        "2025-12-30 23:00": ("daily",),
        "2025-12-29 23:00": ("daily",),
        "2025-12-28 23:00": ("weekly",),
        "2025-11-30 23:00": ("monthly",),
    }


def test_the_default_config_policy_on_a_year():
    # keep_last 10, keep_hourly 24, keep_daily 7, keep_weekly 4: the last 24 hours (the 10 last
    # are among them), then one per day back to Christmas, then the Sundays of two more weeks.
    result = apply(RetentionPolicy(keep_last=10, keep_hourly=24, keep_daily=7, keep_weekly=4), year(), now=NOW)
    ids = [d.id for d in result.keep]
    assert ids == [f"2025-12-31 {h:02d}:00" for h in range(23, -1, -1)] + [
        "2025-12-30 23:00", "2025-12-29 23:00", "2025-12-28 23:00", "2025-12-27 23:00", "2025-12-26 23:00",
        "2025-12-25 23:00", "2025-12-21 23:00", "2025-12-14 23:00",
    ]  # fmt: skip
    assert len(result.forget) == 8760 - 32


def test_keep_within_counts_back_from_the_newest_checkpoint_not_from_now():
    # strictly after 2025-12-29 23:00: 48 checkpoints from 30 Dec 00:00
    ids = kept(RetentionPolicy(keep_within="2d"))
    assert len(ids) == 48 and (ids[0], ids[-1]) == ("2025-12-31 23:00", "2025-12-30 00:00")
    # a year later nothing changes: the newest checkpoint is the reference (a project left
    # alone does not lose its history), as in restic
    assert kept(RetentionPolicy(keep_within="2d"), now=NOW + timedelta(days=365)) == ids
    assert kept(RetentionPolicy(keep_within="36h"))[-1] == "2025-12-30 12:00"
    assert reasons(RetentionPolicy(keep_within="36h"))["2025-12-30 12:00"] == ("within 36h",)


def test_keep_within_months_move_the_calendar_as_go_does():
    # one month before 31 Dec is "31 Nov", which Go (and restic) normalise to 1 Dec
    ids = kept(RetentionPolicy(keep_within="1m"))
    assert len(ids) == 30 * 24 and ids[-1] == "2025-12-02 00:00"


def test_keep_within_ignores_checkpoints_in_the_future():
    records = year()
    records.append(Rec("future", datetime(2026, 3, 1, tzinfo=UTC)))
    ids = kept(RetentionPolicy(keep_within="2h"), records)
    # the reference is the newest one not after `now`; the future one is kept as newest
    assert ids == ["future", "2025-12-31 23:00", "2025-12-31 22:00"]


def test_manual_tagged_and_annotated_checkpoints_are_protected_and_use_no_bucket():
    records = year()
    by_id = {r.id: r for r in records}
    by_id["2025-12-31 23:00"].kind = "manual"
    by_id["2025-06-15 12:00"].tags = ["release"]
    by_id["2025-03-03 03:00"].annotations = [{"label": "bug seen here"}]
    by_id["2025-02-02 02:00"].kind = "pre-restore"
    got = reasons(RetentionPolicy(keep_daily=2), records)
    assert got == {
        "2025-12-31 23:00": ("manual", "newest"),
        # the manual one does not use up 31 Dec: the newest auto checkpoint is the daily one
        "2025-12-31 22:00": ("daily",),
        "2025-12-30 23:00": ("daily",),
        "2025-06-15 12:00": ("tagged",),
        "2025-03-03 03:00": ("annotated",),
        "2025-02-02 02:00": ("pre-restore",),
    }


def test_include_flags_let_the_rules_decide():
    records = year()
    by_id = {r.id: r for r in records}
    by_id["2025-12-31 23:00"].kind = "manual"
    by_id["2025-06-15 12:00"].tags = ["release"]
    by_id["2025-06-15 12:00"].kind = "manual"
    by_id["2025-03-03 03:00"].annotations = [{"label": "x"}]
    policy = RetentionPolicy(keep_daily=2, include_manual=True, include_annotated=True)
    assert reasons(policy, records) == {
        "2025-12-31 23:00": ("daily", "newest"),
        "2025-12-30 23:00": ("daily",),
        "2025-06-15 12:00": ("tagged",),  # manual is included, but its tag still protects it
    }
    policy = RetentionPolicy(keep_daily=2, include_manual=True, include_tagged=True, include_annotated=True)
    assert kept(policy, records) == ["2025-12-31 23:00", "2025-12-30 23:00"]


@pytest.mark.parametrize(
    "policy",
    [
        RetentionPolicy(keep_last=1),
        RetentionPolicy(keep_weekly=1),
        RetentionPolicy(keep_within="1h"),
        RetentionPolicy(),
    ],
)
def test_newest_is_always_kept_and_says_so(policy):
    records = year()
    for r in records[-3:]:
        r.kind = "manual"
    decisions = apply(policy, records, now=NOW).keep
    assert decisions[0].id == "2025-12-31 23:00" and decisions[0].reasons[-1] == "newest"


def test_an_empty_policy_keeps_everything():
    result = apply(RetentionPolicy(include_manual=True), year(), now=NOW)
    assert len(result.keep) == 8760 and not result.forget
    assert RetentionPolicy().is_empty() and not RetentionPolicy(keep_within="1h").is_empty()
    assert result.keep[1].reasons == ("policy is empty",)
    assert apply(RetentionPolicy(keep_last=3), [], now=NOW).keep == []


def test_gaps_count_buckets_that_hold_checkpoints_not_hours_of_time():
    t = datetime(2025, 5, 5, tzinfo=UTC)
    records = [Rec(f"{h}:{m:02d}", t + timedelta(hours=h, minutes=m)) for h, m in
               ((10, 5), (10, 40), (12, 10), (15, 0), (15, 30))]  # fmt: skip
    assert kept(RetentionPolicy(keep_hourly=3), records) == ["15:30", "12:10", "10:40"]
    # -1 (all) never runs out of counts, so restic's oldest rule keeps 10:05 too
    assert kept(RetentionPolicy(keep_hourly=-1), records) == ["15:30", "12:10", "10:40", "10:05"]


def test_equal_times_keep_the_input_order():
    t = datetime(2025, 5, 5, tzinfo=UTC)
    records = [Rec("b", t), Rec("a", t), Rec("c", t - timedelta(hours=1))]
    assert kept(RetentionPolicy(keep_last=1), records) == ["b"]


def test_stored_iso_strings_work_like_datetimes():
    records = [Rec("x", "2025-12-31T10:00:00.000000Z"), Rec("y", "2025-12-31T09:00:00.000000Z")]
    assert kept(RetentionPolicy(keep_within="1h"), records) == ["x"]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("2d", (0, 0, 2, 0)),
        ("36h", (0, 0, 0, 36)),
        ("1y6m", (1, 6, 0, 0)),
        ("1m15d12h", (0, 1, 15, 12)),
        ("", (0,) * 4),
    ],
)
def test_parse_duration(text, parts):
    d = parse_duration(text)
    assert (d.years, d.months, d.days, d.hours) == parts
    assert str(d) == text  # restic's spelling round-trips


@pytest.mark.parametrize("text", ["2", "2w", "-1d", "d", "1.5h", "2d x"])
def test_bad_durations_name_the_units(text):
    with pytest.raises(UsageError, match=r"y \(years\), m \(months\), d \(days\) or h \(hours\)"):
        parse_duration(text)


def test_bad_counts_are_refused():
    with pytest.raises(UsageError, match="keep-daily"):
        RetentionPolicy(keep_daily=-2)
    with pytest.raises(UsageError, match="keep-within|duration"):
        RetentionPolicy(keep_within="soon")


def test_describe_reads_like_restic():
    assert RetentionPolicy(keep_last=10, keep_daily=-1, keep_within="2d").describe() == (
        "keep 10 last, all daily checkpoints and all within 2d of the newest (rules apply to: auto)"
    )
    assert RetentionPolicy(keep_last=1, include_manual=True).describe().endswith("(rules apply to: auto, manual)")
