"""The TUI and several Docker engines (issue 14): the Engine column of the sessions table,
the look of an ``unreachable`` session, the engine picker when starting a session (with
reachability, asked without blocking; Escape starts nothing), moving a session (``o``) and
the engines screen (``ctrl+e``).

The config holds two extra engines: ``dead`` (a socket that does not exist: unreachable)
and ``twin`` (this host's own engine under another name: reachable, fine for the UI).
Asking an engine is real (a ping over the socket); nothing here starts a container except
the move test, which needs the engine workspace modules and Docker.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from rich.text import Text
from textual.widgets import DataTable, OptionList

from vmuser_tui.tui.screens.confirm import ConfirmScreen
from vmuser_tui.tui.screens.engine_picker import EnginePicker
from vmuser_tui.tui.screens.engines import EnginesScreen
from vmuser_tui.tui.screens.project import ProjectScreen
from vmuser_tui.tui.widgets.sessions_panel import SessionsPanel

from .conftest import go, messages, run_app, settle
from .world import build_world

ENGINES = """
[engines.dead]
url = "unix:///tmp/vmuser-no-such.sock"
timeout = 2

[engines.twin]
url = "unix:///var/run/docker.sock"
"""


@pytest.fixture
def eworld(make_vm, monkeypatch):
    """The TUI world with the ``dead`` and ``twin`` engines in config."""
    return build_world(make_vm(config_text=ENGINES), monkeypatch)


def options(picker: EnginePicker) -> list[str]:
    """The picker's options as shown, one line each."""
    listed = picker.query_one("#engine-list", OptionList)
    out = []
    for i in range(listed.option_count):
        prompt = listed.get_option_at_index(i).prompt
        out.append(prompt.plain if isinstance(prompt, Text) else str(prompt))
    return out


def highlighted(picker: EnginePicker) -> str:
    listed = picker.query_one("#engine-list", OptionList)
    assert listed.highlighted is not None
    return listed.get_option_at_index(listed.highlighted).id or ""


def column_labels(table: DataTable) -> list[str]:
    return [str(c.label) for c in table.ordered_columns]


def set_status(vm, session_id: str, status: str) -> None:
    """Test setup: the session's status as a reconcile that could not reach its engine leaves it."""
    with vm.db.write() as conn:
        conn.execute("UPDATE sessions SET status = ? WHERE id = ?", (status, session_id))


# -- the sessions table -------------------------------------------------------------------------
async def test_engine_column_when_engines_are_configured(eworld):
    async with run_app(eworld.vm) as pilot:
        screen = await go(pilot, "project", eworld)
        panel = screen.query_one(SessionsPanel)
        assert "Engine" in column_labels(panel)
        engine_at = column_labels(panel).index("Engine")
        assert str(panel.get_row_at(0)[engine_at]) == "local"
        assert panel.region.right <= 80  # fits the 80-column screen


async def test_no_engine_column_with_only_local(world):
    async with run_app(world.vm) as pilot:
        screen = await go(pilot, "project", world)
        assert "Engine" not in column_labels(screen.query_one(SessionsPanel))


async def test_unreachable_session_has_its_own_look_and_counts_as_active(eworld):
    set_status(eworld.vm, eworld.session, "unreachable")
    async with run_app(eworld.vm) as pilot:
        screen = await go(pilot, "project", eworld)
        panel = screen.query_one(SessionsPanel)
        cell = panel.get_row_at(0)[column_labels(panel).index("Status")]
        assert cell.plain == "◌ unreachable"
        assert str(cell.style) == "bold magenta"
        # the whole row still fits 80 columns (the Container column gives way)
        widths = sum(c.get_render_width(panel) for c in panel.ordered_columns)
        assert widths <= 80
        panel.focus()
        await settle(pilot)
        assert "unreachable" in screen.query_one("StatusLine").message
        # S offers to stop it (it counts as active), not "select a running session"
        await pilot.press("S")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)


# -- the engine picker when starting ------------------------------------------------------------
async def test_start_picks_engine_with_reachability_and_escape_starts_nothing(eworld):
    vm = eworld.vm
    before = [s.id for s in vm.sessions.list(eworld.demo)]
    async with run_app(vm, notifications=True) as pilot:
        screen = await go(pilot, "project", eworld)
        await pilot.press("s")
        await settle(pilot)
        picker = pilot.app.screen
        assert isinstance(picker, EnginePicker)
        shown = options(picker)
        assert [line.split()[0].lstrip("●") or line.split()[1] for line in shown] == ["local", "dead", "twin"]
        assert shown[0].startswith("● local")  # where the project lives, marked
        assert "unreachable" in shown[1] and "reachable" in shown[2] and "unreachable" not in shown[2]
        assert highlighted(picker) == "local"  # the project's engine is the default
        # Enter on the dead engine: refused, the picker stays
        await pilot.press("down", "enter")
        await settle(pilot)
        assert pilot.app.screen is picker
        assert any("engine dead does not answer" in m for m in messages(pilot.app))
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is screen
    assert [s.id for s in vm.sessions.list(eworld.demo)] == before
    assert vm.projects.get(eworld.demo).engine == "local"


