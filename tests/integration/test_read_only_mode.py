"""A read-only client changes nothing (issue 11, case 17).

The service opened read-only (``vmuser tui --read-only``, ``[ui] read_only = true``) used to
refuse restores and checkpoints but let ``projects.create``, ``forget`` and ``gc`` through.
Every changing public method of the service layer is tried here on a read-only client: each
is refused with ``read-only: cannot ...; open vmuser without --read-only to make changes``,
and afterwards every row of every table, the files in the data directory and every
workspace file are byte for byte what they were. Real SQLite, real files.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from vmuser_tui.core.access import ReadOnlyError
from vmuser_tui.core.retention import RetentionPolicy
from vmuser_tui.core.service import Vmuser
from vmuser_tui.core.workers import cleanup


def state(data: Path, workspace: Path) -> str:
    """A digest of every row of every table, the data directory's file names (the WAL files
    aside: they come and go with connections) and every workspace file's path and bytes."""
    h = hashlib.sha256()
    h.update(repr(sorted(p.name for p in data.iterdir() if not p.name.endswith(("-wal", "-shm")))).encode())
    conn = sqlite3.connect(data / "vmuser.db")
    try:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            h.update(table.encode())
            for row in sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{table}"')):
                h.update(row.encode())
    finally:
        conn.close()
    for path in sorted(workspace.rglob("*")):
        h.update(path.relative_to(workspace).as_posix().encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A project with a workspace, two checkpoints, a restore (so there is one to undo),
    an unreachable blob (so gc would remove something), a running session and an idle
    second project that cleanup would delete."""
    tmp = tmp_path_factory.mktemp("ro")
    data, cfg = tmp / "data", tmp / "vmuser.toml"
    cfg.write_text("[cleanup]\nenabled = true\nafter_days = 1\nwarning_days = 0\n")
    vm = Vmuser.open(data_dir=str(data), config_path=cfg)
    p = vm.projects.create("kept")
    ws = Path(p.workspace)
    (ws / "a.txt").write_text("one\n")
    (ws / "d").mkdir()
    (ws / "d" / "b.txt").write_text("bee\n")
    first = vm.checkpoints.create(p.id, description="first").checkpoint
    (ws / "a.txt").write_text("two\n")
    (ws / "gone.txt").write_text("only in a forgotten checkpoint\n")
    vm.checkpoints.create(p.id, description="second")
    (ws / "gone.txt").unlink()
    vm.checkpoints.create(p.id, description="third")
    vm.restores.restore(first.id)
    session = vm.sessions.start(p.id, runtime="none").session
    idle = vm.projects.create("idle")
    with vm.db.write() as conn:  # idle for a year: due for cleanup
        conn.execute("UPDATE projects SET last_active_at = '2025-01-01T00:00:00.000000Z' WHERE id = ?", (idle.id,))
        # a container session as the rows say it (exec and shell need one; the refusal comes
        # before Docker is asked, and no client here reconciles it with Docker)
        conn.execute("UPDATE sessions SET runtime = 'docker', container_id = ? WHERE id = ?", ("c0" * 32, session.id))
    vm.close()
    return {"data": data, "cfg": cfg, "project": p.id, "idle": idle.id, "session": session.id, "first": first.id,
            "workspace": ws, "tmp": tmp}


def _cp(vm, w, i=0):
    return vm.checkpoints.list(w["project"])[i].id


# (name, what the user does) -- every public method of the service layer that changes something.
CHANGES = {
    "projects.create": lambda vm, w: vm.projects.create("new"),
    "projects.create --workspace": lambda vm, w: vm.projects.create("here", workspace=w["tmp"]),
    "projects.pin": lambda vm, w: vm.projects.pin(w["project"]),
    "projects.extend": lambda vm, w: vm.projects.extend(w["project"], days=30),
    "projects.tag": lambda vm, w: vm.projects.tag(w["project"], add=["x"]),
    "projects.delete": lambda vm, w: vm.projects.delete(w["idle"]),
    "delete_project": lambda vm, w: vm.delete_project(w["idle"]),
    "sessions.start": lambda vm, w: vm.sessions.start(w["project"], runtime="none"),
    "sessions.stop": lambda vm, w: vm.sessions.stop(w["session"]),
    "sessions.exec": lambda vm, w: vm.sessions.exec(w["session"], ["true"]),
    "sessions.shell_argv": lambda vm, w: vm.sessions.shell_argv(w["session"]),
    "sessions.reconcile": lambda vm, w: vm.sessions.reconcile(),
    "open_session rw": lambda vm, w: vm.open_session(w["session"], mode="rw"),
    "checkpoints.create": lambda vm, w: vm.checkpoints.create(w["project"], description="x"),
    "checkpoints.create auto": lambda vm, w: vm.checkpoints.create(w["project"], kind="auto"),
    "checkpoints.tag": lambda vm, w: vm.checkpoints.tag(_cp(vm, w), ["t"]),
    "checkpoints.annotate": lambda vm, w: vm.checkpoints.annotate(_cp(vm, w), "label"),
    "checkpoints.restore": lambda vm, w: vm.restores.restore(_cp(vm, w, 1)),
    "checkpoints.restore --path": lambda vm, w: vm.restores.restore(_cp(vm, w, 1), paths=["a.txt"]),
    "checkpoints.undo_restore": lambda vm, w: vm.restores.undo(w["project"]),
    "fs.write": lambda vm, w: vm.fs.write(w["project"], "new.txt", b"x"),
    "fs.mkdir": lambda vm, w: vm.fs.mkdir(w["project"], "newdir"),
    "fs.mv": lambda vm, w: vm.fs.mv(w["project"], "a.txt", "c.txt"),
    "fs.rm": lambda vm, w: vm.fs.rm(w["project"], "d", recursive=True),
    "forget": lambda vm, w: vm.forget(w["project"], RetentionPolicy(keep_last=1, include_manual=True)),
    "gc": lambda vm, w: vm.gc(),
    "cleanup.run": lambda vm, w: cleanup.run(vm),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_a_read_only_client_refuses_every_change_and_changes_no_byte(world, name):
    before = state(world["data"], world["workspace"])
    vm = Vmuser.open(data_dir=str(world["data"]), config_path=world["cfg"], read_only=True)
    try:
        with pytest.raises(ReadOnlyError, match=r"^(read-only: cannot .+; open vmuser without --read-only to make "
                                                r"changes|this vmuser is read-only: .+)$"):
            CHANGES[name](vm, world)
    finally:
        vm.close()
    assert state(world["data"], world["workspace"]) == before, f"{name} changed something"


def test_the_changes_are_real_on_a_read_write_client(world, tmp_path):
    """The table above is not vacuous: the same calls do change things when allowed (dry runs
    of the three that were let through before)."""
    vm = Vmuser.open(data_dir=str(world["data"]), config_path=world["cfg"], reconcile=False)
    try:
        assert vm.forget(world["project"], RetentionPolicy(keep_last=1, include_manual=True), dry_run=True).forgotten
        assert cleanup.plan(vm) and any(i.state == "due" for i in cleanup.plan(vm))
    finally:
        vm.close()
    ro = Vmuser.open(data_dir=str(world["data"]), config_path=world["cfg"], read_only=True)
    try:  # dry runs read only: allowed read-only
        assert ro.forget(world["project"], RetentionPolicy(keep_last=1, include_manual=True), dry_run=True).forgotten
        ro.gc(dry_run=True)
    finally:
        ro.close()


def test_a_read_only_clients_scheduler_runs_no_job(world):
    before = state(world["data"], world["workspace"])
    vm = Vmuser.open(data_dir=str(world["data"]), config_path=world["cfg"], read_only=True)
    try:
        results = vm.scheduler().run_due(force=True)
        assert {r.skipped for r in results} == {"read-only"}
    finally:
        vm.close()
    assert state(world["data"], world["workspace"]) == before


def test_ui_read_only_in_the_config_makes_the_service_read_only(tmp_path, clean_env):
    """``[ui] read_only = true`` is the same as ``vmuser tui --read-only``: not only the keys
    are hidden, the service itself refuses (a palette command or a screen's code cannot slip by)."""
    from vmuser_tui.tui.app import VmuserApp

    cfg = tmp_path / "vmuser.toml"
    cfg.write_text("[ui]\nread_only = true\n")
    vm = Vmuser.open(data_dir=str(tmp_path / "data"), config_path=cfg)
    try:
        app = VmuserApp(vm)
        assert app.read_only
        with pytest.raises(ReadOnlyError, match="read-only: cannot create a project"):
            vm.projects.create("x")
        assert vm.projects.list() == []
    finally:
        vm.close()


def test_a_read_only_open_leaves_an_interrupted_restore_to_a_read_write_one(tmp_path, clean_env):
    """Finishing a restore writes the workspace and the database: a read-only client only says
    the workspace may be half restored; the next read-write open finishes it."""
    import socket

    data, cfg = tmp_path / "data", tmp_path / "none.toml"
    vm = Vmuser.open(data_dir=str(data), config_path=cfg, reconcile=False)
    p = vm.projects.create("j")
    ws = Path(p.workspace)
    (ws / "a.txt").write_text("one\n")
    first = vm.checkpoints.create(p.id, description="first").checkpoint
    (ws / "a.txt").write_text("two\n")
    second = vm.checkpoints.create(p.id, description="second").checkpoint
    with vm.db.write() as conn:  # what a restore to `first` killed with -9 (a dead owner) leaves
        conn.execute("INSERT INTO restore_journal(id, project_id, workspace, checkpoint_id, target_tree, "
                     "pre_checkpoint_id, pre_tree, paths, state, pid, host, pid_start, started_at) "
                     "VALUES ('j1', ?, ?, ?, ?, ?, ?, NULL, 'applying', 999999, ?, 1, '2026-01-01T00:00:00Z')",
                     (p.id, str(ws), first.id, first.root_tree, second.id, second.root_tree, socket.gethostname()))
    vm.close()
    before = state(data, ws)
    ro = Vmuser.open(data_dir=str(data), config_path=cfg, read_only=True)
    try:
        assert any(f"the restore of project {p.id} to checkpoint {first.id} was interrupted" in n
                   for n in ro.notes), ro.notes
    finally:
        ro.close()
    assert state(data, ws) == before and (ws / "a.txt").read_text() == "two\n"
    rw = Vmuser.open(data_dir=str(data), config_path=cfg)
    try:
        assert rw.db.query("SELECT id FROM restore_journal") == []
        assert (ws / "a.txt").read_text() == "one\n"
    finally:
        rw.close()


def test_what_a_read_only_client_may_do_changes_nothing_either(world):
    """Reads (lists, diffs against the live workspace, a restore preview, file reads, the log,
    check) are allowed read-only, and they write nothing: no blob of the live workspace is
    stored by a diff, no stat cache is saved."""
    (world["workspace"] / "live.txt").write_text("not in any checkpoint\n")
    try:
        before = state(world["data"], world["workspace"])
        vm = Vmuser.open(data_dir=str(world["data"]), config_path=world["cfg"], read_only=True)
        try:
            cps = vm.checkpoints.list(world["project"])
            assert {c.path for c in vm.checkpoints.diff(cps[-1].id).changes} >= {"live.txt"}
            vm.restores.preview(cps[-1].id)
            assert vm.fs.read(world["project"], "a.txt", at=cps[-1].id) == b"one\n"
            assert vm.fs.ls(world["project"]) and vm.log() and vm.projects.list()
            assert vm.check().ok
        finally:
            vm.close()
        assert state(world["data"], world["workspace"]) == before
    finally:
        (world["workspace"] / "live.txt").unlink()
