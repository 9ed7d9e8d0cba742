"""A project whose head checkpoint, or a checkpoint whose parent, is gone from the database
(an older backup copied over vmuser.db while the live -wal stayed and was replayed onto it;
a stray tool): `vmuser check` names it, and the next checkpoint is still taken."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest


def sql(db: Path, statement: str, params=()) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(statement, params)
    conn.close()


@pytest.fixture
def timeline(make_vm, data_dir):
    """Project ``web`` with checkpoints c1 <- c2 <- c3 (c3 is the head)."""
    vm = make_vm()
    web = vm.projects.create("web")
    ws = Path(web.workspace)
    ids = []
    for n in range(3):
        (ws / f"f{n}.txt").write_text(f"file {n}\n")
        ids.append(vm.checkpoints.create(web.id, description=f"c{n + 1}").checkpoint.id)
    vm.close()
    return web, ids, data_dir / "vmuser.db"


def test_check_names_a_missing_head_and_a_missing_parent(timeline, make_vm):
    web, (c1, c2, c3), db = timeline
    sql(db, "DELETE FROM checkpoints WHERE id IN (?, ?)", (c2, c3))  # c3 was the head; c2 was c3's parent
    sql(db, "UPDATE checkpoints SET parent_id = ? WHERE id = ?", ("gone000000", c1))
    vm = make_vm(reconcile=False)
    report = vm.check()
    found = {(d.kind, d.id): d.problem for d in report.damaged}
    assert not report.ok
    assert found[("project", web.id)] == f"its head checkpoint {c3} is missing"
    assert found[("checkpoint", c1)] == "its parent checkpoint gone000000 is missing"


def test_a_checkpoint_is_taken_when_the_head_is_missing(timeline, make_vm):
    web, (c1, c2, c3), db = timeline
    sql(db, "DELETE FROM checkpoints WHERE id = ?", (c3,))
    vm = make_vm(reconcile=False)
    (Path(web.workspace) / "new.txt").write_text("after the damage\n")
    created = vm.checkpoints.create(web.id, description="after").checkpoint
    assert created.parent_id is None  # the head it would follow is gone: a new line starts
    assert vm.projects.get(web.id).head_checkpoint_id == created.id
    assert vm.checkpoints.entry(created.id, "new.txt") is not None
