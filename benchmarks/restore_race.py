"""Restores racing a folder/symlink swap (issue 11, case 7): nothing outside the workspace
may be deleted or written, however the race falls.

    python benchmarks/restore_race.py                      # 300 host-side and 300 container-side runs
    python benchmarks/restore_race.py --runs 50 --side host

Each run: a workspace holds ``d/keep`` when checkpoint T is taken; then ``d/`` gets
``--extra`` more files (which a restore of T deletes) and ``s`` becomes a symlink to a
folder outside the workspace holding as many files of its own. The moment the restore's
journal row is committed (its first change is next), a swapper starts exchanging ``d``
and ``s`` by three renames in a loop: from the host (a second process), or from inside a
session-like container (busybox ``mv`` in a loop, the workspace bind-mounted, root in the
container: the strongest attacker a session can be). The restore of T then runs to its
end, and the outside folder is compared, file by file, with what it held before.

Prints, per side: runs, restores that finished, paths the restores reported as changed
under them, and files deleted, changed or added outside: the last three must be 0 (exit 1
otherwise). The functions here are also used by tests/integration/test_restore_race.py.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from vmuser_tui.core.errors import VmuserError  # noqa: E402
from vmuser_tui.core.service import Vmuser  # noqa: E402

# The host-side swapper: waits for the restore's journal row, then swaps d and s until told to stop.
_HOST_SWAPPER = r"""
import os, sqlite3, sys, time
ws, db, stop = sys.argv[1], sys.argv[2], sys.argv[3]
conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
deadline = time.monotonic() + 60
while not conn.execute("SELECT 1 FROM restore_journal").fetchone():
    if os.path.exists(stop) or time.monotonic() > deadline:
        sys.exit(0)
d, s, t = (os.path.join(ws, n) for n in ("d", "s", "t"))
swaps = 0
while not os.path.exists(stop):
    try:
        os.rename(d, t); os.rename(s, d); os.rename(t, s)
        swaps += 1
    except OSError:
        pass
