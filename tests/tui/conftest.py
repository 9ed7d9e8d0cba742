"""Fixtures for the TUI tests: a deterministic world, an app factory, a settle helper."""

from __future__ import annotations

import asyncio
import inspect
import shutil
from pathlib import Path

import pytest

from vmuser_tui.core.service import Vmuser
from vmuser_tui.tui.app import VmuserApp

from .world import build_world

SIZE = (80, 24)
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
    """Wait until the thread workers (and those they start) are done and the screen redrawn."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
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
