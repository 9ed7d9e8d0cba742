"""Session 22 hardening of custom commands in the TUI (Pilot, a real host process): while a
host command runs, the dialog's hint says cancelling stops it on the host (not "in the
container"), and the hint fits the dialog at 80 columns."""

from __future__ import annotations

import json
import shlex
import sys

from textual.widgets import Static

from vmuser_tui.tui.screens.exec_output import ExecOutputScreen

from .conftest import run_app
from .test_i16_cmds_tui import until
from .world import build_world


async def test_a_running_host_command_says_cancel_stops_it_on_the_host(make_vm, monkeypatch):
    sleeper = " ".join(shlex.quote(w) for w in [sys.executable, "-c", "import time; time.sleep(60)"])
    vm = make_vm(config_text=f'[[commands]]\nname = "slow"\nkey = "ctrl+t"\nscope = "project"\n'
                             f"command = {json.dumps(sleeper)}\n")
    world = build_world(vm, monkeypatch)
    async with run_app(vm, open_project=world.demo) as pilot:
        await pilot.press("ctrl+t")
        assert await until(pilot, lambda: isinstance(pilot.app.screen, ExecOutputScreen))
        screen = pilot.app.screen
        assert screen.running
        hint = screen.query_one("#exec-hint", Static)
        text = str(hint.render())
        assert "on the host" in text and "container" not in text, text
        assert hint.render_line(0).text.rstrip().endswith("scroll"), hint.render_line(0).text  # not cut
        await pilot.press("escape")  # cancels it
        assert await until(pilot, lambda: not screen.running)


async def test_a_long_failure_is_shown_whole_not_cut_at_the_dialog_edge(world):
    """A command that cannot start says why in one line that names the fix; at 80 columns
    that line is longer than the dialog, and its end (the fix) must still be on screen."""
    from vmuser_tui.core.errors import VmuserError

    why = ("read-only: cannot run commands in this session; open vmuser without --read-only "
           "to make changes")

    def runner(on_output, control):
        raise VmuserError(why)

    async with run_app(world.vm) as pilot:
        pilot.app.push_screen(ExecOutputScreen(None, ["true"], "x: $ true", runner=runner, target="host"))
        assert await until(pilot, lambda: isinstance(pilot.app.screen, ExecOutputScreen)
                           and not pilot.app.screen.running)
        await pilot.pause()
        summary = pilot.app.screen.query_one("#exec-summary", Static)
        drawn = " ".join(summary.render_line(y).text.strip() for y in range(summary.size.height))
        assert "without --read-only to make changes" in drawn, drawn


async def test_the_run_a_command_prompt_hint_fits_80_columns(world, pilot_at):
    """``x``'s prompt: its hint ends with how to cancel, on screen at 80x24 (was cut at "Esc:")."""
    from vmuser_tui.tui.flows.sessions import exec_command
    from vmuser_tui.tui.screens.prompt import PromptScreen

    from .conftest import settle

    async with pilot_at("project") as (pilot, screen):
        exec_command(screen, world.vm.sessions.get(world.session))
        await settle(pilot)
        assert isinstance(pilot.app.screen, PromptScreen)
        hint = pilot.app.screen.query_one("#prompt-hint", Static)
        drawn = " ".join(hint.render_line(y).text.strip() for y in range(hint.size.height))
        assert drawn.endswith("Esc: cancel"), drawn
