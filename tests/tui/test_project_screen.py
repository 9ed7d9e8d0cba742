"""The project screen with several clients (issue #6) and its timeline, metrics and keys
(issue #4): leases (read-only banner, refused keys, take-over, who is attached), the
metrics panel, tag / annotate / filter / events, container logs, reloads that keep the
cursor and the marks.

"Another client" is a second :class:`Vmuser` on the same data dir with its own holder
id (one process has one client id; a second TUI or CLI has another).
"""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input, Sparkline, Static

from vmuser_tui.core import clock
from vmuser_tui.core.access import LeaseHeldError, holders_text
from vmuser_tui.core.service import Vmuser
from vmuser_tui.tui.screens.annotate import AnnotateScreen
from vmuser_tui.tui.screens.confirm import ConfirmScreen
from vmuser_tui.tui.screens.container_logs import ContainerLogsScreen
from vmuser_tui.tui.screens.project import ProjectScreen
from vmuser_tui.tui.screens.projects import ProjectsScreen
from vmuser_tui.tui.screens.prompt import PromptScreen
from vmuser_tui.tui.widgets.lazytable import LazyTable
from vmuser_tui.tui.widgets.metrics import MetricsPanel
from vmuser_tui.tui.widgets.timeline import BRANCH, Event, describe

from .conftest import messages, run_app, settle

OTHER = "4242-0badc0de"


def history(app) -> list[str]:
    return [n.text for n in app.history]


def text_of(widget) -> str:
    return str(widget.render())


async def until(pilot, pred, timeout: float = 10.0) -> bool:
    for _ in range(int(timeout / 0.1)):
        await settle(pilot, rounds=1)
        if pred():
            return True
        await pilot.pause(0.1)
    return pred()


def other_client(data_dir, config_path, holder: str = OTHER, actor: str = "alice@devbox", pid: int = 4242):
    """A second client of the same database (a second TUI, a CLI command) with its own
    holder id; its lease rows name ``actor`` and ``pid``."""
    other = Vmuser.open(data_dir=str(data_dir), config_path=config_path, reconcile=False)
    other.access.leases.holder = holder
    other.disguise = lambda: disguise(other, holder, actor, pid)
    return other


def disguise(vm: Vmuser, holder: str, actor: str, pid: int) -> None:
    """Make ``holder``'s leases look like another host's client (``actor`` is user@host): a
    process there cannot be probed, so its lease holds until it expires."""
    with vm.db.write() as conn:
        conn.execute("UPDATE leases SET actor = ?, pid = ?, host = ? WHERE holder = ?",
                     (actor, pid, actor.split("@")[-1], holder))


def expire(vm: Vmuser, holder: str, seconds_ago: float = 30) -> None:
    """Let ``holder``'s leases expire ``seconds_ago`` on the lease clock (clock.epoch, which the
    world freezes: "expired 30 s ago" stays 30 s however slow the machine)."""
    with vm.db.write() as conn:
        conn.execute("UPDATE leases SET expires_at = ? WHERE holder = ?", (clock.epoch() - seconds_ago, holder))


def write_metrics(vm: Vmuser, session_id: str) -> list:
    samples = [[f"2026-11-21T11:5{i // 6}:{i % 6}0Z", float(c), (40 + i) * 2**20]
               for i, c in enumerate([2, 5, 30, 12, 8, 60, 45, 20, 10, 5] * 3)]
    with vm.db.write() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO session_metrics(session_id, commands_run, exec_ms_total, last_exec_ms, "
            "memory_bytes, peak_memory_bytes, cpu_percent, workspace_bytes, checkpoint_bytes, sampled_at, history) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (session_id, 14, 1680, 30, 69 * 2**20, 120 * 2**20, 12.5, 1300, 300 * 1024, "2026-11-21T11:59:50Z",
             json.dumps(samples)))
    return samples


@pytest.fixture
def fast_leases(monkeypatch):
    """Look at the lease holders every 0.2 s (3 s in the TUI)."""
    monkeypatch.setattr("vmuser_tui.tui.screens.project.HOLDERS_INTERVAL", 0.2)


