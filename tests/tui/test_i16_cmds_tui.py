"""Custom commands (issue 16, item 4): ``[[commands]]`` in config.toml run from their key and
from the command palette, their placeholders filled, each value one argv word whatever it
holds; read-only mode refuses a changing one; help lists them; a colliding key is left
unbound at start-up. Host commands are a real Python writing its argv into a file; the
container command runs on the real engine (marked docker)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable, RichLog

from vmuser_tui.tui.screens.confirm import ConfirmScreen
from vmuser_tui.tui.screens.exec_output import ExecOutputScreen
from vmuser_tui.tui.screens.files import FilesScreen
from vmuser_tui.tui.screens.help import HelpScreen

from .conftest import messages, run_app, settle
from .world import build_world

HOSTILE = "a b'; \"q\" $(touch pwned) `id` |x"
#: writes its argv (after the output file) as JSON, then prints a line
WRITER = "import sys,json; open(sys.argv[1],'w').write(json.dumps(sys.argv[2:])); print('wrote', len(sys.argv)-2)"


def toml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string


def entry(name: str, key: str, scope: str, command: str, **more: object) -> str:
    lines = ["[[commands]]", f"name = {toml_str(name)}", f"key = {toml_str(key)}", f"scope = {toml_str(scope)}",
             f"command = {toml_str(command)}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in more.items()]
    return "\n".join(lines) + "\n"


def writer(out: Path, *placeholders: str) -> str:
    import shlex

    return " ".join([shlex.quote(sys.executable), "-c", shlex.quote(WRITER), shlex.quote(str(out)), *placeholders])


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "argv.json"


@pytest.fixture
def cworld(make_vm, monkeypatch, tmp_path, out):
    """The TUI world with custom commands in its config file; ``hostile``: a project whose
    name is shell syntax, its workspace holding a file whose name is too."""
    text = (
        entry("argv", "ctrl+t", "project", writer(out, "{project}", "{workspace}", "--", "{session}x"))
        + entry("cpargv", "ctrl+k", "checkpoint", writer(out, "{checkpoint}", "{project}"), confirm=True)
        + entry("fileargv", "ctrl+t", "file", writer(out, "{path}", "{checkpoint}"))
        + entry("wipe", "ctrl+w", "project", writer(out, "{project}"), changes=True)
        + entry("clash", "c", "project", writer(out, "{project}"))  # c: project.checkpoint
    )
    vm = make_vm(config_text=text)
    world = build_world(vm, monkeypatch)
    hostile = vm.projects.create(HOSTILE).id
    ws = Path(vm.projects.get(hostile).workspace)
    (ws / HOSTILE).write_text("x")
    vm.checkpoints.create(hostile, description="one")
    world.hostile = hostile  # type: ignore[attr-defined]
    return world


def log_text(screen: ExecOutputScreen) -> str:
    log = screen.query_one("#exec-log", RichLog)
    return "\n".join("".join(seg.text for seg in strip) for strip in log.lines)


async def until(pilot, condition, timeout: float = 20) -> bool:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
        await pilot.pause()
    return condition()


async def finished(pilot) -> ExecOutputScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, ExecOutputScreen))
    screen = pilot.app.screen
    assert isinstance(screen, ExecOutputScreen)
    assert await until(pilot, lambda: not screen.running)
    return screen


async def test_placeholders_fill_and_injection_stays_one_word(cworld, out, tmp_path):
    vm = cworld.vm
    ws = vm.projects.get(cworld.hostile).workspace
    async with run_app(vm, open_project=cworld.hostile, notifications=True) as pilot:
        assert "command clash unbound: c is project.checkpoint's key" in messages(pilot.app)  # left unbound
        await pilot.press("ctrl+t")  # {session} has no value: refused, nothing runs
        await settle(pilot)
        assert not out.exists()
        assert any("{session} has no value here" in m for m in messages(pilot.app))
        session = vm.sessions.start(cworld.hostile, runtime="none").session
        pilot.app.screen.reload()
        await settle(pilot)
        await pilot.press("ctrl+t")
        screen = await finished(pilot)
        assert "wrote 4" in log_text(screen)
    assert json.loads(out.read_text()) == [HOSTILE, ws, "--", session.id + "x"]
    assert not list(Path(ws).glob("pwned")) and not (tmp_path / "pwned").exists()
    [logged] = vm.log(operation="command.run", limit=1)
    assert logged["details"]["name"] == "argv" and logged["details"]["scope"] == "project"
    assert logged["details"]["placeholders"] == ["project", "workspace", "session"]
    assert HOSTILE not in json.dumps(logged)  # names of placeholders, never their values


async def test_palette_runs_a_checkpoint_command_after_confirming(cworld, out):
    vm = cworld.vm
    [cp] = vm.checkpoints.list(cworld.hostile)
    async with run_app(vm, open_project=cworld.hostile) as pilot:
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"cpargv")
        await asyncio.sleep(0.3)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ConfirmScreen)  # confirm = true
        assert not out.exists()
        await pilot.press("y")
        await finished(pilot)
    assert json.loads(out.read_text()) == [cp.id, HOSTILE]


async def test_file_command_on_the_files_screen_gets_the_path(cworld, out):
    vm = cworld.vm
    async with run_app(vm, open_project=cworld.hostile) as pilot:
        await pilot.press("f")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, FilesScreen)
        await pilot.press("down")  # the hostile file, under the root
        await settle(pilot)
        assert screen.current() is not None and screen.current().name == HOSTILE
        await pilot.press("ctrl+t")
        await finished(pilot)
        cp = screen.at
    assert json.loads(out.read_text()) == [HOSTILE, cp]


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
async def test_read_only_refuses_a_changing_command(cworld, out, read_only):
    from vmuser_tui.tui.commands import VmuserCommands

    vm = cworld.vm
    async with run_app(vm, open_project=cworld.hostile, notifications=True, read_only=read_only) as pilot:
        screen = pilot.app.screen
        texts = [t for t, _h, _c in VmuserCommands(screen)._commands()]
        assert any(t == "Project: argv · host command" for t in texts)
        assert any(t.startswith("Project: wipe") for t in texts) is not read_only
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HelpScreen)
        table = pilot.app.screen.query_one("#help-table", DataTable)
        rows = {str(table.get_row_at(i)[2]): str(table.get_row_at(i)[1]) for i in range(table.row_count)}
        assert rows["command.argv"] == "argv · host command"
        assert rows["command.wipe"].startswith("wipe · host command (changes)")
        assert (" (read-" in rows["command.wipe"]) is read_only  # "(read-only)", cut to fit 80 columns
        assert "command.clash" not in rows  # its key is project.checkpoint's: left unbound
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+w")
        if read_only:
            await settle(pilot)
            assert any("read-only mode: command wipe is disabled" in m for m in messages(pilot.app))
            assert not out.exists()
        else:
            await finished(pilot)
            assert json.loads(out.read_text()) == [HOSTILE]


@pytest.mark.docker
async def test_container_command_echoes_checkpoint_and_workspace(make_vm, monkeypatch):
    text = entry("where", "ctrl+t", "checkpoint", "echo {checkpoint} {workspace} {container}", where="container")
    vm = make_vm(config_text=text)
    world = build_world(vm, monkeypatch)
    vm.config.values["docker"]["image"] = "vmuser-busybox:local"
    session = vm.sessions.start(world.web, runtime="docker").session
    try:
        cp = vm.checkpoints.create(world.web, description="for the command").checkpoint
        async with run_app(vm, docker_status=vm.docker_status, open_project=world.web) as pilot:
            await pilot.press("ctrl+t")
            screen = await finished(pilot)
            assert log_text(screen).splitlines() == [f"{cp.id} /workspace {session.container_name}"]
        [logged] = vm.log(operation="command.run", limit=1)
        assert logged["details"]["where"] == "container" and logged["details"]["exit_code"] == 0
    finally:
        for one in vm.sessions.list(world.web):
            if one.status == "running":
                vm.sessions.stop(one.id)
