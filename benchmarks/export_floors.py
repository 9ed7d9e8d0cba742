"""The floors under issue 16's "export a 10,000-checkpoint history in < 2x copying the database".

    python benchmarks/export_floors.py --workdir /tmp/exp   # the history of benchmarks/export.py

``vmuser project export`` (benchmarks/export.py) takes about 20x the copy. This script
measures, side by side with the copy (median of 7, alternating), what the two possible
shapes of an export cost before they do any of an export's own work (choosing the
project's checkpoints and the objects they reach, checking trees, a digest, the header):

- **rows**: a new SQLite file holding the rows. The cheapest such file there is: tables
  without any index or key (the import would have to index them), 16 KiB pages, no
  journal, one transaction, ``INSERT ... SELECT`` of every object row and the project's
  checkpoints, log and project row, nothing chosen, hashed or digested; then fsync.
- **pages**: a copy of the database file itself (kernel copy, as the peer does), which
  the export would then cut down to the one project. A page carries its free space, and
  that holds bytes of deleted rows even with ``PRAGMA secure_delete = ON``: SQLite zeroes
  a row where it is deleted, but a b-tree page rebuilt when rows move between pages keeps
  an old copy of them in its unallocated space (``rebuildPage`` in btree.c does not clear
  it). The script shows it: rows with unique markers are written and deleted in a
  scratch database with secure_delete on; markers of deleted rows are then searched for
  in its bytes. So a page-level export must also **scrub**: walk every b-tree and zero
  each page's unallocated space and freeblocks and every free page (:func:`scrub`, for
  this measurement only; ``PRAGMA integrity_check`` and the marker search check it).

Prints each against the copy; exits 0. Results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import mmap
import os
import random
import shutil
import sqlite3
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

RUNS = 7
TARGET = 2.0

# The cheapest row file: the export's tables with no key and no index.
ROWS_DDL = """
CREATE TABLE project (id, name, description, workspace, managed, image, status, pinned, tags,
                      head_checkpoint_id, keep_until, created_at, updated_at, last_active_at);
CREATE TABLE checkpoints (id, project_id, session_id, parent_id, root_tree, kind, description, tags,
                          annotations, file_count, total_size, image_id, state, created_at);
