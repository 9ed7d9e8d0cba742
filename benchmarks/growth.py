"""How the checkpoint engine's cost grows with the workspace (issue 15, item 5).

    python benchmarks/growth.py                   # 10k, 50k, 100k, 200k small files
    python benchmarks/growth.py --sizes 10000,50000 --runs 3
    python benchmarks/growth.py --big             # and one 5 GiB file (real bytes, streamed)

For each size it generates a workspace of that many small files (0.1-2 KB of text, 100
per folder, 10 folders per parent), then runs every step as its own `vmuser` CLI process
(no worker: each command scans the workspace itself, as a script or a cron job would):

  first      the first checkpoint                         (peak RSS of that process too)
  nochange   a checkpoint when nothing changed
  edit10     a checkpoint after appending to 10 files
  diff       checkpoint diff of the last two, --stat
  restore    restore one folder (100 files) of the first checkpoint after editing it

and prints the time per file (µs) of each, so a flat row means linear cost, next to the
interpreter's floor (``python -c 'import sqlite3, argparse, zstandard'``) measured in the
same run. With ``--big`` a 5 GiB file (random 1 MiB blocks repeated, so generated fast and
never sparse) joins the largest workspace, and the peak RSS of its first checkpoint must
still stay under the bound: the file is streamed chunk by chunk, never held whole.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MiB = 1024 * 1024
GiB = 1024 * MiB
RSS_BOUND = 300 * MiB
PER_DIR = 100
ROOT = Path(__file__).resolve().parents[1]


def make_tree(root: Path, count: int, seed: int = 5) -> None:
    """``count`` small text files, :data:`PER_DIR` a folder, folders 10 to a parent."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(2000)]
    lines = [" ".join(rng.choices(words, k=12)) + "\n" for _ in range(500)]
    for i in range(count):
        d, f = divmod(i, PER_DIR)
        path = root / _rel(d, f)
        if f == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as fh:
            fh.write("".join(rng.choices(lines, k=rng.randint(1, 20))))


def _rel(d: int, f: int) -> str:
    """The path of file ``f`` of folder number ``d``."""
    return f"g{d // 100:03d}/h{(d // 10) % 10}/d{d % 10}/f{f:03d}.txt"