async def test_picker_says_checking_while_the_engines_are_asked(eworld, monkeypatch):
    """The engines are asked in a worker: the dialog is drawn and answers keys meanwhile."""
    vm = eworld.vm
    release = threading.Event()
    asked = vm.engine_statuses

    def slow(names=None):
        release.wait(10)
        return asked(names)

    monkeypatch.setattr(vm, "engine_statuses", slow)
    async with run_app(vm) as pilot:
        await go(pilot, "project", eworld)
        await pilot.press("s")
        await pilot.pause()
        picker = pilot.app.screen
        assert isinstance(picker, EnginePicker)
        assert all(line.endswith("checking…") for line in options(picker))
        await pilot.press("down")  # the event loop is free
        await pilot.pause()
        assert highlighted(picker) == "dead"
        release.set()
        await settle(pilot)
        assert "unreachable" in options(picker)[1]
        # the cursor left the dead engine for the first one that answers (not where it lives)
        assert highlighted(picker) == "twin"
        await pilot.press("escape")
        await settle(pilot)


async def test_picking_another_engine_asks_before_moving_the_project(eworld):
    vm = eworld.vm
    before = [s.id for s in vm.sessions.list(eworld.demo)]
    async with run_app(vm) as pilot:
        await go(pilot, "project", eworld)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # twin
        await settle(pilot)
        confirm = pilot.app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.title_text == "Move demo to engine twin?"
        assert "moves it there" in str(confirm.body)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ProjectScreen)
    assert [s.id for s in vm.sessions.list(eworld.demo)] == before
    assert vm.projects.get(eworld.demo).engine == "local"


async def test_only_local_configured_asks_nothing_more(world):
    """No [engines]: s goes straight on as before (here: Docker down, so the offer of a
    workspace-only session; no engine picker in between)."""
    async with run_app(world.vm, docker_status=lambda: (False, "no Docker here")) as pilot:
        await go(pilot, "project", world)
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ConfirmScreen) and screen.title_text == "Docker is unreachable"
        await pilot.press("n")
        await settle(pilot)


async def test_start_from_the_project_list_asks_too(eworld):
    async with run_app(eworld.vm) as pilot:
        await pilot.press("s")  # the newest project: demo
        await settle(pilot)
        picker = pilot.app.screen
        assert isinstance(picker, EnginePicker) and "demo" in picker.title_text
        await pilot.press("escape")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ProjectsScreen"


# -- move a session -----------------------------------------------------------------------------
async def test_move_key_opens_the_picker_and_escape_changes_nothing(eworld):
    vm = eworld.vm
    async with run_app(vm) as pilot:
        screen = await go(pilot, "project", eworld)
        screen.query_one(SessionsPanel).focus()
        await pilot.press("o")
        await settle(pilot)
        picker = pilot.app.screen
        assert isinstance(picker, EnginePicker)
        assert picker.title_text == f"Move session {eworld.session} to which engine?"
        assert highlighted(picker) == "twin"  # not where it runs; the dead one skipped
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is screen
    assert vm.sessions.get(eworld.session).status == "running"
    assert vm.projects.get(eworld.demo).engine == "local"


async def test_move_without_other_engines_says_how_to_add_one(world):
    async with run_app(world.vm, notifications=True) as pilot:
        screen = await go(pilot, "project", world)
        screen.query_one(SessionsPanel).focus()
        await pilot.press("o")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert any("[engines.NAME]" in note.text for note in pilot.app.history)  # in full: m shows it


async def test_move_is_refused_in_read_only_mode(eworld):
    async with run_app(eworld.vm, read_only=True, notifications=True) as pilot:
        screen = await go(pilot, "project", eworld)
        await pilot.press("o")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert any("read-only" in m for m in messages(pilot.app))


