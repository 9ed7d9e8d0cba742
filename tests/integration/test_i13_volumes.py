"""Issue 13: a devcontainer.json's named volumes belong to the project: labelled with it when
the engine creates them, and removed with it by ``project delete`` (no volume left behind)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmuser_tui.core.runtime import LABEL_PROJECT

pytestmark = pytest.mark.docker


def test_project_delete_removes_the_volumes_its_sessions_made(make_vm, docker_projects):
    client, made = docker_projects
    vm = make_vm()
    p = vm.projects.create("Volumes")
    made.append(p.id)
    dc = Path(p.workspace, ".devcontainer")
    dc.mkdir()
    (dc / "devcontainer.json").write_text(json.dumps({
        "image": "vmuser-busybox:local",
        "mounts": ["source=cache,target=/cache,type=volume"],
    }))
    s = vm.sessions.start(p.id).session
    ours = client.volumes.list(filters={"label": f"{LABEL_PROJECT}={p.id}"})
    assert [v.name for v in ours] == [f"vmuser-{p.id}-cache"]
    vm.sessions.stop(s.id)
    result = vm.projects.delete(p.id, sessions=vm.sessions)
    assert client.volumes.list(filters={"label": f"{LABEL_PROJECT}={p.id}"}) == []
    assert result["volumes"] == [f"vmuser-{p.id}-cache"]


def test_hot_swap_note_does_not_claim_a_checkpoint_when_snapshots_are_off(make_vm, docker_projects):
    _, made = docker_projects
    vm = make_vm(config_text="[runtime]\nmax_running = 1\n[snapshots]\nenabled = false\n")
    a, b = vm.projects.create("Swap A"), vm.projects.create("Swap B")
    made.extend([a.id, b.id])
    first = vm.sessions.start(a.id).session
    notes = vm.sessions.start(b.id).notes
    assert any(f"stopped session {first.id}" in n and "not checkpointed" in n for n in notes), notes
    assert vm.checkpoints.list(a.id) == []


def test_exec_starts_in_the_devcontainer_workspace_folder(make_vm, docker_projects):
    _, made = docker_projects
    vm = make_vm()
    p = vm.projects.create("Folder")
    made.append(p.id)
    Path(p.workspace, ".devcontainer.json").write_text(json.dumps(
        {"image": "vmuser-busybox:local", "workspaceFolder": "/src/app"}))
    Path(p.workspace, "marker.txt").write_text("here\n")
    s = vm.sessions.start(p.id).session
    assert vm.sessions.exec(s.id, ["sh", "-c", "pwd; cat marker.txt"]).output == b"/src/app\nhere\n"
    chunks: list[bytes] = []
    vm.sessions.exec_stream(s.id, ["pwd"], on_output=lambda _stream, data: chunks.append(data))
    assert b"".join(chunks) == b"/src/app\n"
    out = vm.sessions.exec_stream(s.id, ["pwd"], workdir="/workspace", on_output=lambda _s, d: chunks.append(d))
    assert out is not None and chunks[-1] == b"/workspace\n"