# -- leases -----------------------------------------------------------------------------
async def test_the_screen_attaches_read_write_and_leaves_when_closed(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        app = pilot.app
        assert screen.attached == {world.session: "rw"}
        [lease] = world.vm.access.holders(world.session)
        assert (lease.mode, lease.holder) == ("rw", world.vm.access.client_id)
        assert "attached: you (rw)" in text_of(screen.query_one("#sessions-title"))
        assert not screen.query_one("#lease-banner").display
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
        assert world.vm.access.holders(world.session) == []
    ops = [e["operation"] for e in world.vm.log(session=world.session, limit=5)]
    assert ops[:2] == ["session.detach", "session.attach"]


async def test_held_by_another_client_the_screen_is_read_only(world, pilot_at, data_dir, config_path, fast_leases):
    other = other_client(data_dir, config_path)
    try:
        _, got = other.open_session(world.session, mode="rw")
        assert got.ok
        other.disguise()
        async with pilot_at("project") as (pilot, screen):
            app = pilot.app
            assert screen.attached == {world.session: "ro"} and set(screen.held_by) == {world.session}
            banner = screen.query_one("#lease-banner", Static)
            assert banner.display
            text = text_of(banner)
            assert f"read-only: session {world.session} is held read-write by alice@devbox pid 4242 since " in text
            assert "lease expires in" in text and "T to take over when it expires" in text
            assert any("held read-write by alice@devbox" in m for m in history(app))
            assert "alice@devbox pid 4242 (rw), you (ro)" in text_of(screen.query_one("#sessions-title"))
            # changing keys are hidden from the footer and refused with the reason
            footer_keys = {k for k, b in screen.active_bindings.items() if b.enabled and b.binding.show}
            assert "c" not in footer_keys and "r" not in footer_keys and screen.check_action("takeover", ())
            for action in ("checkpoint", "restore", "undo", "tag", "annotate", "start"):
                assert screen.check_action(action, ()) is False, action
            assert screen.check_action("diff", ()) and screen.check_action("files", ())
            for key in ("c", "t", "a", "r", "u", "s"):
                app.clear_notifications()
                await pilot.press(key)
                await settle(pilot)
                assert app.screen is screen, key  # no dialog
                assert any(m.startswith("read-only: session") for m in messages(app)), key
            screen.action_checkpoint()  # reached another way (the palette, code): still refused
            await settle(pilot)
            assert app.screen is screen
            # T before the lease expired: says when, changes nothing
            app.clear_notifications()
            await pilot.press("T")
            await settle(pilot)
            assert app.screen is screen and any("once the lease expired" in m for m in history(app)[-1:])
            # the holder leaves: the screen becomes read-write by itself
            other.close_session(world.session)
            assert await until(pilot, lambda: screen.attached.get(world.session) == "rw")
            assert not screen.held_by and not banner.display
            assert any("read-write now" in m for m in history(app))
            assert screen.check_action("checkpoint", ())
        assert len(world.vm.checkpoints.list(world.demo)) == 3
    finally:
        other.close()


async def test_take_over_after_the_lease_expired_is_logged(world, pilot_at, data_dir, config_path):
    other = other_client(data_dir, config_path)
    try:
        other.open_session(world.session, mode="rw")
        other.disguise()
        expire(world.vm, OTHER, seconds_ago=30)
        async with pilot_at("project") as (pilot, screen):
            app = pilot.app
            banner = text_of(screen.query_one("#lease-banner"))
            assert "was held read-write by alice@devbox" in banner and "lease expired 30 s ago" in banner
            assert "T takes it over" in banner
            assert "alice@devbox pid 4242 (rw, expired)" in text_of(screen.query_one("#sessions-title"))
            await pilot.press("T")
            await settle(pilot)
            confirm = app.screen
            assert isinstance(confirm, ConfirmScreen)
            assert "operation log" in text_of(confirm.query_one("#confirm-body"))
            await pilot.press("y")
            await settle(pilot)
            assert app.screen is screen
            assert screen.attached == {world.session: "rw"} and not screen.held_by
            assert any("took session" in m and "alice@devbox" in m for m in history(app))
            assert not screen.query_one("#lease-banner").display
        [entry] = world.vm.log(operation="lease.takeover", limit=5)
        assert entry["details"]["lease"] == f"session:{world.session}"
        assert entry["details"]["previous"] == "alice@devbox" and entry["details"]["previous_pid"] == 4242
        # the old holder (were it alive) is refused now
        with pytest.raises(LeaseHeldError):
            other.checkpoints.create(world.demo, description="late")
    finally:
        other.close()


async def test_viewers_are_listed_and_the_list_follows_them(world, pilot_at, data_dir, config_path, fast_leases):
    viewer = other_client(data_dir, config_path, holder="77-feedf00d", actor="bob@laptop", pid=77)
    try:
        async with pilot_at("project") as (pilot, screen):
            title = screen.query_one("#sessions-title")
            assert text_of(title).endswith("attached: you (rw)")
            _, got = viewer.open_session(world.session, mode="rw")  # refused: the TUI holds it
            assert not got.ok and got.held_by.holder == world.vm.access.client_id
            viewer.open_session(world.session, mode="ro")
            viewer.disguise()
            assert await until(pilot, lambda: "bob@laptop pid 77 (ro)" in text_of(title))
            assert text_of(title).endswith("attached: you (rw), bob@laptop pid 77 (ro)")
            viewer.close_session(world.session)
            assert await until(pilot, lambda: "bob@laptop" not in text_of(title))
    finally:
        viewer.close()


async def test_read_only_app_attaches_read_only(world, pilot_at):
    async with pilot_at("project", read_only=True) as (pilot, screen):
        assert screen.attached == {world.session: "ro"}
        assert [lease.mode for lease in world.vm.access.holders(world.session)] == ["ro"]
        assert not screen.check_action("takeover", ())


def test_holders_text():
    from vmuser_tui.core.leases import Lease

    now = clock.epoch()
    mine = Lease("session:s", "1-a", "rw", "me@h", 1, "2026-11-21T12:00:00Z", "x", now + 60)
    theirs = Lease("session:s", "2-b", "ro", "bob@h", 2, "2026-11-21T12:00:00Z", "x", now + 60)
    gone = Lease("session:s", "3-c", "rw", "eve@h", 3, "2026-11-21T12:00:00Z", "x", now - 5)
    assert holders_text([mine, theirs], "1-a") == "you (rw), bob@h pid 2 (ro)"
    assert holders_text([gone], "1-a") == "eve@h pid 3 (rw, expired)"


# -- metrics ----------------------------------------------------------------------------
async def test_metrics_panel_shows_the_session_metrics(world, pilot_at):
    samples = write_metrics(world.vm, world.session)
    async with pilot_at("project") as (pilot, screen):
        panel = screen.query_one("#metrics", MetricsPanel)
        assert panel.display and panel.compact
        assert "CPU 12.5%" in text_of(panel.query_one("#cpu-label"))
        assert "mem 69.0 MiB/120.0 MiB" in text_of(panel.query_one("#mem-label"))
        counts = text_of(panel.query_one("#metrics-counts"))
        assert "14 cmds avg 120 ms, last 30 ms" in counts and "workspace 1.3 KiB" in counts
        assert "storage 300.0 KiB" in counts
        assert "active 20m ago" in text_of(panel.query_one("#active-label"))
        assert panel.query_one("#cpu-spark", Sparkline).data == [s[1] for s in samples]
        assert panel.query_one("#mem-spark", Sparkline).data == [float(s[2]) for s in samples]
        await pilot.press("M")  # hide, show
        assert not panel.display
        await pilot.press("M")
        assert panel.display
    async with pilot_at("project", size=(120, 40)) as (pilot, screen):
        panel = screen.query_one("#metrics", MetricsPanel)
        assert not panel.compact
        assert "Memory  69.0 MiB, peak 120.0 MiB" in text_of(panel.query_one("#mem-label"))
        assert "Metrics · session 5e55000001 · sampled 10s ago" in text_of(panel.query_one("#metrics-title"))
        counts = text_of(panel.query_one("#metrics-counts"))
        assert "Commands 14 run · avg 120 ms · last 30 ms" in counts and "Last active 20m ago" in counts


async def test_metrics_of_a_session_without_samples_say_why(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        panel = screen.query_one("#metrics", MetricsPanel)
        assert panel.display and not panel.query_one("#metrics-graphs").display
        assert not panel.query_one("#metrics-note").display  # one line at 80x24
        counts = text_of(panel.query_one("#metrics-counts"))
        assert counts.startswith("no container (runtime none) · workspace – · storage – · active 20m ago")
    async with pilot_at("project", size=(120, 40)) as (pilot, screen):
        panel = screen.query_one("#metrics", MetricsPanel)
        assert "CPU, memory and commands need a Docker session" in text_of(panel.query_one("#metrics-note"))


async def test_metrics_follow_the_stats_written_by_another_process(world, pilot_at, data_dir, config_path):
    other = other_client(data_dir, config_path)
    try:
        async with pilot_at("project", watch_interval=0.1) as (pilot, screen):
            panel = screen.query_one("#metrics", MetricsPanel)
            write_metrics(other, world.session)  # what the stats job does every 10 s
            assert await until(pilot, lambda: "CPU 12.5%" in text_of(panel.query_one("#cpu-label")))
    finally:
        other.close()


# -- timeline ---------------------------------------------------------------------------
async def test_tag_annotate_and_filter_by_tag(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        app = pilot.app
        table = screen.query_one("#checkpoints", LazyTable)
        await pilot.press("down")  # c000000002 [edit]
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"release -edit", "enter")
        await settle(pilot)
        assert world.vm.checkpoints.get(world.checkpoints[1]).tags == ["release"]
        assert screen.selected_checkpoint().id == world.checkpoints[1]
        assert "[release]" in str(table.get_cell(world.checkpoints[1], "description"))
        await pilot.press("a")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AnnotateScreen)
        await pilot.press("enter")  # no label: refused in the dialog
        assert app.screen is dialog and "label is needed" in text_of(dialog.query_one("#annotate-error"))
        await pilot.press(*"tests pass", "enter", *"all 212 green", "enter")
        await settle(pilot)
        assert app.screen is screen
        [note] = world.vm.checkpoints.get(world.checkpoints[1]).annotations
        assert (note["label"], note["note"]) == ("tests pass", "all 212 green")
        assert "[release] ✎tests p…" in str(table.get_cell(world.checkpoints[1], "description"))  # cut at 80
        # filter by tag: the marks and the cursor stay
        await pilot.press("space")
        await pilot.press("slash")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"tag:release", "enter")  # (plain words are a full-text search: issue 16)
        await settle(pilot)
        assert [c.id for c in screen.checkpoints] == [world.checkpoints[1]]
        assert "tag release" in text_of(screen.query_one("#timeline-title"))
        await pilot.press("slash")
        await settle(pilot)
        app.screen.query_one(Input).value = ""
        await pilot.press("enter")
        await settle(pilot)
        assert len(screen.checkpoints) == 3 and screen.marked == world.checkpoints[1]
        assert screen.selected_checkpoint().id == world.checkpoints[1]