@pytest.mark.docker
async def test_move_a_session_to_another_engine(make_vm, monkeypatch):
    """Pick twin, confirm: the session stops and a new one runs on twin; the notice says so.
    Needs the engine workspace (issue 14, H2) and Docker."""
    pytest.importorskip("vmuser_tui.core.runtime.engine_workspace")
    vm = make_vm(config_text='[docker]\nimage = "vmuser-busybox:local"\n' + ENGINES)
    world = build_world(vm, monkeypatch)
    # a project of its own, not the world's demo: its volume on the shared engine must not
    # meet another test's (ids are fixed in the world)
    name = f"mv{uuid.uuid4().hex[:8]}"
    project = vm.projects.create(name).id
    (vm.projects.workspace_dir(vm.projects.get(project)) / "hello.txt").write_text("hi\n")
    vm.checkpoints.create(project, description="one")
    first = vm.sessions.start(project, runtime="none").session.id
    new_id = ""
    try:
        async with run_app(vm, notifications=True) as pilot:
            await settle(pilot)
            await pilot.press("enter")  # the newest project: ours
            await settle(pilot)
            screen = pilot.app.screen
            assert isinstance(screen, ProjectScreen) and screen.project_id == project
            screen.query_one(SessionsPanel).focus()
            await pilot.press("o")
            await settle(pilot)
            assert highlighted(pilot.app.screen) == "twin"
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(pilot.app.screen, ConfirmScreen)
            await pilot.press("y")
            for _ in range(200):
                await settle(pilot)
                if any(m.startswith("moved") for m in messages(pilot.app)):
                    break
            moved = [m for m in messages(pilot.app) if m.startswith("moved")]
            assert moved, messages(pilot.app)
            panel = screen.query_one(SessionsPanel)
            running = [s for s in panel.sessions if s.status == "running"]
            assert [s.engine for s in running] == ["twin"]
            new_id = running[0].id
            assert moved[0].startswith(f"moved to engine twin: session {new_id}")
            note = next(n for n in pilot.app.history if n.title == f"Session {first} moved")
            assert "workspace volume" in note.text  # the notes of the move, in full (m)
        assert vm.sessions.get(first).status == "stopped"
        assert vm.projects.get(project).engine == "twin"
    finally:
        if new_id:
            vm.sessions.stop(new_id)
        from vmuser_tui.core import engine_workspaces

        engine_workspaces.workspace(vm.ctx, project, "twin").remove()
    del world


# -- the engines screen -------------------------------------------------------------------------
async def test_engines_screen_lists_every_engine(eworld):
    async with run_app(eworld.vm) as pilot:
        await pilot.press("ctrl+e")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, EnginesScreen)
        table = screen.query_one("#engines-table", DataTable)
        assert column_labels(table) == ["Engine", "URL", "Reachable", "Version", "Sessions", "RTT ms"]
        rows = {str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)] for i in range(table.row_count)}
        assert list(rows) == ["local", "dead", "twin"]
        assert rows["local"][2] == "✓ yes" and rows["twin"][2] == "✓ yes" and rows["dead"][2] == "◌ no"
        assert rows["local"][4] == "1"  # the world's session
        assert rows["dead"][3] == "-" and rows["dead"][5] == "-"
        assert rows["twin"][3] not in ("", "-") and float(rows["twin"][5]) >= 0
        title = str(screen.query_one("#engines-title").render())
        assert "3, 2 reachable, 1 not" in title
        # the line under the table says why the selected one does not answer
        await pilot.press("down")
        await settle(pilot)
        detail = str(screen.query_one("#engine-detail").render())
        assert "vmuser-no-such.sock" in detail
        # r asks again
        calls = []
        asked = eworld.vm.engine_statuses

        def counted(names=None):
            calls.append(names)
            return asked(names)

        eworld.vm.engine_statuses = counted  # type: ignore[method-assign]
        await pilot.press("r")
        await settle(pilot)
        assert len(calls) == 1
        assert table.row_count == 3
        await pilot.press("escape")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ProjectsScreen"


async def test_engines_in_the_command_palette(eworld):
    """ctrl+p lists "Engines" (the app's binding), from any screen."""
    from vmuser_tui.tui.commands import VmuserCommands

    async with run_app(eworld.vm) as pilot:
        await go(pilot, "project", eworld)
        provider = VmuserCommands(pilot.app.screen)
        texts = [text for text, _help, _run in provider._commands()]
        assert "vmuser: Engines: reachable, version, sessions" in texts
        assert "Project: Move the session to another engine" in texts


# -- bad input ----------------------------------------------------------------------------------
async def test_project_on_an_engine_no_longer_in_config(world):
    """A project whose engine was taken out of config: s says so in one line, naming the
    fix, and starts nothing (no picker with only local left)."""
    vm = world.vm
    with vm.db.write() as conn:
        conn.execute("UPDATE projects SET engine = 'gone' WHERE id = ?", (world.demo,))
    before = [s.id for s in vm.sessions.list(world.demo)]
    async with run_app(vm, notifications=True) as pilot:
        screen = await go(pilot, "project", world)
        assert "engine gone" in str(screen.query_one("#project-info").render())
        await pilot.press("s")
        await settle(pilot)
        assert pilot.app.screen is screen
        errors = [n.text for n in pilot.app.history if n.severity == "error"]
        assert errors and "unknown engine 'gone'" in errors[0] and "[engines.gone]" in errors[0]
        assert "\n" not in errors[0] and "Traceback" not in errors[0]
    assert [s.id for s in vm.sessions.list(world.demo)] == before
