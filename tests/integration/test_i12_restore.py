"""Issue 12, restore in one place: one count for the dialog, the toast, the CLI and the
operation log (stumble 6); a refused path restore writes nothing, not even its pre-restore
checkpoint; the restore's changes come from the one diff its plan is made from."""

from __future__ import annotations

import pytest

from vmuser_tui.core import oplog
from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.restoring import restore_summary


def _project(vm, files: dict[str, str]):
    p = vm.projects.create("demo")
    ws = vm.projects.workspace_dir(p)
    for rel, text in files.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(text)
    return p, ws


def _last_restore(vm, project_id):
    return oplog.entries(vm.db, project_id=project_id, operation="checkpoint.restore", limit=1)[0]["details"]


def test_a_deleted_folder_counts_the_same_in_preview_report_and_log(vm):
    """Stumble 6: the dialog and the toast said `3 deleted`, the log `"deleted": 4` (the folder
    that held the three files was counted as a fourth deletion)."""
    p, ws = _project(vm, {"keep.txt": "k\n"})
    cp = vm.checkpoints.create(p.id, description="before the build").checkpoint
    for name in ("a.o", "b.o", "c.o"):
        (ws / "build" / name).parent.mkdir(exist_ok=True)
        (ws / "build" / name).write_text(name)
    preview = vm.restores.preview(cp.id)
    assert restore_summary(preview.changes) == "3 paths changed: 3 deleted"
    outcome = vm.restores.restore(cp.id)
    assert outcome.summary() == "3 paths changed: 3 deleted"
    assert not (ws / "build").exists()
    assert _last_restore(vm, p.id)["deleted"] == 3


def test_renamed_back_is_not_counted_as_a_deletion_in_the_log(vm):
    p, ws = _project(vm, {"old.txt": "same content\n"})
    cp = vm.checkpoints.create(p.id).checkpoint
    (ws / "old.txt").rename(ws / "new.txt")
    outcome = vm.restores.restore(cp.id)
    assert outcome.summary() == "1 path changed: 1 renamed back"
    assert _last_restore(vm, p.id)["deleted"] == 0


def test_a_refused_path_restore_leaves_no_checkpoint(vm):
    """The path exists in the workspace but is ignored (never checkpointed), and is not in
    the checkpoint: refused before the pre-restore checkpoint is taken, not after."""
    p, ws = _project(vm, {".vmuserignore": "*.log\n", "a.txt": "a\n"})
    cp = vm.checkpoints.create(p.id).checkpoint
    (ws / "a.txt").write_text("changed\n")  # so a pre-restore checkpoint would be a new one
    (ws / "run.log").write_text("ignored\n")
    before = [c.id for c in vm.checkpoints.list(p.id)]
    with pytest.raises(UsageError, match="run.log"):
        vm.restores.restore(cp.id, paths=["run.log"])
    assert [c.id for c in vm.checkpoints.list(p.id)] == before
    assert (ws / "a.txt").read_text() == "changed\n"


def test_a_path_in_neither_place_is_refused_before_anything_is_written(vm):
    p, ws = _project(vm, {"a.txt": "a\n"})
    cp = vm.checkpoints.create(p.id).checkpoint
    (ws / "a.txt").write_text("changed\n")
    before = [c.id for c in vm.checkpoints.list(p.id)]
    with pytest.raises(UsageError, match="neither in checkpoint"):
        vm.restores.restore(cp.id, paths=["nope.txt"])
    assert [c.id for c in vm.checkpoints.list(p.id)] == before


@pytest.mark.docker
def test_one_call_restores_the_workspace_and_the_container(make_vm, docker_projects):
    _client, made = docker_projects
    vm = make_vm(config_text='[snapshots]\ncontainer_image = true\n[docker]\nimage = "vmuser-busybox:local"\n')
    p = vm.projects.create("stateful")
    made.append(p.id)
    s = vm.sessions.start(p.id).session

    def sh(sid, script):
        r = vm.sessions.exec(sid, ["sh", "-c", script])
        return r.exit_code, r.output.decode()

    assert sh(s.id, "echo v1 > /tmp/tool.txt && echo w > /workspace/w.txt")[0] == 0
    cp = vm.checkpoints.create(p.id, description="with tool").checkpoint
    sh(s.id, "rm /tmp/tool.txt; echo broken > /workspace/w.txt")
    before = [c.id for c in vm.checkpoints.list(p.id)]
    with pytest.raises(UsageError, match="leave out the paths"):  # a container restore is a whole one
        vm.restores.restore(cp.id, paths=["w.txt"], container=True)
    assert [c.id for c in vm.checkpoints.list(p.id)] == before
    outcome = vm.restores.restore(cp.id, container=True)
    assert outcome.container is not None and outcome.container_error is None
    assert outcome.summary() == "1 path changed: 1 overwritten"
    assert vm.sessions.get(s.id).status == "stopped"
    assert sh(outcome.container.session.id, "cat /tmp/tool.txt /workspace/w.txt") == (0, "v1\nw\n")