print(swaps)
"""

# The container-side swapper: busybox sh, started when the host touches /workspace/.go
_CONTAINER_SWAPPER = (
    "cd /workspace; while [ ! -e .go ]; do :; done; "
    "while [ ! -e .stop ]; do mv d t; mv s d; mv t s; done 2>/dev/null"
)


@dataclass
class Tally:
    """What a series of runs did; ``outside_*`` must stay 0."""

    runs: int = 0
    finished: int = 0
    refused: int = 0  # the restore stopped with an error (e.g. rolled back)
    reported: int = 0  # paths the restores listed as changed under them
    swaps: int = 0  # host side: d/s exchanges made while restores ran
    outside_deleted: int = 0
    outside_changed: int = 0
    outside_added: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self, side: str) -> str:
        return (f"{side:9} runs {self.runs:4}  finished {self.finished:4}  refused {self.refused:3}  "
                f"paths reported {self.reported:6}  swaps {self.swaps:7}  outside: deleted {self.outside_deleted}, "
                f"changed {self.outside_changed}, added {self.outside_added}")


def _digest_tree(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if os.path.islink(full):
                out[rel] = "link:" + os.readlink(full)
            else:
                with open(full, "rb") as fh:
                    out[rel] = hashlib.sha256(fh.read()).hexdigest()
    return out


def prepare(vm: Vmuser, base: Path, extra: int) -> tuple[str, Path, Path]:
    """A project whose checkpoint T holds ``d/keep``; then ``d/`` gets ``extra`` files and
    ``s`` links to ``outside/`` (``extra`` files of its own). Returns (T's id, workspace, outside)."""
    ws = base / "ws"
    outside = base / "outside"
    ws.mkdir(parents=True)
    outside.mkdir()
    (ws / "d").mkdir()
    (ws / "d" / "keep").write_text("keep\n")
    p = vm.projects.create(f"race {base.name}", workspace=str(ws))
    t = vm.checkpoints.create(p.id, description="T").checkpoint.id
    for i in range(extra):
        (ws / "d" / f"x{i:05}").write_text(f"extra {i}\n")
        (outside / f"x{i:05}").write_text(f"precious {i}\n")
    os.symlink(outside, ws / "s")
    return t, ws, outside


def _restore(vm: Vmuser, t: str, tally: Tally) -> None:
    try:
        outcome = vm.restores.restore(t)
    except VmuserError as exc:
        tally.refused += 1
        tally.errors.append(str(exc))
    else:
        tally.finished += 1
        tally.reported += len(getattr(outcome.result, "failed", ()))


def _compare(before: dict[str, str], outside: Path, tally: Tally) -> None:
    after = _digest_tree(outside)
    tally.outside_deleted += sum(1 for k in before if k not in after)
    tally.outside_changed += sum(1 for k in before if k in after and after[k] != before[k])
    tally.outside_added += sum(1 for k in after if k not in before)


def host_run(vm: Vmuser, base: Path, extra: int, tally: Tally) -> None:
    """One restore raced by a host-side swapper process."""
    t, ws, outside = prepare(vm, base, extra)
    before = _digest_tree(outside)
    stop = base / "stop"
    swapper = subprocess.Popen([sys.executable, "-c", _HOST_SWAPPER, str(ws), str(vm.ctx.db.path), str(stop)],
                               stdout=subprocess.PIPE, text=True)
    try:
        _restore(vm, t, tally)
    finally:
        stop.touch()
        out, _ = swapper.communicate(timeout=60)
        tally.swaps += int(out.strip() or 0)
    tally.runs += 1
    _compare(before, outside, tally)


def container_run(vm: Vmuser, client, image: str, base: Path, extra: int, tally: Tally) -> None:
    """One restore raced by a swapper inside a container that has the workspace at
    /workspace (run as root, every default capability: stronger than a vmuser session)."""
    t, ws, outside = prepare(vm, base, extra)
    before = _digest_tree(outside)
    container = client.containers.run(image, ["sh", "-c", _CONTAINER_SWAPPER], detach=True,
                                      volumes={str(ws): {"bind": "/workspace", "mode": "rw"}},
                                      labels={"vmuser.test": "restore-race"})
    try:
        db = str(vm.ctx.db.path)
        started = threading.Event()

        def trigger() -> None:  # touch .go the moment the journal row is committed
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            deadline = time.monotonic() + 60
            while not conn.execute("SELECT 1 FROM restore_journal").fetchone() and time.monotonic() < deadline:
                pass
            (ws / ".go").touch()
            started.set()

        threading.Thread(target=trigger, daemon=True).start()
        _restore(vm, t, tally)
    finally:
        (ws / ".stop").touch()
        try:
            container.wait(timeout=30)
        finally:
            container.remove(force=True)
    tally.runs += 1
    _compare(before, outside, tally)


def open_vm(data: Path) -> Vmuser:
    """A vmuser on its own data dir with default settings, not reconciled with Docker."""
    os.environ.pop("VMUSER_CONFIG", None)
    return Vmuser.open(data_dir=str(data), config_path=data.parent / "none.toml", reconcile=False)


@contextlib.contextmanager
def scratch_dir():
    """A temp dir on a tmpfs of its own when this process may mount one (root, as CI is):
    thousands of files per run cost milliseconds there and seconds on a busy disk. /dev/shm
    is no place for it: vmuser refuses workspaces under /dev. Else the default temp dir."""
    with tempfile.TemporaryDirectory(prefix="vmuser-race-") as tmp:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2g,mode=0700", "tmpfs", tmp],
                                 capture_output=True).returncode == 0
        try:
            yield tmp
        finally:
            if mounted:
                subprocess.run(["umount", "-l", tmp], capture_output=True)


def series(side: str, runs: int, extra: int, *, client=None, image: str | None = None) -> Tally:
    """``runs`` raced restores on ``side`` ('host' or 'container'), each in a fresh tmp dir."""
    tally = Tally()
    with scratch_dir() as tmp:
        vm = open_vm(Path(tmp) / "data")
        try:
            for i in range(runs):
                base = Path(tmp) / f"run{i:04}"
                if side == "host":
                    host_run(vm, base, extra, tally)
                else:
                    container_run(vm, client, image, base, extra, tally)
                shutil.rmtree(base, ignore_errors=True)
        finally:
            vm.close()
    return tally


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=300, help="restores per side (default 300)")
    ap.add_argument("--extra", type=int, default=2000, help="extra files in d/ and outside (default 2000)")
    ap.add_argument("--side", choices=("host", "container", "both"), default="both")
    args = ap.parse_args()
    failed = False
    sides = ["host", "container"] if args.side == "both" else [args.side]
    for side in sides:
        client = image = None
        if side == "container":
            import docker

            from vmuser_tui.core.runtime import FALLBACK_IMAGE
            from vmuser_tui.core.runtime.docker_runtime import DockerRuntime

            image = DockerRuntime(timeout=60).ensure_image(FALLBACK_IMAGE).image
            client = docker.from_env(timeout=60)
        started = time.monotonic()
        tally = series(side, args.runs, args.extra, client=client, image=image)
        print(f"{tally.line(side)}  ({time.monotonic() - started:.0f} s)")
        if tally.outside_deleted or tally.outside_changed or tally.outside_added:
            failed = True
        for err in sorted(set(tally.errors))[:5]:
            print(f"  refused: {err}")
    print("nothing outside the workspace was touched" if not failed else "FAILED: files outside were touched")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