CREATE TABLE operation_log (id, at, operation, actor, pid, client_id, project_id, session_id, details);
CREATE TABLE blobs (hash, size, stored_size, codec, data, created_at, pack_id, pack_offset);
CREATE TABLE packs (id, codec, size, data, created_at);
CREATE TABLE trees (hash, data, created_at);
"""


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rows(src: Path, dst: Path, project_id: str) -> float:
    """Seconds to write the cheapest row file of the project (see the module docstring)."""
    from vmuser_tui.core import transfer_format as tf

    dst.unlink(missing_ok=True)
    t = time.perf_counter()
    conn = sqlite3.connect(dst, isolation_level=None)
    for pragma in ("page_size = 16384", "journal_mode = OFF", "synchronous = OFF", "cache_size = -65536"):
        conn.execute(f"PRAGMA {pragma}")
    conn.executescript(ROWS_DDL)
    conn.execute("ATTACH DATABASE ? AS src", (src.absolute().as_uri() + "?mode=ro",))
    conn.execute("BEGIN")
    for table, cols in (("trees", tf.TREE_COLUMNS), ("blobs", tf.BLOB_COLUMNS), ("packs", tf.PACK_COLUMNS)):
        conn.execute(f"INSERT INTO main.{table} SELECT {', '.join(cols)} FROM src.{table}")
    conn.execute(f"INSERT INTO main.checkpoints SELECT {', '.join(tf.CHECKPOINT_COLUMNS)} FROM src.checkpoints "
                 "WHERE project_id = ?", (project_id,))
    conn.execute(f"INSERT INTO main.operation_log SELECT {', '.join(tf.LOG_COLUMNS)} FROM src.operation_log "
                 "WHERE project_id = ?", (project_id,))
    conn.execute(f"INSERT INTO main.project SELECT {', '.join(tf.PROJECT_COLUMNS)} FROM src.projects WHERE id = ?",
                 (project_id,))
    conn.execute("COMMIT")
    conn.close()
    _fsync(dst)
    return time.perf_counter() - t


def scrub(path: Path) -> int:
    """Zero the free space of the SQLite file at ``path`` (closed, rollback or WAL mode, no
    ``-wal`` content): each b-tree page's unallocated space and freeblocks, and every page
    of the freelist. Returns the b-tree pages visited. File format: sqlite.org/fileformat2.html
    (page header: type, first freeblock, cell count, content start, fragmented bytes,
    right child; freelist trunk pages: next trunk, leaf count, leaf page numbers)."""
    conn = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True)
    roots = [r[0] for r in conn.execute("SELECT rootpage FROM sqlite_master WHERE rootpage > 0")]
    conn.close()
    fd = os.open(path, os.O_RDWR)
    try:
        mm = mmap.mmap(fd, os.fstat(fd).st_size)
        size = struct.unpack_from(">H", mm, 16)[0]
        size = 65536 if size == 1 else size
        zero = memoryview(bytes(size))
        head = struct.Struct(">BHHHBI").unpack_from
        u32 = struct.Struct(">I").unpack_from
        seen: set[int] = set()
        stack = [1, *roots]
        while stack:
            page = stack.pop()
            if page in seen:
                continue
            seen.add(page)
            base = (page - 1) * size
            h = base + 100 if page == 1 else base
            kind, free, cells, start, _, right = head(mm, h)
            if kind in (2, 5):  # interior: 12-byte header, children in the cells and the right pointer
                end = h + 12 + 2 * cells
                stack.append(right)
                stack.extend(u32(mm, base + p)[0] for (p,) in struct.iter_unpack(">H", mm[h + 12 : end]))
            else:
                end = h + 8 + 2 * cells
            content = base + (start or 65536)
            if content > end:
                mm[end:content] = zero[: content - end]
            while free:
                nxt, n = struct.unpack_from(">HH", mm, base + free)
                mm[base + free + 4 : base + free + n] = zero[: n - 4]
                free = nxt
        trunk = u32(mm, 32)[0]
        while trunk:
            base = (trunk - 1) * size
            nxt, n = struct.unpack_from(">II", mm, base)
            for (leaf,) in struct.iter_unpack(">I", mm[base + 8 : base + 8 + 4 * n]):
                mm[(leaf - 1) * size : leaf * size] = zero
            mm[base + 8 + 4 * n : base + size] = zero[: size - 8 - 4 * n]
            trunk = nxt
        mm.close()
        return len(seen)
    finally:
        os.close(fd)


def pages(src: Path, dst: Path, do_scrub: bool) -> float:
    """Seconds to copy the database file (and scrub it) and fsync the copy."""
    dst.unlink(missing_ok=True)
    t = time.perf_counter()
    shutil.copyfile(src, dst)
    if do_scrub:
        scrub(dst)
    _fsync(dst)
    return time.perf_counter() - t


def leftovers(work: Path, rounds: int = 30, per_round: int = 2000) -> tuple[int, int, int]:
    """``(deleted, found before scrub, found after scrub)``: marker rows written and deleted
    (3 of 4 of each round's, at random) in a scratch WAL database with secure_delete on,
    then looked for in the file's bytes. Raises AssertionError if the scrub breaks the file."""
    path = work / "leftovers.db"
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    rng = random.Random(1)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (key TEXT PRIMARY KEY, data BLOB)")
    live: set[str] = set()
    dead: list[str] = []
    for r in range(rounds):
        conn.execute("BEGIN")
        for i in range(per_round):
            mark = f"MARK{r:03d}{i:05d}X"
            conn.execute("INSERT INTO t VALUES (?, ?)", (mark, (mark * rng.randint(1, 60)).encode()))
            live.add(mark)
        conn.execute("COMMIT")
        conn.execute("BEGIN")
        for mark in rng.sample(sorted(live), per_round * 3 // 4):
            conn.execute("DELETE FROM t WHERE key = ?", (mark,))
            live.discard(mark)
            dead.append(mark)
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = _count(path, dead)
    scrub(path)
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "the scrub broke the file"
    assert check.execute("SELECT COUNT(*) FROM t").fetchone()[0] == len(live), "the scrub lost rows"
    check.close()
    return len(dead), before, _count(path, dead)


def _count(path: Path, marks: list[str]) -> int:
    data = path.read_bytes()
    return sum(1 for m in marks if m.encode() in data)


def main(argv: list[str] | None = None) -> int:
    import history

    args = history.parse_args(__doc__, argv)
    from export import _copy, prepare

    work = Path(args.workdir or tempfile.mkdtemp(prefix="vmuser-floors-"))
    vm, project, db = prepare(work, args.checkpoints, args.files)
    vm.close()
    out = work / "out"
    out.mkdir(exist_ok=True)
    times: dict[str, list[float]] = {"copy": [], "rows": [], "pages": []}
    for _ in range(RUNS):
        times["copy"].append(_copy(db, out / "copy.db", True))
        times["rows"].append(rows(db, out / "rows.db", project.id))
        times["pages"].append(pages(db, out / "pages.db", True))
    scrubbed = sqlite3.connect(out / "pages.db")
    assert scrubbed.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "the scrub broke the copy"
    scrubbed.close()
    dead, before, after = leftovers(work)
    copy_s, rows_s, pages_s = (statistics.median(times[k]) for k in ("copy", "rows", "pages"))
    budget = TARGET * copy_s
    print(f"database file                       {db.stat().st_size / 2**20:.1f} MiB; runs {RUNS}, medians")
    print(f"copy the database (+ fsync)         {copy_s * 1000:6.1f} ms   "
          f"(the peer; the goal is < {budget * 1000:.0f} ms)")
    print(f"rows: cheapest row file (+ fsync)   {rows_s * 1000:6.1f} ms   {rows_s / copy_s:.2f}x   "
          f"leaves {max(0.0, budget - rows_s) * 1000:.0f} ms for everything else")
    print(f"pages: copy + scrub (+ fsync)       {pages_s * 1000:6.1f} ms   {pages_s / copy_s:.2f}x   "
          f"leaves {max(0.0, budget - pages_s) * 1000:.0f} ms for everything else")
    print(f"pages without the scrub: deleted rows still in the file (secure_delete on): {before:,} of {dead:,}; "
          f"after the scrub: {after:,}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
