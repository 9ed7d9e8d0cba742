"""Issue 12, restore through the CLI: the line `checkpoint restore` prints counts what the
operation log records (stumble 6), and `--container` is refused by core's one check (no
image, or paths) before anything is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    e.update(VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "config.toml"),
             PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return e


def run(env, *args):
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, timeout=120)


def ok(env, *args) -> str:
    r = run(env, *args)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def _project(env, tmp_path) -> tuple[str, Path, str]:
    src = tmp_path / "src"
    src.mkdir()
    (src / "keep.txt").write_text("k\n")
    pid = ok(env, "project", "create", "demo", "--import", str(src)).strip()
    cp = ok(env, "checkpoint", "create", pid, "-m", "clean").strip()
    ws = Path(json.loads(ok(env, "project", "show", pid, "--json"))["workspace"])
    return pid, ws, cp


def test_restore_prints_the_count_the_log_records(env, tmp_path):
    pid, ws, cp = _project(env, tmp_path)
    (ws / "build").mkdir()
    for name in ("a.o", "b.o", "c.o"):
        (ws / "build" / name).write_text(name)
    out = ok(env, "checkpoint", "restore", cp, "--yes")
    assert out.startswith(f"restored {cp}: 3 paths changed: 3 deleted;")
    log = json.loads(ok(env, "log", "--project", pid, "--json"))
    restore = next(e for e in log if e["operation"] == "checkpoint.restore")
    assert restore["details"]["deleted"] == 3


@pytest.mark.parametrize("extra", [[], ["--path", "keep.txt"]])
def test_container_restore_without_an_image_is_refused_before_anything_is_written(env, tmp_path, extra):
    pid, ws, cp = _project(env, tmp_path)
    (ws / "keep.txt").write_text("changed\n")
    before = json.loads(ok(env, "checkpoint", "list", pid, "--json"))
    r = run(env, "checkpoint", "restore", cp, "--container", "--yes", *extra)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "has no container image; set [snapshots] container_image = true" in err
    assert err.count("\n") == 1  # one line
    assert json.loads(ok(env, "checkpoint", "list", pid, "--json")) == before  # no pre-restore checkpoint
    assert (ws / "keep.txt").read_text() == "changed\n"
