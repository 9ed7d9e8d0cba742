"""What a user feels when a Docker engine dies (issue #14): the same commands with the engine up and dead.

    python benchmarks/engine_dead.py              # as root, with dockerd, unshare and tmux
    python benchmarks/engine_dead.py --runs 5 --show-screen

Setup (a temp dir; VMUSER_DATA_DIR and VMUSER_CONFIG point into it): ``[engines.box]`` is a
second dockerd in its own mount and network namespace (tests/engines.py ``start_engine()``);
a project made with ``project create --import`` from a few files, one checkpoint, and a
session on box (``vmuser session start P --engine box``: its workspace is a volume there).

Then ``--runs`` rounds, each first with the engine up and then right after
``engine.kill()`` (SIGKILL of dockerd, containerd, shims and containers: a host that died;
its socket file stays and refuses connects). Per state, in this order:
  (a) ``vmuser project list``: wall time of the whole process (subprocess, fork to exit);
  (b) the TUI's first screen: tmux at 80x24 (a session of our own, killed at the end) runs
      ``sh -c 'date +%s.%N > T0; exec vmuser tui --no-jobs'`` and ``capture-pane -p`` is
      polled every ~5 ms until the projects table shows the project's name and the count
      ("1 project"); first screen = that poll's time - T0 (as benchmarks/tui.py does; a
      poll adds at most its interval);
  (c) ``vmuser engine list``: wall time, and whether box's row says reachable ``no``; the
      seconds from the kill to that answer are noted too (issue: within 10 s).
Before each "up" half after the first, the engine is started again (empty: its data was on
a tmpfs in its namespace), the failed session removed (``session rm``) and a new one started
on box, so every round measures the same state. Prints ``operation | engine up | engine
dead | ratio`` (medians) and, with ``--show-screen``, the TUI's screen ``--screen-after``
seconds after its first screen, with the engine up and dead (last round). vmuser's
bytecode is compiled first (``python -m compileall -q vmuser_tui``), as an install has it
(this machine sets PYTHONDONTWRITEBYTECODE=1).

Clean-up: the session is stopped, the engine stopped by pid (``dispose``), the tmux session
(by name) and the temp dir removed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from engines import SecondEngine, dispose, start_engine  # noqa: E402

SIZE = (80, 24)
PROJECT = "deadbench"
POLL = 0.005  # seconds between captures of the pane


def vmuser_argv() -> list[str]:
    """The installed ``vmuser`` next to this Python, else ``python -m vmuser_tui`` (as benchmarks/tui.py)."""
    local = Path(sys.executable).parent / "vmuser"
    exe = str(local) if local.exists() else shutil.which("vmuser")
    return [exe] if exe else [sys.executable, "-m", "vmuser_tui"]


class Bench:
    """The temp data dir, the engine, and the commands run against them."""

    def __init__(self, engine: SecondEngine, tmp: Path, screen_after: float = 1.0) -> None:
        self.engine = engine
        self.screen_after = screen_after
        self.tmp = tmp
        self.env = dict(
            os.environ,
            VMUSER_DATA_DIR=str(tmp / "data"),
            VMUSER_CONFIG=str(tmp / "config.toml"),
            PYTHONPATH=str(ROOT),
        )
        self.session = ""
        self.tmux = f"h6bench_dead_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def vm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*vmuser_argv(), *args], env=self.env, capture_output=True, text=True, check=False)
        if check and proc.returncode:
            raise RuntimeError(f"vmuser {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
        return proc

    def timed(self, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
        t = time.perf_counter()
        proc = self.vm(*args, check=False)
        return time.perf_counter() - t, proc

    def setup(self) -> None:
        (self.tmp / "config.toml").write_text(
            f'[docker]\nimage = "vmuser-busybox:local"\n\n[engines.box]\nurl = "{self.engine.url}"\n'
        )
        src = self.tmp / "src"
        (src / "sub").mkdir(parents=True)
        for i in range(5):
            (src / f"f{i}.txt").write_text(f"file {i}\n")
        (src / "sub" / "notes.md").write_text("# notes\n")
        self.vm("project", "create", PROJECT, "--import", str(src))
        self.vm("checkpoint", "create", PROJECT, "-m", "first")
        self.start_session()

    def start_session(self) -> None:
        self.session = self.vm("session", "start", PROJECT, "--engine", "box").stdout.strip()

    def revive(self) -> None:
        """Engine up again (empty), the old session gone, a new one on box."""
        self.engine.start()
        # engine list asks every engine and reconciles their sessions (one-shot commands reconcile
        # only local): the vanished container's session is failed now, and can be removed
        self.vm("engine", "list", check=False)
        self.vm("session", "rm", self.session, "--yes")
        self.start_session()

    # -- the TUI in tmux ------------------------------------------------------------------
    def pane(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.tmux], capture_output=True, text=True, check=False
        ).stdout

    def first_screen(self) -> tuple[float, str]:
        """Seconds from exec to the projects table drawn; the screen then (after it settles)."""
        stamp = self.tmp / "T0"
        stamp.unlink(missing_ok=True)
        command = f"sh -c 'date +%s.%N > {stamp}; exec {' '.join(vmuser_argv())} tui --no-jobs'"
        env = {
            "TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": os.environ.get("LANG", "C.UTF-8"),
            "VMUSER_DATA_DIR": self.env["VMUSER_DATA_DIR"], "VMUSER_CONFIG": self.env["VMUSER_CONFIG"],
            "PYTHONPATH": str(ROOT),
        }  # fmt: skip
        flags = [x for k, v in env.items() for x in ("-e", f"{k}={v}")]
        argv = ["tmux", "new-session", "-d", "-s", self.tmux, "-x", str(SIZE[0]), "-y", str(SIZE[1]), *flags, command]
        for _ in range(20):  # the previous run's session may still be exiting
            if subprocess.run(argv, capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(argv, check=True)
        try:
            deadline = time.monotonic() + 60
            screen = ""
            while time.monotonic() < deadline:
                screen = self.pane()
                if PROJECT in screen and "1 project" in screen:
                    seen = time.time()
                    break
                time.sleep(POLL)
            else:
                raise RuntimeError(f"the TUI never showed the projects table; the pane shows:\n{screen}")
            t0 = float(stamp.read_text())
            time.sleep(self.screen_after)  # what the user sees a moment later (status line, session states)
            later = self.pane()
            subprocess.run(["tmux", "send-keys", "-t", self.tmux, "C-q"], check=False)
            time.sleep(0.3)
            return seen - t0, later
        finally:
            self.close_tmux()

    def close_tmux(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.tmux], capture_output=True, check=False)


def box_reachable(table: str) -> str:
    """``yes``/``no`` from box's row of ``engine list`` (columns NAME URL REACHABLE ...)."""
    for line in table.splitlines():
        cols = line.split()
        if len(cols) >= 3 and cols[0] == "box":
            return cols[2]
    return "?"


