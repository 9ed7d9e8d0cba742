"""Issue 13 in the TUI: the sessions table's Ports column (only while a session publishes a
port; at 80 columns the Container column gives its cells to it, so Cps stays on screen), and
the status line of the selected session: every port as docker ps writes it, the metadata,
the variables with secret-looking values masked.

Ports, metadata and variable names are written into the world's (runtime none) session
directly: an engine picks random host ports, which a snapshot cannot hold. One test starts a
real container to see values read from the engine, masked."""

from __future__ import annotations

import json

import pytest

from vmuser_tui.core.launch import StartOptions
from vmuser_tui.tui.widgets.status import StatusLine

from .conftest import SIZES, make_app, run_app, settle
from .test_snapshots_project import _open_demo

PORTS = [{"container": 8000, "host": 49153, "host_ip": "127.0.0.1", "protocol": "tcp"},
         {"container": 9000, "host": 8080, "host_ip": "0.0.0.0", "protocol": "tcp"}]


def publish(vm, session_id: str) -> None:
    with vm.db.write() as conn:
        conn.execute("UPDATE sessions SET ports = ?, metadata = ?, env_keys = ? WHERE id = ?",
                     (json.dumps(PORTS), json.dumps({"ticket": "OPS-7"}), json.dumps(["API_TOKEN", "GREETING"]),
                      session_id))


def columns(screen) -> list[str]:
    return [str(c.key.value) for c in screen.panel.ordered_columns]


async def _focus_sessions(pilot) -> str:
    pilot.app.screen.panel.focus()
    await settle(pilot)
    return pilot.app.screen.query_one(StatusLine).message


async def test_no_ports_no_column(pilot_at):
    async with pilot_at("project") as (pilot, screen):
        assert "ports" not in columns(screen) and "container" in columns(screen)


@pytest.mark.parametrize(("size", "want"), [
    ((80, 24), ["id", "status", "runtime", "ports", "started", "uptime", "cps"]),
    ((120, 40), ["id", "status", "runtime", "ports", "container", "started", "uptime", "cps", "image"]),
])
async def test_ports_column_and_status_line(world, size, want):
    publish(world.vm, world.session)
    async with run_app(world.vm, size=size) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert columns(screen) == want  # at 80 columns the Container column makes room (the status line has it)
        assert str(screen.panel.get_cell(world.session, "ports")) == "49153->8000 +1"
        status = await _focus_sessions(pilot)
        assert "ports 127.0.0.1:49153->8000/tcp, 0.0.0.0:8080->9000/tcp · ticket=OPS-7 · env API_TOKEN, GREETING" \
            in status


@SIZES
def test_snapshot_ports_column(snap_world, snap_compare, size):
    publish(snap_world.vm, snap_world.session)

    async def run_before(pilot):
        await _open_demo(pilot)
        pilot.app.screen.panel.focus()
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@pytest.mark.docker
async def test_values_from_the_engine_are_masked(world):
    vm = world.vm
    token = "ghp_" + "Ab3d" * 9
    s = vm.sessions.start(world.demo, image="vmuser-busybox:local",
                          options=StartOptions(env={"API_TOKEN": token, "GREETING": "hi"}, publish=["8000"])).session
    try:
        async with run_app(vm, size=(120, 40)) as pilot:
            await pilot.press("enter")
            await settle(pilot)
            pilot.app.screen.panel.move_cursor(row=0)
            status = await _focus_sessions(pilot)
            assert f"session {s.id}" in status and "env API_TOKEN=***, GREETING=hi" in status
            assert f"127.0.0.1:{s.ports[0]['host']}->8000/tcp" in status and token not in status
    finally:
        vm.sessions.stop(s.id)
