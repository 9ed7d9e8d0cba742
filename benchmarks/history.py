"""Scale of history: a project with 10,000 checkpoints.

    python benchmarks/history.py                  # 10,000 checkpoints of a 300-file workspace
    python benchmarks/history.py --checkpoints 2000

Builds the history through the real API (each checkpoint after editing 1-3 files), then
prints the time to list the whole timeline (in-process and as a `vmuser checkpoint list
--json` process) and the database size against the unique content: the distinct blobs
and trees the history holds, at their raw (uncompressed) sizes. Targets (issue #3):
timeline < 100 ms in-process; database <= 1.2x the unique content.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIST_TARGET_S = 0.100
SIZE_TARGET = 1.2


def build(vm, checkpoints: int, n_files: int, seed: int = 3):
    """Project ``history`` in ``vm``: ``n_files`` files, then ``checkpoints`` checkpoints,
    each after appending to 1-3 of them (every 500th tagged); returns the project.
    benchmarks/export.py builds the same history."""
    rng = random.Random(seed)
    project = vm.projects.create("history")
    ws = Path(project.workspace)
    files = []
    for i in range(n_files):
        p = ws / f"pkg{i % 12}" / f"mod{i % 5}" / f"f{i}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(f"line {j} of file {i}\n" for j in range(rng.randint(5, 60))))
        files.append(p)
    t0 = time.perf_counter()
    for n in range(checkpoints):
        for p in rng.sample(files, rng.randint(1, 3)):
            with open(p, "a") as fh:
                fh.write(f"edit {n}\n")
        vm.checkpoints.create(project.id, description=f"step {n}", tags=["milestone"] if n % 500 == 0 else ())
        if n and n % 1000 == 0:
            print(f"{n} checkpoints, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return project


def parse_args(doc: str | None, argv: list[str] | None) -> argparse.Namespace:
    """The options of every script that runs on this history (export.py, export_floors.py,
    search.py, this one): ``--checkpoints`` (10,000), ``--files`` (300), ``--workdir``."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", type=int, default=10_000)
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--workdir", type=Path, help="default: a temp dir, removed after")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__, argv)
    from vmuser_tui.core.service import Vmuser

    work = Path(args.workdir or tempfile.mkdtemp(prefix="vmuser-history-"))
    shutil.rmtree(work / "data", ignore_errors=True)
    vm = Vmuser.open(data_dir=str(work / "data"), config_path=str(work / "none.toml"), reconcile=False)
    t0 = time.perf_counter()
    project = build(vm, args.checkpoints, args.files)
    build_s = time.perf_counter() - t0
    runs = []
    for _ in range(7):
        t = time.perf_counter()
        timeline = vm.checkpoints.list(project.id)
        runs.append(time.perf_counter() - t)
    list_s = statistics.median(runs)
    vm.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db_bytes = os.path.getsize(work / "data" / "vmuser.db")
    con = sqlite3.connect(work / "data" / "vmuser.db")
    raw_blobs = con.execute("SELECT COALESCE(SUM(size), 0) FROM blobs WHERE codec != 'chunks'").fetchone()[0]
    con.close()
    # trees: their canonical (uncompressed) encodings
    from vmuser_tui.core.store.trees import encode

    raw_trees = sum(len(encode(vm.ctx.store.get_tree(h))) for (h,) in vm.db.conn.execute("SELECT hash FROM trees"))
    unique = raw_blobs + raw_trees
    exe = shutil.which("vmuser") or None
    argv_cli = [exe] if exe else [sys.executable, "-m", "vmuser_tui"]
    env = dict(os.environ, VMUSER_DATA_DIR=str(work / "data"), VMUSER_CONFIG=str(work / "none.toml"))
    cli_runs = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([*argv_cli, "checkpoint", "list", project.id, "--json"], env=env, capture_output=True, check=True)
        cli_runs.append(time.perf_counter() - t)
    vm.close()
    ratio = db_bytes / unique
    rows = [
        ("checkpoints", f"{len(timeline):,}", "", ""),
        ("build the history", f"{build_s:.0f} s ({build_s / args.checkpoints * 1000:.1f} ms each)", "", ""),
        ("list the timeline (API)", f"{list_s * 1000:.1f} ms", f"< {LIST_TARGET_S * 1000:.0f} ms",
         "ok" if list_s < LIST_TARGET_S else "MISS"),
        ("`vmuser checkpoint list --json`", f"{statistics.median(cli_runs) * 1000:.0f} ms", "-", "-"),
        ("unique content (blobs + trees, raw)", f"{unique / 2**20:.1f} MiB", "", ""),
        ("database file", f"{db_bytes / 2**20:.1f} MiB ({ratio:.2f}x)", f"<= {SIZE_TARGET}x",
         "ok" if ratio <= SIZE_TARGET else "MISS"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, target, verdict in rows:
        print(f"{name:<{width}}  {value:<28} {target:<9} {verdict}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r[3] != "MISS" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
