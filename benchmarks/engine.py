"""Checkpoint engine vs git on the same tree, in the same run, alternating.

    python benchmarks/engine.py                 # generated trees: mixed (~8,000 files, ~250 MB) and 50,000 small files
    python benchmarks/engine.py --tree DIR      # your own tree instead (copied, never modified)
    python benchmarks/engine.py --runs 5 --only mixed --write-readme

For each tree, both for vmuser's in-process API and for the whole `vmuser` CLI process,
it times (median of --runs, ours and git alternating on identical copies):
  1. first checkpoint            vs git add -A && git commit
  2. no-change checkpoint        vs git status --porcelain
  3. checkpoint after 10 edits   vs git add -A && git commit
  4. diff of those two (--stat)  vs git diff --stat HEAD~1 HEAD
  5. restore the earlier one     vs git checkout HEAD~1 -- .
  6. append 1 MiB to the 200 MB file, checkpoint: new data stored (mixed tree only)
  7. storage: the database vs .git
and prints ratios (ours / git) against the targets of issue #3, plus peak RSS of the
CLI process taking the first checkpoint.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024
TARGETS = {  # ratio ours/git that must hold (issue #3)
    ("api", "first"): 0.5, ("api", "nochange"): 1.0, ("api", "edit10"): 1.0, ("api", "diff"): 1.0,
    ("api", "restore"): 1.0, ("cli", "first"): None, ("cli", "nochange"): None, ("cli", "edit10"): 2.0,
    ("cli", "diff"): None, ("cli", "restore"): None,
}
STORAGE_TARGET = 1.1
APPEND_TARGET = 2 * MiB
RSS_TARGET = 200 * MiB


# -- trees ----------------------------------------------------------------------------
def _words(rng: random.Random) -> list[str]:
    return ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(2, 10))) for _ in range(4000)]


def make_mixed(root: Path, seed: int = 7) -> None:
    """~8,000 files, ~250 MB: source-like text, some binaries, a few big ones, one 200 MB file."""
    rng = random.Random(seed)
    words = _words(rng)
    n = 0
    for d in range(100):
        folder = root / f"pkg{d:03d}" / f"mod{d % 9}"
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(79):
            if f % 15 == 0:  # binary-ish: half random, half repetitive
                data = os.urandom(rng.randint(2_000, 40_000)) + bytes(rng.randint(0, 20_000))
                (folder / f"asset{f}.bin").write_bytes(data)
            else:
                lines = [" ".join(rng.choices(words, k=rng.randint(3, 14))) for _ in range(rng.randint(10, 400))]
                (folder / f"file{f}.py").write_text("\n".join(lines) + "\n")
            n += 1
    big = root / "big"
    big.mkdir(exist_ok=True)
    for i in range(5):
        (big / f"blob{i}.dat").write_bytes(os.urandom(4 * MiB))
    with open(big / "huge.img", "wb") as fh:  # 200 MB, half compressible
        for i in range(200):
            fh.write(os.urandom(MiB // 2) + bytes(MiB // 2))
    (root / "link-to-readme").symlink_to("pkg000/mod0/file1.py")


def make_small(root: Path, count: int = 50_000, seed: int = 11) -> None:
    """``count`` small text files (0.1-2 KB) in 500 folders."""
    rng = random.Random(seed)
    words = _words(rng)
    per = max(1, count // 500)
    for d in range(500):
        folder = root / f"d{d // 50}" / f"s{d}"
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(per):
            (folder / f"f{f}.txt").write_text(" ".join(rng.choices(words, k=rng.randint(15, 300))) + "\n")


def edit_files(root: Path, run: int, count: int = 10) -> None:
    """Append a line to ``count`` text files chosen deterministically (same on both copies)."""
    files = []
    for dirpath, dirnames, names in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]  # the git copy's repository is not workspace
        files += [Path(dirpath) / n for n in names if n.endswith((".py", ".txt"))]
    files.sort()
    step = max(1, len(files) // count)
    for p in files[::step][:count]:
        with open(p, "a") as fh:
            fh.write(f"edit {run}\n")


def dir_size(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except FileNotFoundError:
                pass
    return total


# -- the three players ------------------------------------------------------------------
class Git:
    name = "git"

    def __init__(self, ws: Path):
        self.ws = ws
        self.env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
                        GIT_COMMITTER_EMAIL="b@b", GIT_CONFIG_NOSYSTEM="1", HOME=str(ws.parent))

    def _git(self, *args: str) -> subprocess.CompletedProcess:
        # no background auto-gc: it would race the next measurement and repack mid-run
        return subprocess.run(["git", "-c", "gc.auto=0", *args], cwd=self.ws, env=self.env,
                              capture_output=True, check=True)

    def reset(self) -> None:
        shutil.rmtree(self.ws / ".git", ignore_errors=True)
        self._git("init", "-q")

    def first(self) -> None:
        self._git("add", "-A")
        self._git("commit", "-q", "-m", "first")

    def nochange(self) -> None:
        self._git("status", "--porcelain")

    def commit(self) -> None:
        self._git("add", "-A")
        self._git("commit", "-q", "-m", "edit")

    def diff(self) -> None:
        self._git("diff", "--stat", "HEAD~1", "HEAD")

    def restore_old(self) -> None:
        self._git("checkout", "-q", "HEAD~1", "--", ".")

    def restore_new(self) -> None:
        self._git("checkout", "-q", "HEAD", "--", ".")

    def storage(self) -> int:
        return dir_size(self.ws / ".git")


class OursAPI:
    name = "vmuser (API)"

    def __init__(self, ws: Path, data: Path):
        self.ws, self.data = ws, data
        self.vm = None
        self.cps: list[str] = []
        self.last_new_bytes = 0

    def reset(self) -> None:
        from vmuser_tui.core.service import Vmuser

        if self.vm:
            self.vm.close()
        shutil.rmtree(self.data, ignore_errors=True)
        self.vm = Vmuser.open(data_dir=str(self.data), config_path=str(self.data.parent / "none.toml"), reconcile=False)
        self.project = self.vm.projects.create("bench", workspace=self.ws).id
        self.cps = []

    def _checkpoint(self) -> None:
        out = self.vm.checkpoints.create(self.project)
        self.last_new_bytes = out.new_bytes
        if out.created:
            self.cps.append(out.checkpoint.id)

    first = commit = nochange = _checkpoint

    def diff(self) -> None:
        self.vm.checkpoints.diff(self.cps[-2], self.cps[-1])

    def restore_old(self) -> None:
        self.vm.restores.restore(self.cps[-2])

    def restore_new(self) -> None:
        self.vm.restores.restore(self.cps[-1])

    def storage(self) -> int:
        self.vm.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return dir_size(self.data) - dir_size(self.data / "workspaces")


class OursCLI(OursAPI):
    name = "vmuser (CLI)"

    def __init__(self, ws: Path, data: Path):
        super().__init__(ws, data)
        exe = shutil.which("vmuser")
        self.argv = [exe] if exe else [sys.executable, "-m", "vmuser_tui"]
        self.env = dict(os.environ, VMUSER_DATA_DIR=str(data), VMUSER_CONFIG=str(data.parent / "none.toml"))
        self.peak_rss = 0

    def _cli(self, *args: str) -> str:
        proc = subprocess.Popen([*self.argv, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"vmuser {' '.join(args)}: {err.decode()}")
        return out.decode()

    def reset(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        self.project = self._cli("project", "create", "bench", "--workspace", str(self.ws)).strip()
        self.cps = []

    def _checkpoint(self) -> None:
        before = self.cps[-1] if self.cps else None
        cid = self._cli("checkpoint", "create", self.project).strip()
        if cid != before:
            self.cps.append(cid)

    first = commit = nochange = _checkpoint

    def first(self) -> None:  # noqa: F811 - measures the peak RSS of the capturing process too
        proc = subprocess.Popen([*self.argv, "checkpoint", "create", self.project], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.peak_rss = max(self.peak_rss, usage.ru_maxrss * 1024)
        self.cps.append(out.decode().strip())

    def start_worker(self) -> None:
        """Run `vmuser worker` on this data dir, as an operator would (systemd or tmux)."""
        self.worker = subprocess.Popen([*self.argv, "worker"], env=self.env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        sock = self.data / "worker.sock"
        deadline = time.monotonic() + 30
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not sock.exists():
            raise RuntimeError("vmuser worker did not start")
        self._cli("checkpoint", "create", self.project)  # its first capture is a full scan

    def stop_worker(self) -> None:
        worker = getattr(self, "worker", None)
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
            self.worker = None

    def diff(self) -> None:
        self._cli("checkpoint", "diff", self.cps[-2], self.cps[-1], "--stat")

    def restore_old(self) -> None:
        self._cli("checkpoint", "restore", self.cps[-2], "--yes")

    def restore_new(self) -> None:
        self._cli("checkpoint", "restore", self.cps[-1], "--yes")

    def storage(self) -> int:
        con = sqlite3.connect(self.data / "vmuser.db")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        return dir_size(self.data) - dir_size(self.data / "workspaces")


# -- the suite ------------------------------------------------------------------------------
@dataclass
class Row:
    tree: str
    mode: str
    op: str
    ours: float
    git: float
    target: float | None
    unit: str = "s"

    @property
    def ratio(self) -> float:
        return self.ours / self.git if self.git else float("inf")

    @property
    def ok(self) -> bool | None:
        return None if self.target is None else self.ratio <= self.target


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def suite(label: str, pristine: Path, work: Path, mode: str, runs: int, report: Report, big: Path | None,
          worker: bool = True) -> None:
    ours_ws, git_ws = work / "ours", work / "git"
    for ws in (ours_ws, git_ws):
        shutil.rmtree(ws, ignore_errors=True)
        shutil.copytree(pristine, ws, symlinks=True)
    git = Git(git_ws)
    ours = (OursAPI if mode == "api" else OursCLI)(ours_ws, work / f"data-{mode}")
    times: dict[str, dict[str, list[float]]] = {}

    def measure(op: str, before=None, fn_ours=None, fn_git=None, after=None) -> None:
        for run in range(runs):
            order = [(ours, fn_ours), (git, fn_git)] if run % 2 == 0 else [(git, fn_git), (ours, fn_ours)]
            for player, fn in order:
                if before:
                    before(player, run)
                times.setdefault(op, {}).setdefault(player.name, []).append(_time(fn))
                if after:
                    after(player, run)

    measure("first", before=lambda p, r: p.reset(), fn_ours=ours.first, fn_git=git.first)
    if mode == "cli" and worker:
        ours.start_worker()
    try:
        _rest(measure, ours, git)
    finally:
        if mode == "cli":
            ours.stop_worker()
    _report(label, mode, times, ours, git, report, big, pristine)


def _rest(measure, ours, git) -> None:
    measure("nochange", fn_ours=ours.nochange, fn_git=git.nochange)
    measure("edit10", before=lambda p, r: edit_files(p.ws, r), fn_ours=ours.commit, fn_git=git.commit)
    measure("diff", fn_ours=ours.diff, fn_git=git.diff)
    measure("restore", fn_ours=ours.restore_old, fn_git=git.restore_old,
            after=lambda p, r: p.restore_new())


def _report(label, mode, times, ours, git, report, big, pristine) -> None:
    for op, by in times.items():
        report.rows.append(Row(label, mode, op, statistics.median(by[ours.name]), statistics.median(by[git.name]),
                               TARGETS.get((mode, op))))
    if big is not None and mode == "api":
        rel = big.relative_to(pristine)
        for player in (ours, git):
            with open(player.ws / rel, "ab") as fh:
                fh.write(os.urandom(MiB))
        git_before = git.storage()
        ours.commit()
        git.commit()
        report.rows.append(Row(label, mode, "append 1 MiB: new data", ours.last_new_bytes, git.storage() - git_before,
                               None, unit="bytes"))
    report.rows.append(Row(label, mode, "storage", ours.storage(), git.storage(), STORAGE_TARGET, unit="bytes"))
    if mode == "cli":
        report.notes.append(f"{label}: peak RSS of `vmuser checkpoint create` (first checkpoint): "
                            f"{ours.peak_rss / MiB:.0f} MiB (target < {RSS_TARGET // MiB} MiB)")
        report.rows.append(Row(label, mode, "peak RSS, first checkpoint", ours.peak_rss, RSS_TARGET, 1.0, unit="bytes"))
    if mode == "api" and ours.vm:
        ours.vm.close()


def fmt(row: Row) -> list[str]:
    if row.unit == "bytes":
        o, g = f"{row.ours / MiB:.2f} MiB", f"{row.git / MiB:.2f} MiB"
    else:
        o, g = f"{row.ours * 1000:.0f} ms", f"{row.git * 1000:.0f} ms"
    if row.op.startswith("append"):
        verdict = "ok" if row.ours < APPEND_TARGET else "MISS"
        return [row.tree, row.mode, row.op, o, g, "-", "< 2 MiB", verdict]
    if row.op.startswith("peak RSS"):
        return [row.tree, row.mode, row.op, o, "-", "-", "< 200 MiB", "ok" if row.ours < RSS_TARGET else "MISS"]
    target = "-" if row.target is None else f"<= {row.target:g}"
    verdict = "-" if row.ok is None else ("ok" if row.ok else "MISS")
    return [row.tree, row.mode, row.op, o, g, f"{row.ratio:.2f}", target, verdict]


def render(report: Report) -> str:
    head = ["tree", "mode", "operation", "vmuser", "git", "ratio", "target", ""]
    rows = [head] + [fmt(r) for r in report.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    git_v = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {git_v}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", type=Path, help="benchmark this directory (copied) instead of the generated trees")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement; the median is reported (default 3)")
    ap.add_argument("--only", choices=["mixed", "small"], help="only one generated tree")
    ap.add_argument("--small-files", type=int, default=50_000, help="files in the small-file tree (default 50,000)")
    ap.add_argument("--modes", default="api,cli", help="api, cli or both (default api,cli)")
    ap.add_argument("--no-worker", action="store_true",
                    help="cli mode without a running `vmuser worker` (every command scans the workspace itself)")
    ap.add_argument("--workdir", type=Path, help="where to build trees (default: a temp dir, removed after)")
    ap.add_argument("--write-readme", action="store_true", help="write the results into benchmarks/README.md")
    args = ap.parse_args(argv)
    if "cli" in args.modes:
        # an install has vmuser's bytecode (this machine sets PYTHONDONTWRITEBYTECODE): time a
        # user's start-up, not a compile in every CLI process
        import vmuser_tui

        subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(vmuser_tui.__file__).parent)], check=True)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="vmuser-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    report = Report()
    trees: list[tuple[str, Path, Path | None]] = []
    t0 = time.perf_counter()
    if args.tree:
        trees.append((args.tree.name, args.tree.resolve(), None))
    else:
        if args.only in (None, "mixed"):
            mixed = work / "pristine-mixed"
            if not mixed.exists():
                print("generating the mixed tree (~8,000 files, ~250 MB)...", file=sys.stderr)
                make_mixed(mixed)
            trees.append(("mixed", mixed, mixed / "big" / "huge.img"))
        if args.only in (None, "small"):
            small = work / "pristine-small"
            if not small.exists():
                print(f"generating the small-file tree ({args.small_files:,} files)...", file=sys.stderr)
                make_small(small, args.small_files)
            trees.append(("small", small, None))
    try:
        for label, pristine, big in trees:
            files = sum(1 for _ in pristine.rglob("*") if _.is_file())
            report.notes.append(f"tree {label}: {files:,} files, {dir_size(pristine) / MiB:.0f} MiB")
            for mode in args.modes.split(","):
                print(f"{label}: {mode} vs git, {args.runs} runs each...", file=sys.stderr)
                suite(label, pristine, work / label, mode.strip(), args.runs, report, big, worker=not args.no_worker)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    table = render(report)
    cli_how = ("without a worker: each command scans the workspace" if args.no_worker else
               "with `vmuser worker` running (from no-change on; the first checkpoint is standalone)")
    text = "\n".join([f"Machine: {machine()}", f"Runs per figure: {args.runs} (median); total {time.perf_counter() - t0:.0f} s",
                      f"CLI mode: {cli_how}",
                      *report.notes, "", table])
    print(text)
    misses = [r for r in report.rows if fmt(r)[-1] == "MISS"]
    if args.write_readme:
        readme = Path(__file__).with_name("README.md")
        head = (
            "# Benchmarks\n\n`python benchmarks/engine.py` times vmuser's checkpoint engine against git on the same "
            "tree, in the same run, alternating (see the script's docstring). Latest results "
            f"({time.strftime('%Y-%m-%d', time.gmtime())}):\n\n```\n{text}\n```\n\n"
            "Ratios are ours / git (lower is better); storage compares the database with `.git`.\n"
        )
        old = readme.read_text() if readme.exists() else ""
        rest = old[old.index("\n## "):] if "\n## " in old else ""  # the other scripts' sections stay
        readme.write_text(head + rest)
    print(f"\n{len(misses)} target(s) missed" if misses else "\nall targets met")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(harness peak RSS {peak:.0f} MiB)", file=sys.stderr)
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
