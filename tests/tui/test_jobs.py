"""The TUI hosts the background jobs: an auto checkpoint of a running session shows as a
notification and on the timeline; a read-only TUI runs no jobs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .conftest import make_app


async def _until(pilot, pred, timeout=10.0):
    for _ in range(int(timeout / 0.1)):
        if pred():
            return True
        await pilot.pause(0.1)
    return pred()


async def test_auto_checkpoint_is_taken_and_announced(make_vm):
    vm = make_vm(config_text="[snapshots]\ndebounce = 0.5\ninterval = 3600\n")
    p = vm.projects.create("jobs")
    (Path(p.workspace) / "a.txt").write_text("first\n")
    vm.sessions.start(p.id, runtime="none")
    app = make_app(vm, jobs=True)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await _until(pilot, lambda: any("auto checkpoint" in n.text for n in app.history))
        note = next(n for n in app.history if "auto checkpoint" in n.text)
        assert "of jobs (1 files)" in note.text and note.title == "Background"
        autos = [c for c in vm.checkpoints.list(p.id) if c.kind == "auto"]
        assert len(autos) == 1 and autos[0].id in note.text
        # A change to the workspace: the watcher makes the next one after the debounce.
        await asyncio.sleep(0.5)
        (Path(p.workspace) / "a.txt").write_text("second\n")
        assert await _until(pilot, lambda: len([c for c in vm.checkpoints.list(p.id) if c.kind == "auto"]) == 2)
        app._jobs_stop.set()


async def test_read_only_tui_runs_no_jobs(make_vm):
    vm = make_vm(config_text="[snapshots]\ninterval = 5\n")
    p = vm.projects.create("ro")
    (Path(p.workspace) / "a.txt").write_text("x\n")
    vm.sessions.start(p.id, runtime="none")
    app = make_app(vm, jobs=True, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(1.0)
        assert app._jobs_stop is None
        assert vm.checkpoints.list(p.id) == []


async def test_a_change_by_another_process_shows_within_a_second(make_vm, data_dir, config_path):
    import os
    import subprocess
    import sys
    import time

    vm = make_vm()
    vm.projects.create("first")
    app = make_app(vm, watch_interval=0.5)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        env = dict(os.environ, VMUSER_DATA_DIR=str(data_dir), VMUSER_CONFIG=str(config_path))
        subprocess.run([sys.executable, "-m", "vmuser_tui", "project", "create", "from-elsewhere"], env=env,
                       check=True, capture_output=True)
        t0 = time.monotonic()

        def shown() -> bool:
            return "from-elsewhere" in app.export_screenshot()  # what the terminal shows

        assert await _until(pilot, shown, timeout=3.0), vm.db.query("select name from projects")
        assert time.monotonic() - t0 < 1.0 + 0.3  # the poll (0.5 s) and a redraw, with room for a busy CI


async def test_typing_a_filter_fast_never_acts_on_the_table(make_vm):
    """Over SSH "/busy" can arrive in one read: the letters after "/" must never reach the table,
    whose `s` starts a session."""
    from textual import events

    vm = make_vm()
    vm.projects.create("alpha")
    vm.projects.create("busy")
    app = make_app(vm)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        for ch in "/busy":
            app.post_message(events.Key("slash" if ch == "/" else ch, ch))
        await pilot.pause(0.5)
        assert app.focused is app.screen.query_one("#filter")
        assert vm.sessions.list() == []
