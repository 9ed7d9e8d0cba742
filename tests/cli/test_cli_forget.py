"""`vmuser checkpoint forget` as scripts and people use it: real processes, real SQLite."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vmuser_tui.core.service import Vmuser

START = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def env(tmp_path, clean_env):
    e = dict(os.environ)
    e.update(VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "config.toml"))
    e.pop("VMUSER_DOCKER_BASE_URL", None)
    return e


@pytest.fixture
def project(env, monkeypatch):
    """``(project id, checkpoint ids oldest first)``: 30 hourly auto checkpoints, then a manual one."""
    rng = random.Random(1)
    vm = Vmuser.open(data_dir=env["VMUSER_DATA_DIR"], config_path=env["VMUSER_CONFIG"], reconcile=False)
    try:
        p = vm.projects.create("web")
        ids = []
        for i in range(31):
            Path(p.workspace, "state.bin").write_bytes(rng.randbytes(3000))
            monkeypatch.setenv("VMUSER_FROZEN_TIME", (START + timedelta(hours=i)).isoformat())
            ids.append(vm.checkpoints.create(p.id, kind="manual" if i == 30 else "auto").checkpoint.id)
    finally:
        vm.close()
    monkeypatch.delenv("VMUSER_FROZEN_TIME")
    return p.id, ids


def run(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def count(env, pid: str) -> int:
    r = run(env, "checkpoint", "list", pid, "--json")
    assert r.returncode == 0, r.stderr
    return len(json.loads(r.stdout))


def test_dry_run_json_lists_what_goes_and_changes_nothing(env, project):
    pid, ids = project
    r = run(env, "checkpoint", "forget", "web", "--dry-run", "--json", "--keep-last", "2")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["dry_run"] is True and doc["project"] == pid
    assert [(k["id"], k["reasons"]) for k in doc["keep"]] == [
        (ids[30], ["manual", "newest", "head"]),
        (ids[29], ["last"]),
        (ids[28], ["last"]),
    ]
    assert [f["id"] for f in doc["forget"]] == ids[27::-1]
    assert doc["policy"]["keep_last"] == 2 and doc["policy"]["keep_daily"] == 0  # flags replace the config
    assert count(env, pid) == 31

    r = run(env, "checkpoint", "forget", pid, "--dry-run", "--keep-last", "2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split() == ["ID", "CREATED", "KIND", "ACTION", "REASONS", "DESCRIPTION"]
    assert f"{ids[29]}  2025-03-02 05:00:00  auto    keep" in r.stdout
    assert "would forget 28 of 31 checkpoint(s), keeping 3 (dry run: nothing changed)" in r.stderr
    assert count(env, pid) == 31


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--keep-daily", "-3"], "--keep-daily needs a whole number from 0 to 1000000 (or -1 for all), got '-3'"),
        (["--keep-last", "ten"], "--keep-last needs a whole number"),
        (["--keep-within", "2w"], "bad duration '2w': use whole numbers with y (years), m (months)"),
        (["--keep-last", "0"], "the retention policy is empty"),
    ],
)
def test_bad_values_give_one_line_and_change_nothing(env, project, args, message):
    pid, _ = project
    r = run(env, "checkpoint", "forget", pid, *args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("vmuser: error: ") and message in r.stderr
    assert count(env, pid) == 31


def test_bad_config_value_and_unknown_project(env, project, tmp_path):
    pid, _ = project
    r = run(env, "checkpoint", "forget", "nope-0000")
    assert r.returncode == 1 and "no project matches" in r.stderr
    Path(env["VMUSER_CONFIG"]).write_text('[retention]\nkeep_within = "a while"\n')
    r = run(env, "checkpoint", "forget", pid, "--dry-run")
    assert r.returncode == 1 and "[retention] keep_within: bad duration 'a while'" in r.stderr


def test_real_run_asks_first_then_forgets_and_prunes(env, project):
    pid, ids = project
    # no terminal and no --yes: refused, nothing forgotten
    r = run(env, "checkpoint", "forget", pid, "--keep-last", "5")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "--yes" in r.stderr
    assert count(env, pid) == 31

    r = run(env, "checkpoint", "forget", pid, "--keep-last", "5", "--yes", "--prune", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["dry_run"] is False and len(doc["forget"]) == 25
    assert doc["gc"]["bytes"] >= 25 * 3000 * 0.9  # random bytes: stored at full size
    left = json.loads(run(env, "checkpoint", "list", pid, "--json").stdout)
    assert [c["id"] for c in left] == [ids[30], *ids[29:24:-1]]
    assert left[-1]["parent_id"] is None  # the oldest kept became the root
    log = json.loads(run(env, "log", "--operation", "checkpoint.forget", "--json").stdout)
    assert len(log) == 1 and len(log[0]["details"]["forgotten"]) == 25

    r = run(env, "checkpoint", "forget", pid, "--keep-last", "5", "--yes")
    assert r.returncode == 0 and "nothing to forget: all 6 checkpoint(s)" in r.stdout


def test_help_teaches_with_examples():
    r = subprocess.run(
        [sys.executable, "-m", "vmuser_tui", "checkpoint", "forget", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0
    assert "examples:" in r.stdout and "vmuser checkpoint forget web --dry-run" in r.stdout
    assert "restic" in r.stdout and "--keep-within DUR" in r.stdout and "--include-manual" in r.stdout
