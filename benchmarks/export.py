"""Export a 10,000-checkpoint history to one file, against copying the database file.

    python benchmarks/export.py                        # 10,000 checkpoints of a 300-file workspace
    python benchmarks/export.py --checkpoints 2000
    python benchmarks/export.py --workdir /tmp/exp     # keep (and next time reuse) the history

Builds the history of benchmarks/history.py (once per --workdir), then times, median of 5
runs each, alternating:

- ``copy``: ``shutil.copyfile`` of vmuser.db and an fsync of the copy (a backup you can
  trust after a power cut; the WAL is checkpointed first so the file is the whole database);
- ``copy, no fsync``: the same without the fsync (page cache only);
- ``export``: ``vm.export_project`` of the whole project (it fsyncs its file too);
- ``floor``: for information, what any export that writes fresh rows pays before it chooses,
  hashes or digests anything: every tree, blob and pack row copied by ``INSERT ... SELECT``
  into a new file of the export's tables (same page size and PRAGMAs), then fsynced.

Target (issue 16): export < 2x the copy. The import of the file into an empty data dir (every
object re-hashed, the workspace restored) is timed once, for information.
"""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET = 2.0
RUNS = 5


def _copy(src: Path, dst: Path, sync: bool) -> float:
    dst.unlink(missing_ok=True)
    t = time.perf_counter()
    shutil.copyfile(src, dst)
    if sync:
        fd = os.open(dst, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    return time.perf_counter() - t


def _floor(src: Path, dst: Path) -> float:
    """Seconds to copy every object row of ``src`` into a new file ``dst`` and fsync it."""
    from vmuser_tui.core import export, transfer_format

    dst.unlink(missing_ok=True)
    t = time.perf_counter()
    conn = sqlite3.connect(dst, isolation_level=None)
    for pragma in (f"page_size = {export.PAGE_SIZE}", "journal_mode = OFF", "synchronous = OFF",
                   "cache_size = -65536"):
        conn.execute(f"PRAGMA {pragma}")
    transfer_format.create(conn)
    conn.execute("ATTACH DATABASE ? AS src", (src.absolute().as_uri() + "?mode=ro",))
    conn.execute("BEGIN")
    for table, cols in (("trees", transfer_format.TREE_COLUMNS), ("blobs", transfer_format.BLOB_COLUMNS),
                        ("packs", transfer_format.PACK_COLUMNS)):
        names = ", ".join(cols)
        conn.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM src.{table}")
    conn.execute("COMMIT")
    conn.close()
    fd = os.open(dst, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return time.perf_counter() - t


def prepare(work: Path, checkpoints: int, files: int):
    """``(vm, project, db path)``: the history of benchmarks/history.py in ``work``/data,
    built once and reused while it has ``checkpoints`` checkpoints; the WAL checkpointed, so
    vmuser.db is the whole database. benchmarks/export_floors.py uses the same history."""
    import history

    from vmuser_tui.core.service import Vmuser

    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    vm = Vmuser.open(data_dir=str(data), config_path=str(work / "none.toml"), reconcile=False)
    have = [p for p in vm.projects.list() if p.name == "history"]
    if have and have[0].checkpoints == checkpoints:
        project = have[0]
        print(f"reusing the history in {data}", file=sys.stderr)
    else:
        for p in have:
            vm.delete_project(p.id)
        t0 = time.perf_counter()
        project = history.build(vm, checkpoints, files)
        print(f"built {checkpoints:,} checkpoints in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    vm.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return vm, project, data / "vmuser.db"


def main(argv: list[str] | None = None) -> int:
    import history

    args = history.parse_args(__doc__, argv)
    from vmuser_tui.core.service import Vmuser

    work = Path(args.workdir or tempfile.mkdtemp(prefix="vmuser-export-"))
    vm, project, db = prepare(work, args.checkpoints, args.files)
    out = work / "out"
    out.mkdir(exist_ok=True)
    copies, plain, exports, floors = [], [], [], []
    result = None
    for _ in range(RUNS):
        copies.append(_copy(db, out / "copy.db", True))
        plain.append(_copy(db, out / "copy.db", False))
        t = time.perf_counter()
        result = vm.export_project(project.id, out / "history.vmuser", force=True)
        exports.append(time.perf_counter() - t)
        floors.append(_floor(db, out / "floor.db"))
    vm.close()
    assert result is not None
    target = Vmuser.open(data_dir=str(work / "import"), config_path=str(work / "none.toml"), reconcile=False)
    t = time.perf_counter()
    imported = target.import_project(out / "history.vmuser")
    import_s = time.perf_counter() - t
    target.close()
    shutil.rmtree(work / "import", ignore_errors=True)
    copy_s, plain_s, export_s, floor_s = (statistics.median(x) for x in (copies, plain, exports, floors))
    ratio = export_s / copy_s
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    rows = [
        ("checkpoints", (f"{result.checkpoints:,} ({result.trees:,} trees, {result.blobs:,} blobs, "
                         f"{result.packs:,} packs)"), "", ""),
        ("database file", f"{db.stat().st_size / 2**20:.1f} MiB", "", ""),
        ("export file", f"{result.bytes / 2**20:.1f} MiB", "", ""),
        ("copy the database (+ fsync)", f"{copy_s * 1000:.0f} ms", "", ""),
        ("copy the database, no fsync", f"{plain_s * 1000:.0f} ms", "", ""),
        ("export (+ fsync)", (f"{export_s * 1000:.0f} ms ({ratio:.2f}x the copy, "
                              f"{export_s / plain_s:.1f}x without fsync)"), f"< {TARGET}x",
         "ok" if ratio < TARGET else "MISS"),
        ("floor: every object row copied (+ fsync)", f"{floor_s * 1000:.0f} ms ({floor_s / copy_s:.2f}x the copy)",
         "", ""),
        ("import into an empty data dir", f"{import_s * 1000:.0f} ms ({imported.checkpoints:,} checkpoints)", "", ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, goal, verdict in rows:
        print(f"{name:<{width}}  {value:<52} {goal:<7} {verdict}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ratio < TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