def test_describe_fits_description_tags_and_label():
    from vmuser_tui.core.models import Checkpoint

    cp = Checkpoint("c1", "p", None, None, "t", "manual", "Add notes, rename util.py", ["edit"],
                    [{"label": "tests pass"}], 1, 1, None, "2026-11-21T12:00:00Z")
    assert describe(cp, 60).plain == "Add notes, rename util.py [edit] ✎tests pass"
    assert describe(cp, 36).plain == "Add notes, renam… [edit] ✎tests pass"
    assert describe(cp, 30).plain == "Add notes, rena… [edit] ✎test…"  # the description keeps 16


async def test_branch_marks_where_a_restore_started_a_new_line(world, pilot_at):
    vm = world.vm
    vm.restores.restore(world.checkpoints[0])  # back to the first; a pre-restore checkpoint first
    (world.workspace / "new.txt").write_text("a new line of work\n")
    branch = vm.checkpoints.create(world.demo, description="new line").checkpoint
    assert branch.parent_id == world.checkpoints[0]
    async with pilot_at("project", size=(100, 30)) as (_pilot, screen):
        assert screen.branches == {branch.id}
        table = screen.query_one("#checkpoints", LazyTable)
        assert str(table.get_cell(branch.id, "marks")) == f" {'●'}{BRANCH}"
        assert f"{BRANCH} branch" in text_of(screen.query_one("#timeline-title"))
        assert f"{BRANCH} new line of work from {world.checkpoints[0]}" in screen.query_one("StatusLine").message


