"""Idle CPU of the TUI (issue #6: under 2% of one core), and how soon it sees another
process's change; with ``--worker``, idle CPU of ``vmuser worker`` by workspace size (issue 15:
<= 1% of a core, flat from 100 to 50,000 folders).

    python benchmarks/idle.py                 # 30 s of idle, demo-like project with a running session
    python benchmarks/idle.py --seconds 60
    python benchmarks/idle.py --worker        # worker over 100, 6,000 and 50,000 folders, 3 runs each
    python benchmarks/idle.py --worker --tree before=/tmp/old-checkout --tree after=.   # side by side

Worker mode: for each size, one data dir holds a project whose workspace has that many folders
(groups of 100 under top-level folders, one small file in each), a running workspace-only
session and a first checkpoint; then ``vmuser worker`` from each ``--tree`` (a checkout:
``PYTHONPATH`` points there, its bytecode compiled first) runs ``--runs`` times, alternating
trees so load hits both alike. Each run waits for the worker's first snapshot job run (the
first capture of the workspace, a full scan) plus 2 s, then reads its CPU time (utime +
stime of all threads, ``/proc/<pid>/stat``) over ``--seconds`` of no change. The floor it is
printed against: the same worker with no running session (the scheduler's own polling),
measured in the same run. Load (``/proc/loadavg``, 1 min) is printed per figure.

Starts the installed ``vmuser`` in a tmux window (80x24) on a fresh data dir holding a
project with a running workspace-only session (so the background jobs, the change
watcher and the ``PRAGMA data_version`` poll all run), waits for the first screen, then
reads the process's CPU time (utime + stime from ``/proc/<pid>/stat``) over ``--seconds``
of no input. Then it renames the project from another process (the CLI) and polls the
pane until the new name shows: the live-refresh latency. Prints both against the targets.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CPU_TARGET = 0.02  # of one core
REFRESH_TARGET_S = 1.0
SESSION = "vmuser_idle_bench"


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15 of stat)


def _python_child(pane_pid: int) -> int:
    """The vmuser process under the pane's shell (or the pane process itself)."""
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pane_pid)], capture_output=True, text=True).stdout
    for line in out.splitlines():
        pid, _, cmd = line.strip().partition(" ")
        if "vmuser" in cmd:
            return int(pid)
    return pane_pid


WORKER_CPU_TARGET = 0.01  # of one core, at every size
WORKER_SIZES = (100, 6_000, 50_000)


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _make_workspace(ws: Path, folders: int) -> int:
    """``folders`` leaf folders in groups of 100 under top-level ``gNNN`` folders, one small
    file in each; returns how many folders there are in all (leaves and groups)."""
    groups = 0
    for i in range(folders):
        group = ws / f"g{i // 100:04d}"
        if i % 100 == 0:
            group.mkdir()
            groups += 1
        leaf = group / f"d{i % 100:02d}"
        leaf.mkdir()
        (leaf / "f.txt").write_text(f"file {i}\n")
    return folders + groups


def _snapshot_ran(db: Path) -> bool:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT 1 FROM job_runs WHERE name = 'snapshot'").fetchone() is not None
        finally:
            con.close()
    except sqlite3.Error:
        return False


def _worker_cpu(src: Path, env: dict[str, str], db: Path, seconds: float) -> tuple[float, float]:
    """One idle ``vmuser worker`` run from checkout ``src``: (share of one core, 1-min load)."""
    run_env = dict(env, PYTHONPATH=str(src))
    with db.parent.joinpath("worker.log").open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "vmuser_tui", "worker"], env=run_env, cwd=src,
                                stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 300
        while not _snapshot_ran(db) and time.monotonic() < deadline:  # the first full scan
            if proc.poll() is not None:
                raise SystemExit(f"the worker from {src} exited ({proc.returncode}): see {db.parent / 'worker.log'}")
            time.sleep(0.2)
        time.sleep(2.0)
        start_cpu, start = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        used = (_cpu_seconds(proc.pid) - start_cpu) / (time.monotonic() - start)
        return used, _load()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


