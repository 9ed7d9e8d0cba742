"""kill -9 of ``project export`` (session 22, crash hardening).

An export writes ``.<name>.<host>.<pid>.<random>.tmp`` next to the destination and renames it
at the end, so a killed export never leaves a half file under the name asked for. The temp
file stayed, up to the whole export's size, and nothing removed it; the next export to the
same name now removes those of this host whose process is gone (``export.reclaim_temps``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _cli(data_dir: Path, *argv: str) -> list[str]:
    return [sys.executable, "-m", "vmuser_tui", "--data-dir", str(data_dir), "--config",
            str(data_dir.parent / "none.toml"), *argv]


def test_a_killed_export_leaves_no_temp_file_after_the_next_export(tmp_path, cli_env):
    data_dir, out = tmp_path / "data", tmp_path / "out"
    ws = tmp_path / "ws"
    for i in range(3000):
        (ws / f"d{i % 10}").mkdir(parents=True, exist_ok=True)
        (ws / f"d{i % 10}" / f"f{i}.bin").write_bytes(os.urandom(2048))
    out.mkdir()
    env = {**cli_env}
    subprocess.run(_cli(data_dir, "project", "create", "exp", "--workspace", str(ws)), env=env, check=True,
                   capture_output=True)
    subprocess.run(_cli(data_dir, "checkpoint", "create", "exp"), env=env, check=True, capture_output=True)
    proc = subprocess.Popen(_cli(data_dir, "project", "export", "exp", "-o", str(out / "exp.vmuser")), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".tmp") for p in out.iterdir()) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if (out / "exp.vmuser").exists():
        pytest.skip("the export finished before the kill")
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")], "no temp file was seen"
    done = subprocess.run(_cli(data_dir, "project", "export", "exp", "-o", str(out / "exp.vmuser")), env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    subprocess.run(_cli(data_dir, "gc"), env=env, check=True, capture_output=True)
    assert sorted(p.name for p in out.iterdir()) == ["exp.vmuser"]


def test_only_dead_exports_of_this_host_lose_their_temp_files(tmp_path):
    from vmuser_tui.core import procs
    from vmuser_tui.core.export import reclaim_temps

    out = tmp_path / "exp.vmuser"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = procs.hostname()
    names = {
        "dead": f".exp.vmuser.{host}.{gone.pid}.0badf00d.tmp",
        "dead, before session 22": f".exp.vmuser.{gone.pid}.0badf00d.tmp",
        "alive": f".exp.vmuser.{host}.{os.getpid()}.0badf00d.tmp",
        "another host": f".exp.vmuser.elsewhere.{gone.pid}.0badf00d.tmp",
        "another export": f".other.vmuser.{host}.{gone.pid}.0badf00d.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    removed = reclaim_temps(out)
    assert sorted(p.name for p in removed) == sorted([names["dead"], names["dead, before session 22"]])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        names[k] for k in ("alive", "another host", "another export"))
