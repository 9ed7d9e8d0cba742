"""Secrets typed in a `session exec` command line (issue 11, case 10) never reach the database,
`vmuser log`, `vmuser log --json` or the TUI's operation log: a real exec in a real container,
then every place the command is kept or shown is searched for the secrets."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from vmuser_tui.core.redact import MASK

pytestmark = pytest.mark.docker

AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
DB_PW = "pw4Vmuser"  # in postgres://u:PW@h/db
BEARER = "bearerTok3n"
MYSQL_PW = "hunter2x"
SECRETS = [AWS_ID, DB_PW, BEARER, MYSQL_PW]
# each secret in one of the shapes the issue names; `true` ignores its arguments (busybox has no curl)
COMMAND = ["env", f"AWS_ACCESS_KEY_ID={AWS_ID}", f"DATABASE_URL=postgres://u:{DB_PW}@h/db",
           "true", "curl", "-H", f"Authorization: Bearer {BEARER}", "mysql", f"--password={MYSQL_PW}", f"-p{MYSQL_PW}"]


def cli(env, *args):
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def tui_log_text(vm) -> str:
    """What the TUI's operation log shows: every cell of its table, and the entry opened as JSON."""
    from textual.widgets import DataTable

    from vmuser_tui.tui.app import VmuserApp
    from vmuser_tui.tui.screens.log import LogScreen

    async def run() -> str:
        app = VmuserApp(vm, docker_status=lambda: (True, "Docker reachable"), docker_interval=0, watch_interval=0)
        async with app.run_test(size=(160, 40)) as pilot:
            for _ in range(4):
                await app.workers.wait_for_complete()
                await pilot.pause()
            await pilot.press("L")
            for _ in range(4):
                await app.workers.wait_for_complete()
                await pilot.pause()
            screen = app.screen
            assert isinstance(screen, LogScreen)
            table = screen.query_one("#log", DataTable)
            cells = [str(getattr(c, "plain", c)) for r in range(table.row_count) for c in table.get_row_at(r)]
            await pilot.press("enter")  # the newest entry (the exec) as JSON
            await pilot.pause()
            return "\n".join(cells) + "\n" + getattr(app.screen, "output", "")

    return asyncio.run(run())


def test_exec_secrets_are_masked_in_the_log_the_database_and_the_tui(make_vm, docker_projects, data_dir,
                                                                      config_path):
    vm = make_vm()
    p = vm.projects.create("secrets")
    docker_projects[1].append(p.id)
    s = vm.sessions.start(p.id).session
    env = dict(os.environ, VMUSER_DATA_DIR=str(data_dir), VMUSER_CONFIG=str(config_path))
    r = cli(env, "session", "exec", s.id, "--", *COMMAND)
    assert r.returncode == 0, r.stderr

    listed = cli(env, "log", "--json", "--operation", "session.exec")
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert entry["details"]["command"] == [
        "env", f"AWS_ACCESS_KEY_ID={MASK}", f"DATABASE_URL={MASK}", "true", "curl", "-H", f"Authorization: {MASK}",
        "mysql", f"--password={MASK}", f"-p{MASK}"]
    table = cli(env, "log")
    assert table.returncode == 0 and "session.exec" in table.stdout
    for out in (listed.stdout, table.stdout, table.stderr, r.stderr):
        assert not [x for x in SECRETS if x in out]

    shown = tui_log_text(vm)
    assert "session.exec" in shown and f"Authorization: {MASK}" in shown
    assert not [x for x in SECRETS if x in shown]
    vm.close()

    db = data_dir / "vmuser.db"
    with sqlite3.connect(db) as conn:  # every page in the main file, the WAL emptied
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(f.read_bytes() for f in data_dir.glob("vmuser.db*"))
    assert b"session.exec" in raw
    assert not [x for x in SECRETS if x.encode() in raw]