RECRAWL_SCRIPT = """
import resource, sys
from vmuser_tui.core.service import Vmuser
vm = Vmuser.open(reconcile=False)
pid = sys.argv[1]
vm.checkpoints.create(pid)  # this process's first capture: a full scan that fills the live state
state = vm.ctx._live[pid]
best = None
for _ in range(3):
    state.invalidate()  # what TRUST_SECONDS expiring does to the next interval run
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    vm.checkpoints.create(pid)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    used = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    best = used if best is None else min(best, used)
print(best)
vm.close()
"""
RECRAWL_PERIOD_S = 300.0  # core/store/live.py TRUST_SECONDS, and the default [snapshots] interval


def _recrawl_cpu(src: Path, env: dict[str, str], project_id: str) -> float:
    """CPU seconds of the periodic re-crawl: an interval run's full scan of an unchanged
    workspace (best of 3, in one process, as the worker does it)."""
    out = subprocess.run([sys.executable, "-c", RECRAWL_SCRIPT, project_id], env=dict(env, PYTHONPATH=str(src)),
                         cwd=src, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def worker_main(args: argparse.Namespace) -> int:
    trees: list[tuple[str, Path]] = []
    for spec in args.tree or [f"this={Path(__file__).resolve().parent.parent}"]:
        label, _, path = spec.rpartition("=")
        trees.append((label or Path(path).name, Path(path).resolve()))
    for _, src in trees:  # time the worker, not the compile (this machine sets PYTHONDONTWRITEBYTECODE)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src / "vmuser_tui")], check=True)
    sizes = [int(x) for x in args.folders.split(",")] if args.folders else list(WORKER_SIZES)
    started = time.monotonic()
    rows: list[tuple[str, str, int, float, float, float]] = []  # size, tree, folders, median cpu, load, re-crawl s
    for size in [0, *sizes]:  # 0: the floor, a worker with no running session
        work = Path(tempfile.mkdtemp(prefix="vmuser-idle-worker-"))
        try:
            env = dict(os.environ, VMUSER_DATA_DIR=str(work / "data"), VMUSER_CONFIG=str(work / "none.toml"),
                       PYTHONPATH=str(trees[-1][1]))

            def cli(*a: str, env: dict[str, str] = env) -> str:
                return subprocess.run([sys.executable, "-m", "vmuser_tui", *a], env=env, capture_output=True,
                                      text=True, check=True).stdout.strip()

            folders, pid = 0, ""
            if size:
                pid = cli("project", "create", f"idle-{size}")
                ws = Path(cli("project", "show", pid, "--json").split('"workspace": "')[1].split('"')[0])
                t0 = time.monotonic()
                folders = _make_workspace(ws, size)
                cli("session", "start", pid, "--runtime", "none")
                cli("checkpoint", "create", pid, "-m", "base")
                print(f"  {folders:,} folders: workspace and first checkpoint in {time.monotonic() - t0:.1f} s",
                      flush=True)
            else:
                cli("project", "create", "no-session")
            runs: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in trees}
            for _ in range(args.runs):
                for label, src in trees:
                    runs[label].append(_worker_cpu(src, env, work / "data" / "vmuser.db", args.seconds))
            for label, src in trees:
                cpus = [c for c, _ in runs[label]]
                recrawl = _recrawl_cpu(src, env, pid) if size else 0.0
                rows.append(("no session (floor)" if not size else f"{folders:,} folders", label, folders,
                             statistics.median(cpus), max(ld for _, ld in runs[label]), recrawl))
                print(f"  {rows[-1][0]}, {label}: " + ", ".join(f"{c * 100:.2f}%" for c in cpus)
                      + (f"; re-crawl {recrawl:.2f} s CPU" if size else ""), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    floor = {label: cpu for name, label, _, cpu, _, _ in rows if name.startswith("no session")}
    print()
    print(f"Idle `vmuser worker`, CPU over {args.seconds:.0f} s per run, median of {args.runs} runs; "
          f"{os.cpu_count()} cores; total {time.monotonic() - started:.0f} s")
    print(f"re-crawl: the full scan an interval run does every {RECRAWL_PERIOD_S:.0f} s (the live state's trust "
          f"period), CPU s (best of 3), spread over that period in the next column")
    print()
    print("| workspace | tree | idle CPU (% of one core) | above the floor | re-crawl | idle + re-crawl "
          "| max 1-min load | target | |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for name, label, folders, cpu, load, recrawl in rows:
        above = cpu - floor[label]
        good = cpu + recrawl / RECRAWL_PERIOD_S <= WORKER_CPU_TARGET  # the re-crawl counts too
        if folders and label == trees[-1][0]:  # the last tree is the one under test
            ok = ok and good
        target = f"<= {WORKER_CPU_TARGET * 100:.0f}%" if folders else "-"
        spread = f"{(cpu + recrawl / RECRAWL_PERIOD_S) * 100:.2f}%" if folders else "-"
        print(f"| {name} | {label} | {cpu * 100:.2f}% | {'-' if not folders else f'{above * 100:+.2f}%'} | "
              f"{f'{recrawl:.2f} s' if folders else '-'} | {spread} | "
              f"{load:.2f} | {target} | {('ok' if good else 'FAIL') if folders else ''} |")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=None, help="seconds of idle measured (30; worker: 20 per run)")
    ap.add_argument("--worker", action="store_true", help="idle `vmuser worker` by workspace size instead of the TUI")
    ap.add_argument("--folders", help="worker: comma-separated folder counts (default 100,6000,50000)")
    ap.add_argument("--runs", type=int, default=3, help="worker: runs per figure (median)")
    ap.add_argument("--tree", action="append", metavar="LABEL=DIR",
                    help="worker: a checkout to run the worker from (repeat to compare; default this one)")
    args = ap.parse_args(argv)
    if args.worker:
        args.seconds = args.seconds or 20.0
        return worker_main(args)
    args.seconds = args.seconds or 30.0
    if shutil.which("tmux") is None:
        print("tmux is needed", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="vmuser-idle-"))
    env = dict(os.environ, VMUSER_DATA_DIR=str(work / "data"), VMUSER_CONFIG=str(work / "none.toml"),
               TERM="xterm-256color")
    vmuser = [sys.executable, "-m", "vmuser_tui"]

    def cli(*a: str) -> str:
        return subprocess.run([*vmuser, *a], env=env, capture_output=True, text=True, check=True).stdout.strip()

    pid = cli("project", "create", "idle-bench")
    ws = Path(cli("project", "show", pid, "--json").split('"workspace": "')[1].split('"')[0])
    for i in range(200):
        (ws / f"f{i}.txt").write_text(f"file {i}\n")
    cli("session", "start", pid, "--runtime", "none")
    cli("checkpoint", "create", pid, "-m", "base")
    _tmux("kill-session", "-t", SESSION)
    envs = [f"{k}={env[k]}" for k in ("VMUSER_DATA_DIR", "VMUSER_CONFIG", "TERM")]
    _tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", "env", *envs, *vmuser)
    try:
        deadline = time.monotonic() + 30
        while "idle-bench" not in _tmux("capture-pane", "-p", "-t", SESSION) and time.monotonic() < deadline:
            time.sleep(0.05)
        pane_pid = int(_tmux("display-message", "-p", "-t", SESSION, "#{pane_pid}").strip())
        proc = _python_child(pane_pid)
        time.sleep(3)  # the first round of background jobs
        start_cpu, start = _cpu_seconds(proc), time.monotonic()
        time.sleep(args.seconds)
        used = (_cpu_seconds(proc) - start_cpu) / (time.monotonic() - start)

        # Live refresh: another process changes the database; how soon does the screen show it?
        cli("project", "create", "refreshed-by-cli")  # a new row on the projects screen
        t0 = time.monotonic()
        seen = None
        while time.monotonic() - t0 < 10:
            if "refreshed-by-cli" in _tmux("capture-pane", "-p", "-t", SESSION):
                seen = time.monotonic() - t0
                break
            time.sleep(0.02)
    finally:
        _tmux("kill-session", "-t", SESSION)
        shutil.rmtree(work, ignore_errors=True)
    ok_cpu = used <= CPU_TARGET
    ok_refresh = seen is not None and seen <= REFRESH_TARGET_S
    print(f"idle CPU over {args.seconds:.0f} s: {used * 100:.2f}% of one core (target < {CPU_TARGET * 100:.0f}%) "
          f"{'ok' if ok_cpu else 'FAIL'}")
    print(f"another process's change on screen after: {f'{seen:.2f} s' if seen is not None else 'never (10 s)'} "
          f"(target < {REFRESH_TARGET_S:.0f} s) {'ok' if ok_refresh else 'FAIL'}")
    return 0 if ok_cpu and ok_refresh else 1


if __name__ == "__main__":
    sys.exit(main())
