"""A big file streams through the content-defined chunker: capturing a 1 GiB file (sparse,
so the test needs no disk) grows the process by a bounded amount, not by the file, and
the file reads back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import os, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from vmuser_tui.core.service import Vmuser
root, size = Path(sys.argv[2]), int(sys.argv[3])
vm = Vmuser.open(data_dir=str(root / "data"), config_path=root / "none.toml", reconcile=False)
p = vm.projects.create("stream")
f = Path(p.workspace) / "huge.bin"
head = os.urandom(3 << 20)
with open(f, "wb") as fh:
    fh.write(head)
    fh.truncate(size)
out = vm.checkpoints.create(p.id)
entry = vm.checkpoints.entry(out.checkpoint.id, "huge.bin")
assert entry.size == size, entry
assert vm.fs.read(p.id, "huge.bin", at=out.checkpoint.id, limit=len(head)) == head
vm.close()
# VmHWM, not ru_maxrss: that one starts from the parent's peak (kept across fork and exec)
print(int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) // 1024)
"""


def _peak_mib(tmp_path: Path, name: str, size: int) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(tmp_path / name), str(size)],
                         check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1])


def test_a_1_gib_file_is_captured_in_bounded_memory(tmp_path, clean_env):
    small = _peak_mib(tmp_path, "small", 5 << 20)  # the same process with a 5 MiB big file
    huge = _peak_mib(tmp_path, "huge", 1 << 30)
    # in flight: 3 x cores chunks of at most 8 MiB (1.1 MiB on average) and their packed
    # copies, the chunker's 16 MiB buffer, a 32 MiB write batch: far below the 1 GiB file
    assert huge - small < 160, f"capturing 1 GiB took {huge} MiB at peak, 5 MiB took {small} MiB"
