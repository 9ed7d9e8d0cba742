"""kill -9 of ``project export`` (session 22, crash hardening; core/export.py is the lead's,
so this finding is recorded, not fixed).

An export writes ``.<name>.<pid>.<random>.tmp`` next to the destination and renames it at the
end, so a killed export never leaves a half file under the name asked for (that holds). But
the temp file stays, up to the whole export's size, and nothing removes it: not the next
export to the same name, not ``vmuser gc``. Fix (in export.py): before writing, remove
``.<name>.<pid>.*.tmp`` files next to the destination whose pid is dead (``procs.alive``).
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


@pytest.mark.xfail(strict=True, reason="core/export.py never removes the temp file of a killed export "
                                       "(not this helper's file to edit: reported)")
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