def make_big(path: Path, size: int = 5 * GiB) -> None:
    """``size`` bytes of real data: 64 random 1 MiB blocks in a shuffled cycle (fast to
    write, compresses poorly, and every block is stored: no holes)."""
    rng = random.Random(9)
    blocks = [rng.randbytes(MiB) for _ in range(64)]
    with open(path, "wb") as fh:
        for i in range(size // MiB):
            fh.write(blocks[(i * 37 + i // 64) % 64])


class Cli:
    def __init__(self, data: Path):
        self.env = dict(os.environ, VMUSER_DATA_DIR=str(data), VMUSER_CONFIG=str(data.parent / "none.toml"),
                        PYTHONPATH=str(ROOT))
        self.argv = [sys.executable, "-m", "vmuser_tui"]

    def run(self, *args: str) -> tuple[float, int, str]:
        """``(seconds, peak RSS bytes, stdout)`` of one `vmuser` process."""
        t = time.perf_counter()
        proc = subprocess.Popen([*self.argv, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate()
        dt = time.perf_counter() - t
        if proc.returncode:
            raise RuntimeError(f"vmuser {' '.join(args)}: {err.decode()}")
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # max over children so far
        return dt, usage.ru_maxrss * 1024, out.decode().strip()


def floor(runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sqlite3, argparse, zstandard"], check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _append(ws: Path, rels: list[str], tag: str) -> None:
    for rel in rels:
        with open(ws / rel, "a") as fh:
            fh.write(f"edit {tag}\n")


def measure(work: Path, count: int, runs: int, big: bool) -> dict[str, float]:
    ws, data = work / f"ws-{count}", work / f"data-{count}"
    shutil.rmtree(data, ignore_errors=True)
    if not ws.exists():
        print(f"generating {count:,} files...", file=sys.stderr)
        make_tree(ws, count)
        if big:
            print("generating the 5 GiB file...", file=sys.stderr)
            make_big(ws / "big.img")
    cli = Cli(data)
    project = cli.run("project", "create", f"g{count}", "--workspace", str(ws))[2]
    # the first checkpoint's RSS is measured in a process of its own (ru_maxrss of children
    # is a maximum over all of them, so nothing else may have run before it)
    probe = subprocess.run([sys.executable, "-c", RSS_PROBE, project], env=cli.env, capture_output=True, text=True,
                           check=True)
    first, rss, first_id = probe.stdout.split()
    time.sleep(2.1)  # out of the racy window, as a real second checkpoint would be
    cli.run("checkpoint", "create", project)  # signs the folders (the first was racy for the newest files)
    out = {"first": float(first), "rss": float(rss)}
    folders = count // PER_DIR
    edits = [_rel(i * folders // 10, 7) for i in range(10)]  # 10 files spread over the tree
    restored = [_rel(0, f) for f in range(PER_DIR)]
    nochange, edit10, diff, restore = [], [], [], []
    last = first_id
    for run in range(runs):
        nochange.append(cli.run("checkpoint", "create", project)[0])
        _append(ws, edits, f"{run}")
        t, _, cp = cli.run("checkpoint", "create", project)
        edit10.append(t)
        diff.append(cli.run("checkpoint", "diff", last, cp, "--stat")[0])
        last = cp
        _append(ws, restored, f"r{run}")
        restore.append(cli.run("checkpoint", "restore", first_id, "--path", _rel(0, 0).rpartition("/")[0],
                               "--yes")[0])
    for name, values in (("nochange", nochange), ("edit10", edit10), ("diff", diff), ("restore", restore)):
        out[name] = statistics.median(values)
    return out


RSS_PROBE = r"""
import os, resource, subprocess, sys, time
t = time.perf_counter()
out = subprocess.run([sys.executable, "-m", "vmuser_tui", "checkpoint", "create", sys.argv[1]], check=True,
                     stdout=subprocess.PIPE, text=True).stdout.strip()
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, out)
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,50000,100000,200000", help="file counts (default 10k,50k,100k,200k)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each step after the first (median; default 3)")
    ap.add_argument("--big", action="store_true", help="add one 5 GiB file to the largest workspace")
    ap.add_argument("--workdir", type=Path, help="where to build (kept, and reused next time); default a temp dir")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="vmuser-growth-"))
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "vmuser_tui")], check=True)
    t0 = time.perf_counter()
    rows = []
    try:
        base = floor(5)
        for count in sizes:
            rows.append((count, measure(work, count, args.runs, args.big and count == max(sizes))))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"interpreter floor (python -c 'import sqlite3, argparse, zstandard'): {base * 1000:.0f} ms; "
          f"load average {load:.2f}; total {time.perf_counter() - t0:.0f} s")
    print("µs per file (the floor taken off); ms whole process in brackets")
    head = ["files", "first", "nochange", "edit10", "diff", "restore 1 folder", "peak RSS first"]
    table = [head]
    for count, m in rows:
        def per(key: str, m: dict = m, count: int = count) -> str:
            return f"{(m[key] - base) / count * 1e6:.2f} ({m[key] * 1000:.0f})"
        rss = f"{m['rss'] / MiB:.0f} MiB" + (" ok" if m["rss"] < RSS_BOUND else " OVER")
        label = f"{count:,}" + (" + 5 GiB" if args.big and count == max(sizes) else "")
        table.append([label, per("first"), per("nochange"), per("edit10"), per("diff"), per("restore"), rss])
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for i, r in enumerate(table):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    over = [c for c, m in rows if m["rss"] >= RSS_BOUND]
    print(f"\npeak RSS over {RSS_BOUND // MiB} MiB at {over}" if over else f"\npeak RSS under {RSS_BOUND // MiB} MiB")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
