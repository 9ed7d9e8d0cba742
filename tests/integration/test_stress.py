"""Many clients on one database for a while (issue: two TUI service layers, a CLI loop and a
headless worker, 2 minutes by default; VMUSER_STRESS_SECONDS changes it): nobody sees
"database is locked", no checkpoint is lost, every change has its log entry, and SQLite's
integrity check passes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vmuser_tui.core.service import Vmuser

SECONDS = float(os.environ.get("VMUSER_STRESS_SECONDS", "120"))
pytestmark = pytest.mark.timeout(int(SECONDS) + 240)
HERE = Path(__file__).parent


def test_many_clients_for_a_while(tmp_path, clean_env):
    data, cfg = tmp_path / "data", tmp_path / "config.toml"
    cfg.write_text("[snapshots]\ninterval = 5\ndebounce = 0.5\n")
    vm = Vmuser.open(data_dir=str(data), config_path=cfg)
    world = {}
    for name in ("tui-a", "tui-b", "cli-c"):
        p = vm.projects.create(name)
        (Path(p.workspace) / "README").write_text(f"{name}\n")
        world[name] = (p.id, vm.sessions.start(p.id, runtime="none").session.id)
    vm.close()
    env = dict(os.environ, VMUSER_DATA_DIR=str(data), VMUSER_CONFIG=str(cfg))

    worker = subprocess.Popen([sys.executable, "-m", "vmuser_tui", "worker", "--no-serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    clients = {
        name: subprocess.Popen([sys.executable, str(HERE / "stress_client.py"), str(data), str(cfg), *world[name],
                                str(SECONDS), str(tmp_path / f"{name}.json")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("tui-a", "tui-b")
    }
    # The CLI loop: one process per command, as a script would run it.
    pid_c = world["cli-c"][0]
    cli_errors, cli_checkpoints, cli_tags, i = [], [], 0, 0
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        i += 1
        steps = [["fs", "put", pid_c, f"f{i % 7}.txt", "-"], ["checkpoint", "create", pid_c, "-m", f"cli {i}"]]
        for argv in steps:
            r = subprocess.run([sys.executable, "-m", "vmuser_tui", *argv], env=env, capture_output=True, text=True,
                               input=f"cli {i}\n", check=False)
            if r.returncode != 0:
                cli_errors.append(r.stderr.strip())
            elif argv[0] == "checkpoint":
                cli_checkpoints.append(r.stdout.strip())
        if i % 4 == 0 and cli_checkpoints:
            r = subprocess.run([sys.executable, "-m", "vmuser_tui", "checkpoint", "tag", cli_checkpoints[-1],
                                f"c{i}"], env=env, capture_output=True, text=True, check=False)
            if r.returncode:
                cli_errors.append(r.stderr.strip())
            else:
                cli_tags += 1
        subprocess.run([sys.executable, "-m", "vmuser_tui", "log", "--limit", "5", "--json"], env=env,
                       capture_output=True, check=False)

    results = {}
    for name, proc in clients.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results[name] = json.loads((tmp_path / f"{name}.json").read_text())
    worker.send_signal(signal.SIGTERM)
    _, worker_err = worker.communicate(timeout=60)

    everything = cli_errors + [e for r in results.values() for e in r["errors"]] + [worker_err]
    assert not [e for e in everything if "locked" in e.lower() or "busy" in e.lower()], everything
    assert cli_errors == [] and all(r["errors"] == [] for r in results.values()), (cli_errors, results)
    assert "Traceback" not in worker_err, worker_err

    db = sqlite3.connect(data / "vmuser.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {row[0] for row in db.execute("SELECT id FROM checkpoints")}
    made = set(cli_checkpoints) | {c for r in results.values() for c in r["checkpoints"]}
    assert made <= stored, f"lost checkpoints: {made - stored}"
    logged = {json.loads(d)["checkpoint"] for (d,) in db.execute(
        "SELECT details FROM operation_log WHERE operation = 'checkpoint.create'")}
    assert stored <= logged, f"checkpoints without a log entry: {stored - logged}"
    tag_entries = db.execute("SELECT COUNT(*) FROM operation_log WHERE operation = 'checkpoint.tag'").fetchone()[0]
    assert tag_entries == cli_tags + sum(r["tags"] for r in results.values())
    restores = db.execute("SELECT COUNT(*) FROM operation_log WHERE operation = 'checkpoint.restore'").fetchone()[0]
    assert restores == sum(r["restores"] + r["undos"] for r in results.values())
    autos = db.execute("SELECT COUNT(*) FROM checkpoints WHERE kind = 'auto'").fetchone()[0]
    # Figures for the record (shown with -s or on failure).
    print(f"\nstress {SECONDS:.0f}s: {len(made)} checkpoints by clients, {autos} auto, {tag_entries} tags, "
          f"{restores} restores, {len(cli_checkpoints)} CLI checkpoints; integrity ok")