async def test_session_events_between_checkpoints(world, pilot_at):
    from vmuser_tui.core import oplog

    with world.vm.db.write() as conn:  # as a container exec would log it
        oplog.record(conn, "session.exec", project_id=world.demo, session_id=world.session,
                     command=["sh", "-c", "make test"], exit_code=0, duration_ms=1234)
    async with pilot_at("project", size=(120, 30)) as (pilot, screen):
        app = pilot.app
        assert not any(isinstance(r, Event) for r in screen.rows)
        await pilot.press("v")
        await settle(pilot)
        kinds = [r.kind for r in screen.rows if isinstance(r, Event)]
        assert "exec" in kinds and "attach" in kinds and "start" in kinds
        table = screen.query_one("#checkpoints", LazyTable)
        exec_row = next(r for r in screen.rows if isinstance(r, Event) and r.kind == "exec")
        assert "$ make test → exit 0, 1234 ms" in str(table.get_cell(exec_row.key, "description"))
        # newest first, checkpoints and events together
        times = [r.at if isinstance(r, Event) else r.created_at for r in screen.rows]
        assert times == sorted(times, reverse=True)
        # on an event, checkpoint keys say what to do
        table.move_cursor(row=screen.rows.index(exec_row))
        await pilot.press("D")
        await settle(pilot)
        assert app.screen is screen and any("an event is selected" in m for m in messages(app))
        await pilot.press("v")
        await settle(pilot)
        assert screen.rows == screen.checkpoints


