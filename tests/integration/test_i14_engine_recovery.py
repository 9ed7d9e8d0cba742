"""An interrupted restore of a workspace that lives on another engine is finished at the
next start, as a local one is (issue 14, item 5: "under the existing restore journal").

The engine is this host's own engine under another name (``twin``): for vmuser it is an
engine other than ``local``, so the workspace is the volume ``vmuser-ws-<project>`` there,
reached through the helper container, exactly as on a remote host.
"""

from __future__ import annotations

import pytest

from vmuser_tui.core import journal

pytestmark = pytest.mark.docker

CONFIG = '[engines.twin]\nurl = "unix:///var/run/docker.sock"\n'


def _sh(vm, sid: str, script: str) -> str:
    result = vm.sessions.exec(sid, ["sh", "-c", script])
    assert result.exit_code == 0, result.output
    return result.output.decode()


def test_a_restore_killed_half_way_on_an_engine_is_finished_at_the_next_start(make_vm, tmp_path, docker_available):
    vm = make_vm(config_text=CONFIG)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("old a\n")
    (src / "b.txt").write_text("old b\n")
    project = vm.projects.create("twinproj", import_dir=str(src))
    first = vm.checkpoints.create(project.id, description="old").checkpoint
    session = vm.sessions.start(project.id, engine="twin").session
    try:
        _sh(vm, session.id, "echo new a > a.txt && rm b.txt && echo c > c.txt")
        second = vm.checkpoints.create(project.id, description="new").checkpoint
        # a restore to `first` that was killed after writing half: a.txt back, c.txt still there
        _sh(vm, session.id, "echo old a > a.txt")
        entry = journal.begin(vm.db, project_id=project.id, workspace="engine:twin", checkpoint_id=first.id,
                              target_tree=first.root_tree, pre_checkpoint_id=second.id,
                              pre_tree=second.root_tree, paths=None)
        vm.db.conn.execute("UPDATE restore_journal SET pid = ?, pid_start = ? WHERE id = ?",
                           (2**22 + 12345, 1, entry.id))  # its owner: a process that is gone
        vm.db.conn.commit()
        again = make_vm(config_text=CONFIG)  # the next start recovers
        assert any(n.startswith("finished an interrupted restore") for n in again.notes), again.notes
        assert _sh(again, session.id, "cd /workspace && ls && cat a.txt b.txt").split("\n") == \
            ["a.txt", "b.txt", "old a", "old b", ""]
        assert journal.entries(again.db) == []
        assert again.projects.get(project.id).head_checkpoint_id == first.id
    finally:
        vm.sessions.stop(session.id)
        vm.delete_project(project.id)