def measure(bench: Bench, figures: dict[str, dict[str, list]], state: str, screens: dict[str, str]) -> None:
    def add(key: str, value: object) -> None:
        figures.setdefault(key, {}).setdefault(state, []).append(value)

    s, proc = bench.timed("project", "list")
    if PROJECT not in proc.stdout:
        raise RuntimeError(f"project list did not list the project: {proc.stdout} {proc.stderr}")
    add("project list", s)
    s, screen = bench.first_screen()
    add("TUI first screen", s)
    screens[state] = screen
    s, proc = bench.timed("engine", "list")
    add("engine list", s)
    add("box reachable", box_reachable(proc.stdout))
    add("engine list rc", proc.returncode)
    add("done at", time.monotonic())


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def report(figures: dict[str, dict[str, list]], kill_to_answer: list[float], runs: int, total: float) -> str:
    up, dead = "up", "dead"
    lines = [
        f"Machine: {machine()}; Python {platform.python_version()}; load {os.getloadavg()[0]:.1f}",
        f"Runs: {runs} rounds, engine up then killed (median); total {total:.0f} s",
        "",
        "| operation        | engine up | engine dead | ratio |",
        "|------------------|-----------|-------------|-------|",
    ]
    for op in ("project list", "TUI first screen", "engine list"):
        u, d = statistics.median(figures[op][up]), statistics.median(figures[op][dead])
        lines.append(f"| {op:<16} | {_ms(u):>9} | {_ms(d):>11} | {d / u:>5.2f} |")
    said = figures["box reachable"]
    rcs = figures["engine list rc"]
    lines += [
        "",
        (
            f"engine list, box reachable: up {'/'.join(said[up])} (exit {sorted(set(rcs[up]))}), "
            f"dead {'/'.join(said[dead])} (exit {sorted(set(rcs[dead]))})"
        ),
        (
            f"kill to `engine list` saying unreachable: {min(kill_to_answer):.1f}-{max(kill_to_answer):.1f} s "
            "(after project list and the TUI ran; target within 10 s)"
        ),
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="rounds (up, then dead); figures are medians")
    ap.add_argument("--show-screen", action="store_true", help="print the TUI's screen with the engine up and dead")
    ap.add_argument(
        "--screen-after",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds after the first screen at which the shown screen is captured (default 1)",
    )
    args = ap.parse_args()
    if not shutil.which("tmux"):
        raise SystemExit("tmux is not installed")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "vmuser_tui")], check=True)
    t_start = time.perf_counter()
    try:
        engine = start_engine()
    except BaseException as err:  # pytest.skip/fail outside pytest
        print(f"cannot start the second engine: {err}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="vmuser-bench-dead-"))
    bench = Bench(engine, tmp, args.screen_after)
    figures: dict[str, dict[str, list]] = {}
    screens: dict[str, str] = {}
    kill_to_answer: list[float] = []
    try:
        print("setup ...", file=sys.stderr)
        bench.setup()
        for run in range(args.runs):
            if run:
                bench.revive()
            print(f"round {run + 1}/{args.runs}: engine up ...", file=sys.stderr)
            measure(bench, figures, "up", screens)
            engine.kill()
            killed = time.monotonic()
            print(f"round {run + 1}/{args.runs}: engine dead ...", file=sys.stderr)
            measure(bench, figures, "dead", screens)
            kill_to_answer.append(figures["done at"]["dead"][-1] - killed)
        text = report(figures, kill_to_answer, args.runs, time.perf_counter() - t_start)
        print(text)
        if args.show_screen:
            for state in ("up", "dead"):
                print(f"\nTUI, engine {state} ({args.screen_after:g} s after the first screen, last round):\n")
                print("\n".join(line.rstrip() for line in screens[state].rstrip().splitlines()))
    finally:
        bench.close_tmux()
        if bench.session:
            bench.vm("session", "stop", bench.session, check=False)
        dispose(engine)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
