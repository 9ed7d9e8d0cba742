"""Forget on a real database: dry runs change nothing, a real run deletes exactly the rows the
policy lets go, keeps the timeline connected and logs itself; gc then frees their data, and
every checkpoint left still restores byte for byte.

Sixty automatic checkpoints, one per hour from 2025-03-01 00:00 UTC (the clock is frozen per
capture with VMUSER_FROZEN_TIME), so checkpoint ``i`` is ``i`` hours in: 0-23 on 1 March,
24-47 on 2 March, 48-59 on 3 March. Number 5 is manual, 20 tagged, 30 annotated.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from wsutil import describe_difference, snapshot, write

from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.retention import RetentionPolicy

START = datetime(2025, 3, 1, tzinfo=UTC)
AFTER = (START + timedelta(days=3)).isoformat()  # "now" for the forget calls


def freeze(monkeypatch, t: datetime) -> None:
    monkeypatch.setenv("VMUSER_FROZEN_TIME", t.isoformat())


@pytest.fixture
def history(vm, monkeypatch):
    """``(project, ids, contents)``: ids[i] is checkpoint i; contents[i] its workspace."""
    rng = random.Random(5)
    project = vm.projects.create("Hourly")
    ws = Path(project.workspace)
    write(ws, "src/app.py", "print('same in every checkpoint')\n")
    ids, contents = [], []
    for i in range(60):
        write(ws, "state.bin", rng.randbytes(6000))  # unique to checkpoint i: freed once it goes
        write(ws, "log.txt", "".join(f"hour {n}\n" for n in range(i + 1)))
        freeze(monkeypatch, START + timedelta(hours=i))
        kind = "manual" if i == 5 else "auto"
        tags = ["keep-me"] if i == 20 else []
        cp = vm.checkpoints.create(project.id, kind=kind, tags=tags, description=f"hour {i}").checkpoint
        if i == 30:
            vm.checkpoints.annotate(cp.id, "flaky test seen here")
        ids.append(cp.id)
        contents.append(snapshot(ws))
    freeze(monkeypatch, datetime.fromisoformat(AFTER))
    return project, ids, contents


def rows(vm) -> list[tuple]:
    return [tuple(r.values()) for r in vm.db.query("SELECT * FROM checkpoints ORDER BY id")]


def log_size(vm) -> int:
    return vm.db.query_one("SELECT COUNT(*) AS n FROM operation_log")["n"]


POLICY = RetentionPolicy(keep_last=3, keep_daily=2)
# Worked out by hand: last 3 = 59, 58, 57; daily 2 = 59 (3 March), 47 (2 March 23:00);
# protected: 30 (annotated), 20 (tagged), 5 (manual).
EXPECTED_KEPT = {
    59: ("last", "daily", "newest", "head"),
    58: ("last",),
    57: ("last",),
    47: ("daily",),
    30: ("annotated",),
    20: ("tagged",),
    5: ("manual",),
}


def test_dry_run_previews_and_changes_nothing(vm, history):
    project, ids, _ = history
    before, log_before = rows(vm), log_size(vm)
    result = vm.forget(project.name, POLICY, dry_run=True)
    assert result.dry_run
    assert {ids.index(c.id): why for c, why in result.kept} == EXPECTED_KEPT
    assert sorted(ids.index(c.id) for c in result.forgotten) == sorted(set(range(60)) - set(EXPECTED_KEPT))
    assert rows(vm) == before and log_size(vm) == log_before


def test_forget_then_gc_frees_data_and_what_is_left_restores_exactly(vm, history):
    project, ids, contents = history
    state_blob = {i: vm.checkpoints.entry(ids[i], "state.bin").hash for i in range(60)}
    stored_before = vm.storage_stats()

    result = vm.forget(project.id, POLICY)
    gone = set(range(60)) - set(EXPECTED_KEPT)
    assert {ids.index(c.id) for c in result.forgotten} == gone
    left = {
        r["id"]: r for r in vm.db.query("SELECT id, parent_id FROM checkpoints WHERE project_id = ?", (project.id,))
    }
    assert set(left) == {ids[i] for i in EXPECTED_KEPT}
    # the timeline stays connected: each kept checkpoint's parent is the kept one before it
    order = sorted(EXPECTED_KEPT)
    assert left[ids[order[0]]]["parent_id"] is None
    for older, newer in itertools.pairwise(order):
        assert left[ids[newer]]["parent_id"] == ids[older], (older, newer)
    assert vm.projects.get(project.id).head_checkpoint_id == ids[59]
    entry = vm.log(project=project.id, operation="checkpoint.forget")[0]
    assert sorted(entry["details"]["forgotten"]) == sorted(ids[i] for i in gone)
    # forget removes rows only: the data is still stored until gc
    assert vm.db.query_one("SELECT 1 AS x FROM blobs WHERE hash = ?", (state_blob[0],)) is not None

    freed = vm.gc()
    assert freed.bytes >= len(gone) * 6000 * 0.9  # random bytes do not compress
    for i in range(60):
        present = vm.db.query_one("SELECT 1 AS x FROM blobs WHERE hash = ?", (state_blob[i],)) is not None
        assert present == (i in EXPECTED_KEPT), i
    assert vm.storage_stats()["blob_bytes"] <= stored_before["blob_bytes"] - len(gone) * 6000 * 0.9
    assert vm.gc().bytes == 0

    ws = Path(project.workspace)
    for i in sorted(EXPECTED_KEPT):
        vm.restores.restore(ids[i])
        assert snapshot(ws) == contents[i], describe_difference(contents[i], snapshot(ws))


def test_head_and_previewed_ids_are_respected(vm, history, monkeypatch):
    project, ids, _ = history
    vm.forget(project.id, POLICY)
    # restoring hour 47 makes it the head: a stricter policy must keep it anyway
    vm.restores.restore(ids[47])
    assert vm.projects.get(project.id).head_checkpoint_id == ids[47]
    strict = RetentionPolicy(keep_last=1)
    preview = vm.forget(project.id, strict, dry_run=True)
    assert {ids.index(c.id) for c in preview.forgotten} == {58, 57}
    assert {c.id: why for c, why in preview.kept}[ids[47]] == ("head",)

    # a checkpoint arrives after the preview: what the preview did not show is not forgotten
    write(Path(project.workspace), "late.txt", "late\n")
    freeze(monkeypatch, START + timedelta(hours=61))
    late = vm.checkpoints.create(project.id, kind="auto").checkpoint
    result = vm.forget(project.id, strict, only=[c.id for c in preview.forgotten])
    assert {c.id for c in result.forgotten} == {ids[58], ids[57]}
    reasons = {c.id: why for c, why in result.kept}
    assert reasons[late.id] == ("last", "newest", "head")
    assert reasons[ids[59]] == reasons[ids[47]] == ("not in the preview",)  # 47 is no longer the head
    # the late checkpoint's parent was hour 47 (the head then); still connected
    assert vm.checkpoints.get(late.id).parent_id == ids[47]


def test_an_empty_policy_is_refused_and_changes_nothing(vm, history):
    project, _, _ = history
    before = rows(vm)
    with pytest.raises(UsageError, match="empty"):
        vm.forget(project.id, RetentionPolicy(include_manual=True))
    assert rows(vm) == before


def test_the_config_policy_is_the_default(make_vm, history):
    vm2 = make_vm(config_text="[retention]\nkeep_last = 2\nkeep_hourly = 0\nkeep_daily = 0\nkeep_weekly = 0\n")
    project, ids, _ = history
    result = vm2.forget(project.id, dry_run=True)
    assert [c.id for c, _ in result.kept][:2] == [ids[59], ids[58]]
    assert {ids.index(c.id) for c, _ in result.kept} == {59, 58, 30, 20, 5}
