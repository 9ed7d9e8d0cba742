"""One-shot CLI commands vs the interpreter's floor, in the same run, alternating (issue 15).

    python benchmarks/cli_floor.py                  # 21 rounds, median
    python benchmarks/cli_floor.py --runs 41 --write-readme

Prepares a data dir (a project over 300 generated files and two checkpoints, 6 files apart),
compiles vmuser's bytecode first into a private PYTHONPYCACHEPREFIX (this machine sets
PYTHONDONTWRITEBYTECODE, and a user's install has its .pyc files: time a start-up, not a
compile), then times, round after round in turn, each as a whole process:

  floor        python -c 'import sqlite3, argparse, zstandard'   (what any such CLI must load)
  diff --stat  vmuser checkpoint diff A B --stat
  list         vmuser checkpoint list PROJECT
  projects     vmuser project list --json
  git          git diff --stat A B on the same tree (a reference, not a target)

vmuser runs as its console script does (``from vmuser_tui.cli.main import main``), from this
checkout. Prints each median and its ratio to the floor; the goal is <= 1.5x.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5
ENTRY = "import sys\nfrom vmuser_tui.cli.main import main\nsys.exit(main())\n"  # pip's console script, less re


def make_tree(ws: Path, seed: int = 3) -> None:
    """300 small text files in 20 folders."""
    rng = random.Random(seed)
    for d in range(20):
        (ws / f"d{d}").mkdir(parents=True, exist_ok=True)
        for f in range(15):
            lines = [f"line {i} {rng.random()}" for i in range(rng.randint(5, 80))]
            (ws / f"d{d}" / f"f{f}.py").write_text("\n".join(lines) + "\n")


def edit(ws: Path) -> None:
    for i in range(1, 6):
        with open(ws / f"d{i}" / "f1.py", "a") as fh:
            fh.write("x\n")
    (ws / "d3" / "new.txt").write_text("new\n")


def prepare(work: Path) -> tuple[dict[str, str], list[str], str, str, Path]:
    """Data dir, git repo, bytecode; returns (env, vmuser argv prefix, checkpoint A, B, workspace)."""
    ws, git_ws = work / "ws", work / "git"
    make_tree(ws)
    make_tree(git_ws)
    entry = work / "vmuser_entry.py"
    entry.write_text(ENTRY)
    env = dict(os.environ, VMUSER_DATA_DIR=str(work / "data"), VMUSER_CONFIG=str(work / "none.toml"),
               PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(work / "pyc"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # bytecode for vmuser, the standard library and site-packages, as an installed vmuser has
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "vmuser_tui")], env=env, check=False)
    vm = [sys.executable, str(entry)]

    def run(*args: str) -> str:
        return subprocess.run([*vm, *args], env=env, check=True, capture_output=True, text=True).stdout.strip()

    project = run("project", "create", "bench", "--workspace", str(ws))
    a = run("checkpoint", "create", project)
    edit(ws)
    b = run("checkpoint", "create", project)
    genv = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b",
                GIT_COMMITTER_EMAIL="b@x")
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "a"]):
        subprocess.run(["git", *cmd], cwd=git_ws, env=genv, check=True)
    edit(git_ws)
    for cmd in (["add", "-A"], ["commit", "-qm", "b"]):
        subprocess.run(["git", *cmd], cwd=git_ws, env=genv, check=True)
    for _ in range(3):  # warm: every .pyc written, the page cache filled
        run("checkpoint", "diff", a, b, "--stat")
        run("checkpoint", "list", project)
        run("project", "list", "--json")
    return env, vm, a, b, git_ws


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=21, help="rounds; the median is reported (default 21)")
    ap.add_argument("--write-readme", action="store_true", help="record the run in benchmarks/README.md")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vmuser-cli-floor-") as tmp:
        work = Path(tmp)
        env, vm, a, b, git_ws = prepare(work)
        cases = [
            ("floor: python -c 'import sqlite3, argparse, zstandard'",
             [sys.executable, "-c", "import sqlite3, argparse, zstandard"], None),
            ("vmuser checkpoint diff A B --stat", [*vm, "checkpoint", "diff", a, b, "--stat"], None),
            ("vmuser checkpoint list P", [*vm, "checkpoint", "list", "bench"], None),
            ("vmuser project list --json", [*vm, "project", "list", "--json"], None),
            ("git diff --stat A B (reference)", ["git", "diff", "--stat", "HEAD~1", "HEAD"], git_ws),
        ]
        times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        t0 = time.perf_counter()
        for _ in range(args.runs):
            for name, cmd, cwd in cases:  # alternating: a load spike hits every row alike
                start = time.perf_counter()
                subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                times[name].append(time.perf_counter() - start)
        total = time.perf_counter() - t0
    floor = statistics.median(times[cases[0][0]])
    rows = [["command", "median", "ratio to floor", "goal", ""]]
    for name, _, _ in cases:
        med = statistics.median(times[name])
        vmuser = name.startswith("vmuser")
        ok = "ok" if med / floor <= GOAL else "MISS"
        rows.append([name, f"{med * 1000:.1f} ms", f"{med / floor:.2f}", f"<= {GOAL}" if vmuser else "-",
                     ok if vmuser else ""])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    load = os.getloadavg()
    machine = f"Python {sys.version.split()[0]}; {os.cpu_count()} cores"
    text = "\n".join([
        f"{machine}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end",
        f"Rounds: {args.runs} (median; the five commands in turn each round); total {total:.0f} s",
        "Data: one project, 301 files, two checkpoints 6 files apart; bytecode compiled beforehand",
        "",
        *lines])
    print(text)
    if args.write_readme:
        readme = Path(__file__).with_name("README.md")
        old = readme.read_text()
        head = "\n## One-shot commands vs the interpreter's floor\n"
        section = (f"{head}\n`python benchmarks/cli_floor.py` (see its docstring). Latest results "
                   f"({time.strftime('%Y-%m-%d', time.gmtime())}):\n\n```\n{text}\n```\n")
        if head in old:
            start = old.index(head)
            nxt = old.find("\n## ", start + len(head))
            old = old[:start] + (old[nxt:] if nxt != -1 else "")
        readme.write_text(old.rstrip("\n") + "\n" + section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
