"""Session metrics on a real engine: commands counted as they run, CPU and memory sampled by
the stats job, everything still there after a restart, shown by `session show --json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vmuser_tui.core import metrics

pytestmark = pytest.mark.docker


def test_metrics_are_counted_sampled_and_survive_a_restart(make_vm, docker_projects, data_dir, config_path):
    vm = make_vm()
    p = vm.projects.create("metered")
    docker_projects[1].append(p.id)
    s = vm.sessions.start(p.id).session
    vm.sessions.exec(s.id, ["sh", "-c", "echo hi > /workspace/a.txt"])
    vm.sessions.exec(s.id, ["sh", "-c", "sleep 0.2"])
    vm.checkpoints.create(p.id)
    out = vm.scheduler().run_job("stats", force=True)
    assert out.summary == {"sampled": 1, "problems": []}
    vm.close()

    again = make_vm()  # a new process's view: all from SQLite
    m = metrics.get(again.db, s.id)
    assert m.commands_run == 2 and m.last_exec_ms >= 200 and m.avg_exec_ms >= 100
    assert m.memory_bytes > 0 and m.peak_memory_bytes >= m.memory_bytes and m.cpu_percent is not None
    assert m.workspace_bytes == 3 and m.checkpoint_bytes > 0 and len(m.history) == 1
    env = dict(os.environ, VMUSER_DATA_DIR=str(data_dir), VMUSER_CONFIG=str(config_path))
    r = subprocess.run([sys.executable, "-m", "vmuser_tui", "session", "show", s.id, "--json"], env=env,
                       capture_output=True, text=True, check=True)
    doc = json.loads(r.stdout)
    assert doc["metrics"]["commands_run"] == 2 and doc["metrics"]["memory_bytes"] == m.memory_bytes
    assert doc["attached"] == []
