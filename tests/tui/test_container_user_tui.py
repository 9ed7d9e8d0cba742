"""The TUI says so when a session container is started as root (issue 11, case 8): a
warning toast of its own, the line kept in the messages view. Real engine."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import settle


@pytest.mark.docker
@pytest.mark.parametrize("user", ["root", ""])
async def test_starting_a_root_container_shows_a_warning_toast(world, pilot_at, user):
    world.vm.config.values["docker"]["user"] = user  # as a saved setting applies to the running app
    world.vm.config.values["docker"]["image"] = "vmuser-busybox:local"
    try:
        async with pilot_at("projects", notifications=True, docker_status=world.vm.docker_status) as (pilot, _screen):
            app = pilot.app
            await pilot.press("down", "s")  # web-app: a Docker session
            started = []
            for _ in range(150):  # a container start takes a moment more on a busy machine
                await settle(pilot)
                started = [n for n in app._notifications if n.message.startswith("session ")]
                if started:
                    break
                await asyncio.sleep(0.2)
            await settle(pilot)
            warned = [n for n in app._notifications if "[docker] user" in n.message]
            assert started, [n.message for n in app._notifications]
            if user == "root":
                assert len(warned) == 1 and warned[0].severity == "warning"
                assert any('[docker] user = "root"' in note.text and "set-uid root" in note.text
                           for note in app.history)
            else:
                assert warned == []
    finally:
        for s in world.vm.sessions.list(world.web):
            if s.status == "running":
                world.vm.sessions.stop(s.id)
