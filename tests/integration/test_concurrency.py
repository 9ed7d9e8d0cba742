"""Several processes on one database: simultaneous captures, and gc racing a capture."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vmuser_tui.core.store.objects import CHUNK_THRESHOLD

from wsutil import write

# Runs in a child process: open the same data dir, say "ready", then act and print one
# JSON line. A capture waits for the "go" file (so all start together); gc starts at once
# and collects in a loop until the "stop" file appears.
CHILD = r"""
import json, os, sys, time
from vmuser_tui.core.service import Vmuser
data_dir, config_path, action, ref, sync = sys.argv[1:6]
vm = Vmuser.open(data_dir=data_dir, config_path=config_path, reconcile=False)
open(os.path.join(sync, f"ready-{os.getpid()}"), "w").close()
deadline = time.time() + 60
if action == "capture":
    while not os.path.exists(os.path.join(sync, "go")) and time.time() < deadline:
        time.sleep(0.001)
    t0 = time.time()
    out = vm.checkpoints.create(ref, description=f"pid {os.getpid()}")
    result = {"id": out.checkpoint.id, "created": out.created, "root": out.checkpoint.root_tree}
elif action == "gc":
    t0 = time.time()
    n = runs = 0
    while not os.path.exists(os.path.join(sync, "stop")) and time.time() < deadline:
        n += vm.gc().blobs
        runs += 1
    result = {"gc_blobs": n, "runs": runs}
result["t0"], result["t1"] = t0, time.time()
vm.close()
print(json.dumps(result))
"""


def child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def spawn(data_dir, config_path, action, ref, sync: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), str(config_path), action, ref, str(sync)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
    )


def wait_ready(sync: Path, procs: list[subprocess.Popen]) -> None:
    deadline = time.time() + 60
    while len(list(sync.glob("ready-*"))) < len(procs):
        for proc in procs:
            if proc.poll() is not None:  # died before getting ready
                _, err = proc.communicate()
                pytest.fail(f"child exited with {proc.returncode}: {err.decode()[-2000:]}")
        assert time.time() < deadline, "children did not get ready within 60 s"
        time.sleep(0.01)


def finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    return json.loads(out.decode().strip().splitlines()[-1])


def fill(ws: Path, n_files: int = 400, big: int = 2) -> dict[str, bytes]:
    rng = random.Random(11)
    files = {}
    for i in range(n_files):
        rel = f"d{i % 10}/f{i:04}.txt"
        files[rel] = f"file {i}\n".encode() * (1 + i % 50)
    for i in range(big):
        files[f"big{i}.bin"] = rng.randbytes(CHUNK_THRESHOLD + 100_000 * (i + 1))
    for rel, data in files.items():
        write(ws, rel, data)
    return files


def assert_checkpoint_matches(vm, cp_id: str, files: dict[str, bytes]) -> None:
    cp = vm.checkpoints.get(cp_id)
    stored = {p: e for p, e in vm.ctx.store.walk(cp.root_tree) if e.kind == "file"}
    assert set(stored) == set(files)
    assert cp.file_count == len(files)
    for rel, data in files.items():
        got = vm.ctx.store.read_blob(stored[rel].hash)
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), rel


def test_two_processes_capture_the_same_workspace_at_once(vm, data_dir, config_path, tmp_path):
    p = vm.projects.create("Shared")
    files = fill(Path(p.workspace))
    sync = tmp_path / "sync"
    sync.mkdir()
    procs = [spawn(data_dir, config_path, "capture", p.id, sync) for _ in range(2)]
    wait_ready(sync, procs)
    (sync / "go").touch()
    results = [finish(proc) for proc in procs]
    # they really ran at the same time
    assert max(r["t0"] for r in results) < min(r["t1"] for r in results)
    assert results[0]["root"] == results[1]["root"]
    for r in results:
        assert_checkpoint_matches(vm, r["id"], files)
    # the store and the stat cache are consistent afterwards: nothing changed, nothing new
    again = vm.checkpoints.create(p.id)
    assert again.created is False and again.checkpoint.root_tree == results[0]["root"]
    dupes = vm.db.query_one("SELECT COUNT(*) AS n FROM (SELECT hash FROM blobs GROUP BY hash HAVING COUNT(*) > 1)")
    assert dupes["n"] == 0
    assert vm.db.query_one("SELECT COUNT(*) AS n FROM capture_locks")["n"] == 0


def test_gc_running_during_a_capture_does_not_break_it(vm, data_dir, config_path, tmp_path):
    """gc spares blobs a capture in progress has written but not yet referenced."""
    p = vm.projects.create("Racing")
    files = fill(Path(p.workspace), n_files=200, big=3)
    sync = tmp_path / "sync"
    sync.mkdir()
    gc_proc = spawn(data_dir, config_path, "gc", p.id, sync)
    cap_proc = spawn(data_dir, config_path, "capture", p.id, sync)
    try:
        wait_ready(sync, [gc_proc, cap_proc])
        (sync / "go").touch()
        cap = finish(cap_proc)
    finally:
        (sync / "stop").touch()
    gc_result = finish(gc_proc)
    assert gc_result["t0"] < cap["t0"] and gc_result["runs"] > 1  # gc ran all along the capture
    assert cap["created"]
    assert_checkpoint_matches(vm, cap["id"], files)
    # and it restores
    ws = Path(p.workspace)
    (ws / "big1.bin").unlink()
    vm.restores.restore(cap["id"])
    assert (ws / "big1.bin").read_bytes() == files["big1.bin"]


@pytest.mark.parametrize("n", [3])
def test_many_processes_open_a_fresh_data_dir_at_once(tmp_path, n):
    """Migrations race safely: every process gets a working database."""
    data_dir, config_path = tmp_path / "fresh", tmp_path / "none.toml"
    code = (
        "import sys; from vmuser_tui.core.service import Vmuser; "
        "vm = Vmuser.open(data_dir=sys.argv[1], config_path=sys.argv[2]); "
        "p = vm.projects.create('p'); print(p.id)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(data_dir), str(config_path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=child_env())
        for _ in range(n)
    ]
    ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()[-2000:]
        ids.append(out.decode().strip())
    from vmuser_tui.core.service import Vmuser

    vm = Vmuser.open(data_dir=str(data_dir), config_path=config_path)
    try:
        assert sorted(p.id for p in vm.projects.list()) == sorted(ids)
    finally:
        vm.close()