# -- another process commits: the screen reloads, the cursor and marks stay -------------------
async def test_reload_keeps_the_cursor_and_the_marks(world, pilot_at, data_dir, config_path):
    other = other_client(data_dir, config_path)
    try:
        async with pilot_at("project", watch_interval=0.1) as (pilot, screen):
            table = screen.query_one("#checkpoints", LazyTable)
            await pilot.press("down", "down", "space", "up")  # mark the oldest, cursor on the middle one
            assert (screen.marked, screen.selected_checkpoint().id) == (world.checkpoints[0], world.checkpoints[1])
            # another process commits a checkpoint (an auto one: never refused by the lease)
            (world.workspace / "elsewhere.txt").write_text("from another process\n")
            new = other.checkpoints.create(world.demo, description="from elsewhere", kind="auto").checkpoint
            assert await until(pilot, lambda: table.row_count == 4)
            assert table.row_key(0) == new.id
            assert screen.selected_checkpoint().id == world.checkpoints[1] and table.cursor_row == 2
            assert screen.marked == world.checkpoints[0]
            assert str(table.get_cell(world.checkpoints[0], "marks")).startswith("✓")
    finally:
        other.close()


# -- container logs, shell, exec -----------------------------------------------------------
async def test_container_logs_of_a_session_without_container(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        app = pilot.app
        await pilot.press("l")
        await settle(pilot)
        assert app.screen is screen
        assert any(f"no container logs: session {world.session} has no container (runtime 'none')" in m
                   for m in history(app))
        await pilot.press("e")  # shell: no container either
        await settle(pilot)
        assert app.screen is screen and any("no running container session" in m for m in history(app))
        await pilot.press("L")  # the operation log: L on every screen
        await settle(pilot)
        assert type(app.screen).__name__ == "LogScreen"


@pytest.mark.docker
async def test_container_logs_follow_a_real_container(world):
    vm = world.vm
    session = vm.sessions.start(world.web, runtime="docker").session
    try:
        # what PID 1 writes is the container's output (docker logs)
        vm.sessions.exec(session.id, ["sh", "-c", "echo first-line > /proc/1/fd/1"])
        async with run_app(vm, docker_status=vm.docker_status, open_project=world.web) as pilot:
            app = pilot.app
            screen = app.screen
            assert isinstance(screen, ProjectScreen) and screen.attached == {session.id: "rw"}
            await pilot.press("l")
            await settle(pilot)
            logs = app.screen
            assert isinstance(logs, ContainerLogsScreen)
            assert await until(pilot, lambda: logs.shown == ["first-line"])
            vm.sessions.exec(session.id, ["sh", "-c", "echo second-line > /proc/1/fd/1"])
            assert await until(pilot, lambda: logs.shown == ["first-line", "second-line"], timeout=5)
            assert "following" in logs.query_one("StatusLine").message
            await pilot.press("f")
            assert not logs.follow and "not following" in logs.query_one("StatusLine").message
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is screen
    finally:
        for s in vm.sessions.list(world.web):
            if s.status == "running":
                vm.sessions.stop(s.id)
