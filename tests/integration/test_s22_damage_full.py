"""Session 22 (damage): a disk that fills while ``project create --import`` copies a folder
into the data dir. Before: exit code 2 (a usage error) and "check permissions", naming the
source folder; now one line that says the disk is full and to free space, exit code 1, and
nothing kept (no folder, no project)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PY = [sys.executable, "-m", "vmuser_tui"]


@pytest.fixture
def small_data_dir(tmp_path):
    """A 2 MiB tmpfs as the data dir (root only), unmounted at the end."""
    data = tmp_path / "data"
    data.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(data)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"mount is not permitted here: {r.stderr.strip()}")
    yield data
    if subprocess.run(["umount", str(data)], capture_output=True).returncode:
        subprocess.run(["umount", "-l", str(data)], capture_output=True)


def test_an_import_that_fills_the_disk_says_so_and_keeps_nothing(clean_env, tmp_path, small_data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(small_data_dir), VMUSER_CONFIG=str(tmp_path / "no-config.toml"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    src = tmp_path / "src"
    src.mkdir()
    (src / "small.txt").write_text("a\n")
    (src / "huge.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    r = subprocess.run([*PY, "project", "create", "big", "--import", str(src)], env=env, capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert "free space" in lines[0] and str(small_data_dir) in lines[0] and "permissions" not in lines[0], lines[0]
    assert "nothing was kept" in lines[0]
    assert os.listdir(small_data_dir / "workspaces") == []
    r = subprocess.run([*PY, "project", "list", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[]", (r.stdout, r.stderr)
