"""Fixtures for the TUI tests: a deterministic world, an app factory, a settle helper, and
the Pilot setup sequences the tests share (start the app, walk to a screen, press and settle).

``pilot_at(where)`` is the usual start of a Pilot test: the app on the test's world, settled,
then the keys that lead from the projects screen to ``where`` (a name in ``ROUTES``), each
screen on the way checked. ``go(pilot, where)`` walks the same route from inside a test, and
``keys_then_settle(*groups)`` builds the ``run_before`` of a snapshot test the same way.
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from vmuser_tui.core.service import Vmuser
from vmuser_tui.tui.app import VmuserApp

from .world import World, build_world

SIZE = (80, 24)
# The two sizes most snapshots are taken at; the parameter ids name the snapshot files.
SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
# A fixed path (not tmp_path, not $TMPDIR): the workspace path shows in the snapshots.
SNAPSHOT_DATA_DIR = Path("/tmp/vmuser-tui-snapshots")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests in a fresh event loop (no asyncio plugin needed)."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None


def docker_ok() -> tuple[bool, str]:
    return True, "Docker reachable"


def make_app(vm: Vmuser, **kwargs) -> VmuserApp:
    """The app with a constant Docker status and no timers (deterministic)."""
    kwargs.setdefault("docker_status", docker_ok)
    kwargs.setdefault("docker_interval", 0)
    kwargs.setdefault("watch_interval", 0)
    return VmuserApp(vm, **kwargs)


async def settle(pilot, rounds: int = 4) -> None:
    """Wait until the thread workers (and those they start) are done and the screen redrawn.
    Workers in a group named ``stream...`` (a followed log) never end by themselves: not waited for."""
    for _ in range(rounds):
        finite = [w for w in pilot.app.workers if not w.group.startswith("stream")]
        if finite:
            await pilot.app.workers.wait_for_complete(finite)
        await pilot.pause()


@pytest.fixture
def world(make_vm, monkeypatch):
    """The deterministic world in the test's tmp data dir."""
    return build_world(make_vm(), monkeypatch)


@pytest.fixture
def snap_world(clean_env, monkeypatch):
    """The deterministic world at a fixed path, so workspace paths in snapshots are stable."""
    data = SNAPSHOT_DATA_DIR
    shutil.rmtree(data, ignore_errors=True)
    vm = Vmuser.open(data_dir=str(data), config_path=data / "no-config.toml")
    try:
        yield build_world(vm, monkeypatch)
    finally:
        vm.close()
        shutil.rmtree(data, ignore_errors=True)


# -- Pilot setup sequences ----------------------------------------------------------------------
def messages(app) -> list[str]:
    """The texts of the notifications still listed (toasts), oldest first."""
    return [n.message for n in app._notifications]


def row_keys(table) -> list[str]:
    """The row keys of a LazyTable, top to bottom (what the table lists, in its order)."""
    return [table.row_key(i) for i in range(table.row_count)]


def patch_text(diff) -> str:
    """The diff screen's patch as drawn, one line per row."""
    log = diff.query_one("#patch")
    return "\n".join("".join(seg.text for seg in strip) for strip in log.lines)


def bound_key(pilot: Pilot, action: str) -> str:
    """The key that runs ``action`` on the screen shown now (its bindings, its focused widget's
    and the app's, after the keymap): a route names the action where the key may change."""
    for key, active in pilot.app.screen.active_bindings.items():
        if active.binding.action == action:
            return key
    raise AssertionError(f"no key runs {action!r} on {type(pilot.app.screen).__name__}")


async def press_settle(pilot: Pilot, *keys: str) -> None:
    """Press ``keys`` (one burst; none: only settle), then wait for the workers and a redraw.
    A key written ``action:<name>`` is the key bound to that action on the screen (bound_key)."""
    if keys:
        await pilot.press(*(bound_key(pilot, k.removeprefix("action:")) if k.startswith("action:") else k
                            for k in keys))
    await settle(pilot)


def keys_then_settle(*groups: Sequence[str]) -> Callable[[Pilot], Awaitable[None]]:
    """A snapshot's ``run_before``: settle, then press each group of keys and settle after it."""

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        for group in groups:
            await press_settle(pilot, *group)

    return run_before


# Where a test starts: from the projects screen (cursor on the newest project, the world's
# demo), the keys of each step and the screen class it must lead to. Screens are checked by
# class name, so this file depends on no screen module's path.
Step = tuple[tuple[str, ...], str]
_DEMO: list[Step] = [(("enter",), "ProjectScreen")]
ROUTES: dict[str, list[Step]] = {
    "projects": [((), "ProjectsScreen")],
    "project": _DEMO,  # the demo project's timeline
    "files": [*_DEMO, (("f",), "FilesScreen")],  # the files of its newest checkpoint
    "workspace": [*_DEMO, (("f",), "FilesScreen"), (("w",), "FilesScreen")],  # its live workspace
    "diff": [*_DEMO, (("space", "down", "down", "D"), "DiffScreen")],  # oldest -> newest checkpoint
    "diff_workspace": [*_DEMO, (("D",), "DiffScreen")],  # newest checkpoint -> live workspace
    "log": [(("action:log",), "LogScreen")],  # the operation log of every project
    "settings": [(("comma",), "SettingsScreen")],
}


async def go(pilot: Pilot, where: str, world: World | None = None) -> Screen:
    """Walk ``ROUTES[where]`` from the projects screen; return the screen it leads to.

    Each step's screen is checked; on ``world``, the project opened must be its demo and the
    live workspace must be shown where the route says so.
    """
    await settle(pilot)
    for keys, screen_name in ROUTES[where]:
        await press_settle(pilot, *keys)
        screen = pilot.app.screen
        assert type(screen).__name__ == screen_name, (where, keys, type(screen).__name__)
        if screen_name == "ProjectScreen" and world is not None:
            assert screen.project_id == world.demo  # the newest project is listed first
    if where == "workspace":
        assert pilot.app.screen.at is None
    return pilot.app.screen


async def open_demo(pilot: Pilot) -> Screen:
    """``go(pilot, "project")``: the demo project's timeline, from the projects screen."""
    return await go(pilot, "project")


@asynccontextmanager
async def run_app(vm: Vmuser, *, size: tuple[int, int] = SIZE, notifications: bool = False,
                  **app_kwargs) -> AsyncIterator[Pilot]:
    """``make_app(vm, **app_kwargs)`` running headless at ``size``, settled; yields the Pilot."""
    app = make_app(vm, **app_kwargs)
    async with app.run_test(size=size, notifications=notifications) as pilot:
        await settle(pilot)
        yield pilot


@pytest.fixture
def pilot_at(world):
    """``async with pilot_at(where, size=SIZE, notifications=False, **app_kwargs) as (pilot, screen)``:
    the app on the test's world, walked to ``ROUTES[where]``; ``screen`` is the one reached."""

    @asynccontextmanager
    async def at(where: str = "projects", **kwargs) -> AsyncIterator[tuple[Pilot, Screen]]:
        async with run_app(world.vm, **kwargs) as pilot:
            yield pilot, await go(pilot, where, world)

    return at
