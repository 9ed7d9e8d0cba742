"""A first checkpoint of many small files through the CLI (issue 15, item 4): the one-shot
command lists the folders (no worker: the folder-signature scan) and hashes them in
worker processes; what it stores restores byte-exact, and the next command finds
nothing to do. Above the real process threshold, so no setting is changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from vmuser_tui.core.store import hashproc

ROOT = Path(__file__).resolve().parents[2]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_first_checkpoint_of_many_files_restores_byte_exact(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(PYTHONPATH=str(ROOT), VMUSER_DATA_DIR=str(tmp_path / "data"),
               VMUSER_CONFIG=str(tmp_path / "none.toml"))
    ws = tmp_path / "ws"
    files = {}
    for i in range(hashproc.MIN_FILES + 500):
        rel = f"d{i % 11}/s{i % 37}/f{i:05d}.txt"
        files[rel] = b"" if i % 101 == 0 else f"line {i}\n".encode() * (i % 60 + 1)
    files["big.bin"] = os.urandom(1 << 16) * 90  # chunked, in threads
    for rel, data in files.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_bytes(data)
    assert _cli(env, "project", "create", "many", "--workspace", str(ws)).returncode == 0

    out = _cli(env, "checkpoint", "create", "many", "-m", "first")
    assert out.returncode == 0, out.stderr
    first = out.stdout.strip()
    again = _cli(env, "checkpoint", "create", "many")
    assert again.returncode == 0 and again.stdout.strip() == first  # nothing changed: the same checkpoint
    listed = json.loads(_cli(env, "checkpoint", "list", "many", "--json").stdout)
    assert [(c["id"], c["file_count"]) for c in listed] == [(first, len(files))]

    shutil.rmtree(ws / "d3")
    (ws / "d0" / "s0" / "f00000.txt").write_bytes(b"changed\n")
    out = _cli(env, "checkpoint", "restore", first, "--yes")
    assert out.returncode == 0, out.stderr
    on_disk = {str(p.relative_to(ws)): p.read_bytes() for p in ws.rglob("*") if p.is_file()}
    assert on_disk == files
