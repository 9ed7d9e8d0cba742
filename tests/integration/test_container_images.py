"""Container state checkpoints on a real engine: with `[snapshots] container_image = true`, a
file written outside /workspace survives a restore that recreates the container, and gc
removes the image once its checkpoint is forgotten."""

from __future__ import annotations

import pytest

from vmuser_tui.core.container_images import LABEL_CHECKPOINT
from vmuser_tui.core.runtime import LABEL_PROJECT

pytestmark = pytest.mark.docker


def sh(vm, sid, script):
    r = vm.sessions.exec(sid, ["sh", "-c", script])
    return r.exit_code, r.output.decode()


def test_container_image_round_trip_and_gc(make_vm, docker_projects):
    client, made = docker_projects
    vm = make_vm(config_text="[snapshots]\ncontainer_image = true\n")
    p = vm.projects.create("stateful")
    made.append(p.id)
    s = vm.sessions.start(p.id).session
    assert sh(vm, s.id, "mkdir -p /tmp/tools && echo v1 > /tmp/tools/tool.txt && echo w > /workspace/w.txt")[0] == 0
    cp = vm.checkpoints.create(p.id, description="with tool")
    assert cp.created and cp.notes == []
    assert cp.checkpoint.image_id == f"vmuser-checkpoint/{p.id}:{cp.checkpoint.id}"
    image = client.images.get(cp.checkpoint.image_id)
    assert image.labels[LABEL_CHECKPOINT] == cp.checkpoint.id

    # The user breaks the container (outside /workspace) and the workspace.
    sh(vm, s.id, "rm -rf /tmp/tools; echo broken > /workspace/w.txt")
    vm.restores.restore(cp.checkpoint.id)
    started = vm.restore_container(cp.checkpoint.id)
    assert vm.sessions.get(s.id).status == "stopped"
    new = started.session.id
    assert sh(vm, new, "cat /tmp/tools/tool.txt /workspace/w.txt") == (0, "v1\nw\n")

    # Forget the checkpoint's row (as retention would), then gc removes its image.
    with vm.db.write() as conn:
        conn.execute("UPDATE checkpoints SET parent_id = NULL WHERE parent_id = ?", (cp.checkpoint.id,))
        conn.execute("UPDATE projects SET head_checkpoint_id = NULL WHERE id = ?", (p.id,))
        conn.execute("DELETE FROM checkpoints WHERE id = ?", (cp.checkpoint.id,))
    vm.sessions.stop(new)  # a container made from the image holds it; the stop checkpoint has its own image
    result = vm.gc()
    assert cp.checkpoint.image_id in result.images
    refs = [t for img in client.images.list(filters={"label": f"{LABEL_PROJECT}={p.id}"}) for t in img.tags]
    assert cp.checkpoint.image_id not in refs


def test_restore_container_without_an_image_says_how(make_vm, docker_projects):
    _client, made = docker_projects
    vm = make_vm()
    p = vm.projects.create("plain")
    made.append(p.id)
    vm.sessions.start(p.id, runtime="none")
    cp = vm.checkpoints.create(p.id)
    from vmuser_tui.core.errors import StateError

    with pytest.raises(StateError, match="container_image = true"):
        vm.restore_container(cp.checkpoint.id)


def test_deleting_a_project_removes_its_checkpoint_images(make_vm, docker_projects):
    client, made = docker_projects
    vm = make_vm(config_text="[snapshots]\ncontainer_image = true\n")
    p = vm.projects.create("doomed")
    made.append(p.id)
    vm.sessions.start(p.id)
    cp = vm.checkpoints.create(p.id)
    assert client.images.get(cp.checkpoint.image_id)
    out = vm.delete_project(p.id)
    assert cp.checkpoint.image_id in out["images"]
    assert client.images.list(filters={"label": f"{LABEL_PROJECT}={p.id}"}) == []
