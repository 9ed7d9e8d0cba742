"""Issue 12 in the TUI: the restore dialog, its toast and the operation log count alike
(stumble 6); the dialog offers to restore the container's filesystem for a checkpoint with
a container image, off by default, and that goes through the same core call (real engine)."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Checkbox, Static

from vmuser_tui.core import oplog
from vmuser_tui.core.runtime import LABEL_PROJECT
from vmuser_tui.tui.screens.project import ProjectScreen
from vmuser_tui.tui.screens.restore_confirm import RestoreConfirmScreen

from .conftest import SIZE, make_app, settle


async def _open_restore(pilot, app, project_id: str, checkpoint_id: str) -> RestoreConfirmScreen:
    await settle(pilot)
    app.push_screen(ProjectScreen(project_id))
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ProjectScreen)
    screen.reload(select=checkpoint_id)
    await settle(pilot)
    assert screen.selected_checkpoint() is not None and screen.selected_checkpoint().id == checkpoint_id
    await pilot.press("r")
    await settle(pilot)
    dialog = app.screen
    assert isinstance(dialog, RestoreConfirmScreen) and dialog.preview is not None
    return dialog


def _body(dialog: RestoreConfirmScreen) -> str:
    """The text the dialog's body shows."""
    from rich.console import Console

    with open("/dev/null", "w") as sink:
        console = Console(width=200, record=True, color_system=None, file=sink)
        console.print(dialog.query_one("#restore-body", Static).content)
    return console.export_text()


async def test_dialog_toast_and_log_say_the_same_count(world):
    """Stumble 6: `3 deleted` in the dialog and the toast, `"deleted": 4` in the log."""
    gen = world.workspace / "gen"
    gen.mkdir()
    for name in ("a.o", "b.o", "c.o"):
        (gen / name).write_text(name)
    head = world.checkpoints[-1]
    app = make_app(world.vm)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        dialog = await _open_restore(pilot, app, world.demo, head)
        assert "3 paths in the workspace change: 3 deleted" in _body(dialog)
        assert not dialog.query(Checkbox)  # no container image: nothing offered
        await pilot.press("y")
        await settle(pilot)
        toasts = [n.message for n in app._notifications if n.message.startswith("restored")]
        assert toasts == [f"restored {head}: 3 paths changed: 3 deleted; u undoes"]
    entry = oplog.entries(world.vm.db, project_id=world.demo, operation="checkpoint.restore", limit=1)[0]
    assert entry["details"]["deleted"] == 3
    assert not gen.exists()


def _sh(vm, sid: str, script: str) -> tuple[int, str]:
    r = vm.sessions.exec(sid, ["sh", "-c", script])
    return r.exit_code, r.output.decode()


@pytest.mark.docker
async def test_the_dialog_restores_the_container_too_when_asked(world):
    vm = world.vm
    vm.config.values["docker"]["image"] = "vmuser-busybox:local"
    vm.config.values["snapshots"]["container_image"] = True
    try:
        session = vm.sessions.start(world.demo, runtime="docker").session
        assert _sh(vm, session.id, "echo v1 > /tmp/tool.txt && echo w > /workspace/w.txt")[0] == 0
        cp = vm.checkpoints.create(world.demo, description="with a tool").checkpoint
        assert cp.image_id
        _sh(vm, session.id, "rm /tmp/tool.txt; echo broken > /workspace/w.txt")
        app = make_app(vm)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            dialog = await _open_restore(pilot, app, world.demo, cp.id)
            box = dialog.query_one("#restore-container", Checkbox)
            assert box.value is False and dialog.container is False  # off by default
            box.value = True
            await pilot.press("y")
            for _ in range(150):  # a container start takes a moment on a busy machine
                await settle(pilot)
                if any(n.message.startswith("restored") for n in app._notifications):
                    break
                await asyncio.sleep(0.2)
            toasts = [n for n in app._notifications if n.message.startswith("restored")]
            assert len(toasts) == 1 and toasts[0].severity == "information", [n.message for n in app._notifications]
            assert toasts[0].message.startswith(f"restored {cp.id} and its container: ")  # cut at 80 columns
            full = [note.text for note in app.history if note.text.startswith("restored")]  # the messages view (m)
            assert len(full) == 1
            assert full[0].startswith(f"restored {cp.id} and its container: 1 path changed: 1 overwritten; u undoes")
            assert f"container recreated from {cp.image_id}: session " in full[0]
        assert vm.sessions.get(session.id).status == "stopped"
        running = [s for s in vm.sessions.list(world.demo) if s.status == "running" and s.runtime == "docker"]
        assert len(running) == 1 and running[0].image == cp.image_id
        assert _sh(vm, running[0].id, "cat /tmp/tool.txt /workspace/w.txt") == (0, "v1\nw\n")
    finally:
        for s in vm.sessions.list(world.demo):
            if s.status == "running":
                vm.sessions.stop(s.id)
        _remove_images(world.demo)


@pytest.mark.docker
async def test_a_path_restore_never_offers_the_container(world):
    vm = world.vm
    vm.config.values["docker"]["image"] = "vmuser-busybox:local"
    vm.config.values["snapshots"]["container_image"] = True
    try:
        session = vm.sessions.start(world.demo, runtime="docker").session
        _sh(vm, session.id, "echo w > /workspace/w.txt")
        cp = vm.checkpoints.create(world.demo).checkpoint
        assert cp.image_id
        (world.workspace / "w.txt").write_text("changed\n")
        dialog = RestoreConfirmScreen(cp, paths=["w.txt"])
        assert not dialog.offers_container and dialog.container is False
    finally:
        for s in vm.sessions.list(world.demo):
            if s.status == "running":
                vm.sessions.stop(s.id)
        _remove_images(world.demo)


def _remove_images(project_id: str) -> None:
    import docker

    client = docker.from_env(timeout=60)
    try:
        for c in client.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={project_id}"}):
            c.remove(force=True)
        for img in client.images.list(filters={"label": f"{LABEL_PROJECT}={project_id}"}):
            client.images.remove(img.id, force=True)
    finally:
        client.close()
