"""TUI speed with big data (issue #4): 1,000 projects, a project with 10,000 checkpoints,
a checkpoint of 100,000 files.

    python benchmarks/tui.py                         # build once (cached), measure, print the table
    python benchmarks/tui.py --runs 7 --write-readme
    python benchmarks/tui.py --rebuild               # build the data again

The data (cached under ``--data-dir``, default ``$XDG_CACHE_HOME/vmuser-bench/tui``):
  - 999 projects made with the API (``Projects.create``: rows, operation log, workspace
    directories), then the project ``big-history``;
  - its managed workspace: 100,000 tiny files, among them one folder (``huge/``) of
    5,000 entries, captured through the API (``Checkpoints.create``) three times with a
    one-file edit between, so three real root trees;
  - 9,997 more checkpoint rows of that project inserted in one transaction, older than
    those three, each pointing at one of the three captured root trees with its file
    count and size (one parent chain; kinds, descriptions and tags mixed): 10,000 in all.

What it measures (median of ``--runs``):
  (a) whole process, in tmux (a real terminal emulator, 120x40, a session of its own):
      the pane runs ``sh -c 'date +%s.%N >T0; exec vmuser --data-dir ... tui --no-jobs'``
      and ``capture-pane`` is polled every ~5 ms until the projects table and its count
      ("1000 projects") show. First screen = the time of that poll minus T0: exec to the
      table drawn, with Python's start, the imports, the database and the first paint (a
      poll adds at most its interval). The same process is then driven with send-keys:
      Enter on the big project (until its timeline shows, then until the title counts all
      10,000), ``j`` and ``PageDown`` (key to drawn: send-keys, then captures back to back,
      colours included, until the pane changes; each capture takes a few ms, so these are
      upper bounds), ``f`` on the newest checkpoint (100,000 files), Enter on ``huge/``,
      ``j`` in it; then its peak RSS from ``/proc/PID/status`` (VmHWM) before it quits.
      The background jobs are off (``--no-jobs``): they keep their own hourly and daily
      schedule, so runs would not compare (the TUI starts them after the first screen).
  (b) Pilot (``App.run_test``, headless, 120x40) in a child process: the same steps, and
      also ``end``/``home`` and ``j`` on the 1,000-row project table. Pilot's ``press()`` and
      ``pause()`` wait for the app to look idle in 20 ms sleeps (at least 40 ms a key,
      whatever the app does), so each key is sent the way Pilot sends it and timed until
      every message it caused has been handled (queues drained round after round, no
      sleeping) and the screen's update has run: layout and compositor render, all of a
      frame but the terminal write, which the headless driver skips. Opening a screen is
      timed until its data (loaded in a thread worker) is applied and drawn that way.
  (c) peak RSS: the tmux TUI process (VmHWM) and the Pilot child (``wait4``'s ru_maxrss).
  (d) ``vmuser --help`` and ``vmuser project list --json`` (1,000 projects) as whole
      processes, and with ``-X importtime`` that neither imports textual or docker.

vmuser's own modules are byte-compiled first (as pip does when it installs the wheel).

Targets (issue #4): first screen < 0.5 s; open timeline < 0.3 s; keypress to render
< 50 ms; files screen open (and folder expand) < 0.3 s; RSS < 250 MB; CLI < 0.3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

MiB = 1024 * 1024
PROJECTS = 1_000
CHECKPOINTS = 10_000
FILES = 100_000
BIG_FOLDER = 5_000
BIG_NAME = "big-history"
FOLDER = "huge"
DATA_VERSION = 1  # bump when the layout of the built data changes (the cache is rebuilt)
SIZE = (120, 40)
KEYS_TMUX = 10  # presses of each key timed per whole-process run

TARGETS = {  # seconds, or bytes for RSS (issue #4)
    "first": 0.5,
    "timeline": 0.3,
    "key": 0.050,
    "files": 0.3,
    "expand": 0.3,
    "rss": 250 * MiB,
    "cli": 0.3,
}


# -- the data -----------------------------------------------------------------------------
def default_data_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "vmuser-bench" / "tui"


def config_file(base: Path) -> Path:
    """The benchmark's config: built-in defaults, except that retention keeps every
    checkpoint (so background jobs, wherever they run, never thin the 10,000 out)."""
    path = base / "bench.toml"
    if not path.exists():
        base.mkdir(parents=True, exist_ok=True)
        path.write_text("[retention]\nkeep_last = -1\n")
    return path


def make_workspace(root: Path, files: int = FILES, folder: int = BIG_FOLDER) -> None:
    """``files`` tiny files: ``huge/`` holds ``folder`` of them, the rest sit 500 to a
    folder under ``src/pNN/mN/``; each file's content is unique (its own path)."""
    big = root / FOLDER
    big.mkdir(parents=True, exist_ok=True)
    for i in range(folder):
        (big / f"e{i:05d}.txt").write_text(f"{FOLDER}/e{i:05d}\n")
    rest = files - folder - 1
    for i in range(rest):
        d = root / "src" / f"p{i // 5000:02d}" / f"m{i // 500 % 10}"
        if i % 500 == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:06d}.py").write_text(f"# {i}\nVALUE = {i}\n")
    (root / "README.md").write_text("# big-history\n\n100,000 files for the TUI benchmark.\n")


def build(data: Path, config: Path, say) -> dict:
    """Build the database under ``data`` and return what the measurements need."""
    from vmuser_tui.core import clock
    from vmuser_tui.core.ids import new_short_id
    from vmuser_tui.core.service import Vmuser

    shutil.rmtree(data, ignore_errors=True)
    vm = Vmuser.open(data_dir=str(data), config_path=str(config), reconcile=False, live=False)
    rng = random.Random(4)
    words = ["api", "web", "etl", "docs", "infra", "ml", "cli", "auth", "search", "billing", "mobile", "ops"]
    t0 = time.perf_counter()
    for i in range(PROJECTS - 1):
        name = f"{rng.choice(words)}-{rng.choice(words)}-{i:04d}"
        vm.projects.create(
            name, description=f"project {i} of the TUI benchmark", tags=rng.sample(words, rng.randint(0, 2))
        )
    say(f"{PROJECTS - 1} projects: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    big = vm.projects.create(BIG_NAME, description="10,000 checkpoints, one of 100,000 files", tags=["bench"])
    ws = Path(big.workspace)
    make_workspace(ws)
    say(f"workspace of {FILES:,} files: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    real = [vm.checkpoints.create(big.id, description="all 100,000 files", tags=["full"]).checkpoint]
    for n in range(2):
        with open(ws / "README.md", "a") as fh:
            fh.write(f"edit {n}\n")
        real.append(vm.checkpoints.create(big.id, description=f"edit README ({n + 1})").checkpoint)
    say(f"3 captures: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    roots = [(cp.root_tree, cp.file_count, cp.total_size) for cp in real]
    start = clock.parse(real[0].created_at) - timedelta(minutes=CHECKPOINTS)
    kinds = ["auto"] * 6 + ["manual"] * 3 + ["pre-restore"]
    taken: set[str] = {cp.id for cp in real}
    rows, parent = [], None
    for n in range(CHECKPOINTS - len(real)):
        cid = new_short_id()
        while cid in taken:
            cid = new_short_id()
        taken.add(cid)
        root, count, size = roots[n % len(roots)]
        kind = kinds[n % len(kinds)]
        tags = ["milestone"] if n % 500 == 0 else (["green"] if n % 97 == 0 else [])
        desc = f"before restoring step {n - 1}" if kind == "pre-restore" else f"step {n}: {rng.choice(words)} work"
        rows.append(
            (
                cid,
                big.id,
                None,
                parent,
                root,
                kind,
                desc,
                json.dumps(tags),
                count,
                size,
                clock.iso(start + timedelta(minutes=n)),
            )
        )
        parent = cid
    with vm.db.write() as conn:
        conn.executemany(
            "INSERT INTO checkpoints(id, project_id, session_id, parent_id, root_tree, kind, description, tags, "
            "file_count, total_size, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        conn.execute("UPDATE checkpoints SET parent_id = ? WHERE id = ?", (parent, real[0].id))
    say(f"{len(rows):,} checkpoint rows: {time.perf_counter() - t0:.1f} s")
    vm.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    count = vm.db.conn.execute("SELECT COUNT(*) FROM checkpoints WHERE project_id = ?", (big.id,)).fetchone()[0]
    head = vm.projects.get(big.id).head_checkpoint_id
    vm.close()
    return {
        "version": DATA_VERSION,
        "big": big.id,
        "head": head,
        "checkpoints": count,
        "projects": PROJECTS,
        "files": real[-1].file_count,
    }


def ensure_data(base: Path, rebuild: bool) -> dict:
    """The cached data under ``base`` (built when missing, stale or ``rebuild``)."""
    marker = base / "built.json"
    if not rebuild and marker.exists():
        info = json.loads(marker.read_text())
        if info.get("version") == DATA_VERSION and (base / "data" / "vmuser.db").exists():
            return info
    base.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    print(f"building the data under {base} ...", file=sys.stderr)
    t0 = time.perf_counter()
    info = build(base / "data", config_file(base), lambda line: print(f"  {line}", file=sys.stderr))
    info["build_s"] = round(time.perf_counter() - t0, 1)
    marker.write_text(json.dumps(info, indent=1))
    print(f"built in {info['build_s']:.0f} s", file=sys.stderr)
    return info


# -- (b) Pilot, in a child process -----------------------------------------------------------
# Pilot's press() and pause() wait for the app to look idle in 20 ms sleeps (textual._wait),
# so a press and a pause take at least 40 ms whatever the app does. These helpers send a
# key the way Pilot does (to the driver) and wait without sleeping: until every message
# the key caused has been handled (each node's queue drained, round after round), then run
# the screen's frame update (layout and compositor render: all of a frame but the write to
# the terminal, which the headless driver skips).
async def _settle(pilot) -> None:
    app = pilot.app
    for _ in range(100):
        await pilot._wait_for_screen()
        if all(node._message_queue.empty() for node in (app, *app.screen.walk_children(with_self=True))):
            break
    app.screen._on_timer_update()


async def _send(pilot, key: str) -> None:
    from textual import events

    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(pilot.app)
    pilot.app._driver.send_message(event)
    await _settle(pilot)


async def _until(pilot, ready, timeout: float = 60.0) -> None:
    """Wait until ``ready()`` (the data landed: a worker's result was applied), then
    settle and render as after a key."""
    deadline = time.perf_counter() + timeout
    while not ready():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen never got ready")
        await asyncio.sleep(0.001)
    await _settle(pilot)


async def _keys(pilot, key: str, times: int) -> list[float]:
    """Seconds from each press of ``key`` to its frame rendered."""
    out = []
    for _ in range(times):
        t = time.perf_counter()
        await _send(pilot, key)
        out.append(time.perf_counter() - t)
    return out


async def pilot_measure(base: Path, info: dict, runs: int) -> dict:
    """Everything of (b); returns lists of seconds by figure."""
    from textual.widgets import Tree

    from vmuser_tui.core.service import Vmuser
    from vmuser_tui.tui.app import VmuserApp

    vm = Vmuser.open(data_dir=str(base / "data"), config_path=str(config_file(base)), reconcile=False)
    app = VmuserApp(vm, docker_status=lambda: (True, "Docker reachable"), docker_interval=0, watch_interval=0)
    out: dict[str, list[float]] = {}

    def add(name: str, values) -> None:
        out.setdefault(name, []).extend(values if isinstance(values, list) else [values])

    def screen_name() -> str:
        return type(app.screen).__name__

    def projects_ready() -> bool:
        return (
            screen_name() == "ProjectsScreen" and app.screen.loaded and app.screen.query_one("#projects").row_count > 0
        )

    def timeline_ready() -> bool:
        return screen_name() == "ProjectScreen" and getattr(app.screen, "project", None) is not None

    def files_ready() -> bool:
        if screen_name() != "FilesScreen":
            return False
        root = app.screen.query_one("#tree", Tree).root
        return root.data is not None and root.data.loaded and bool(root.children)

    t0 = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, projects_ready)
        add("pilot_first", time.perf_counter() - t0)
        add("projects_key", await _keys(pilot, "j", 20))
        for run in range(runs):
            table = app.screen.query_one("#projects")
            table.move_cursor(row=[p.id for p in app.screen.shown].index(info["big"]), animate=False)
            await _settle(pilot)
            t = time.perf_counter()
            await _send(pilot, "enter")
            await _until(pilot, timeline_ready)
            add("timeline", time.perf_counter() - t)
            await _until(pilot, lambda: not app.screen.partial)
            add("timeline_all", time.perf_counter() - t)
            if run == 0:
                add("timeline_j", await _keys(pilot, "j", 40))
                add("timeline_pagedown", await _keys(pilot, "pagedown", 20))
                add("timeline_end", await _keys(pilot, "end", 1))
                add("timeline_home", await _keys(pilot, "home", 1))
            t = time.perf_counter()
            await _send(pilot, "f")  # the newest checkpoint: 100,000 files
            await _until(pilot, files_ready)
            add("files", time.perf_counter() - t)
            tree = app.screen.query_one("#tree", Tree)
            folder = next(n for n in tree.root.children if n.data.info and n.data.info.name == FOLDER)
            tree.move_cursor(folder)
            await _settle(pilot)
            t = time.perf_counter()
            await _send(pilot, "enter")
            await _until(pilot, lambda node=folder: node.data.loaded and node.is_expanded)
            add("expand", time.perf_counter() - t)
            if run == 0:
                add("files_j", await _keys(pilot, "j", 30))
                add("files_pagedown", await _keys(pilot, "pagedown", 10))
            await pilot.press("escape")  # files -> project
            await pilot.press("escape")  # project -> projects (reloads them)
            await _until(pilot, projects_ready)
            await pilot.pause(0.2)  # let the reload's worker finish before the next run
    vm.close()
    return out


def run_pilot_child(base: Path, runs: int) -> tuple[dict, int]:
    """Run (b) in a fresh interpreter; returns its figures and its peak RSS in bytes."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--pilot-child", "--data-dir", str(base), "--runs", str(runs)],
        stdout=subprocess.PIPE,
    )
    raw = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError("the Pilot child failed")
    return json.loads(raw), usage.ru_maxrss * 1024


def compile_package() -> None:
    """Write the bytecode of vmuser's own modules, as pip does when it installs the wheel:
    from an editable install under PYTHONDONTWRITEBYTECODE (set on this machine) every start
    would compile ~50 modules again (~70 ms), which no installed copy does."""
    import compileall

    import vmuser_tui

    compileall.compile_dir(Path(vmuser_tui.__file__).parent, quiet=1)


# -- (a) the whole process in tmux -----------------------------------------------------------
def vmuser_argv() -> list[str]:
    local = Path(sys.executable).parent / "vmuser"
    exe = str(local) if local.exists() else shutil.which("vmuser")
    return [exe] if exe else [sys.executable, "-m", "vmuser_tui"]


class Pane:
    """One detached tmux session of our own running the TUI."""

    def __init__(self, name: str, command: str, env: dict[str, str]):
        self.name = name
        flags = [x for k, v in env.items() for x in ("-e", f"{k}={v}")]
        argv = ["tmux", "new-session", "-d", "-s", name, "-x", str(SIZE[0]), "-y", str(SIZE[1]), *flags, command]
        for attempt in range(20):
            # the previous run's session was the server's last: it may still be exiting
            if subprocess.run(argv, capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(argv, check=True)
        self.pid = int(
            subprocess.run(
                ["tmux", "display-message", "-p", "-t", name, "#{pane_pid}"], capture_output=True, text=True, check=True
            ).stdout
        )

    def text(self, *, escapes: bool = False) -> str:
        args = ["tmux", "capture-pane", "-p", "-t", self.name] + (["-e"] if escapes else [])
        return subprocess.run(args, capture_output=True, text=True, check=False).stdout

    def settle(self, quiet: float = 0.05, timeout: float = 3.0) -> None:
        """Wait until the pane stays the same for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last = self.text(escapes=True)
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self.text(escapes=True)
            if now == last:
                return
            last = now

    def key_to_change(self, key: str, timeout: float = 5.0) -> float:
        """Seconds from sending ``key`` until the pane (colours included: a moved cursor is a
        change of colour) differs; captures back to back, each a few ms."""
        self.settle()
        before = self.text(escapes=True)
        t = time.monotonic()
        subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
        while time.monotonic() - t < timeout:
            if self.text(escapes=True) != before:
                return time.monotonic() - t
        raise RuntimeError(f"{key!r} changed nothing on the screen in {timeout:.0f} s")

    def wait(self, *needles: str, timeout: float = 60.0) -> float:
        """Poll until every needle shows; the wall-clock time (time.time) of that poll."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.text()
            if all(n in screen for n in needles):
                return time.time()
            time.sleep(0.005)
        raise RuntimeError(f"waited {timeout:.0f} s for {needles!r}; the pane shows:\n{screen}")

    def keys(self, *keys: str) -> float:
        """Send keys; the wall-clock time just before."""
        t = time.time()
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)
        return t

    def peak_rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, check=False)


def tmux_run(base: Path, info: dict, run: int) -> dict:
    """One whole-process run: first screen, then the big project, its files, the folder."""
    data, config = base / "data", config_file(base)
    stamp = base / f"t0-{os.getpid()}"
    stamp.unlink(missing_ok=True)
    argv = " ".join(vmuser_argv())
    # the background jobs keep their own schedule (hourly, daily): off, so that runs compare
    command = f"sh -c 'date +%s.%N > {stamp}; exec {argv} --data-dir {data} --config {config} tui --no-jobs'"
    env = {"TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": os.environ.get("LANG", "C.UTF-8")}
    pane = Pane(f"bench_tui_{os.getpid()}_{run}", command, env)
    try:
        seen = pane.wait(f"{info['projects']} projects", "Name")
        t0 = float(stamp.read_text())
        out = {"first": seen - t0}
        # the big project is the most recently active: first row, under the cursor
        t = pane.keys("Enter")
        out["timeline"] = pane.wait("Checkpoints · whole project (") - t
        out["timeline_all"] = pane.wait(f"whole project ({info['checkpoints']})") - t
        out["timeline_j"] = [pane.key_to_change("j") for _ in range(KEYS_TMUX)]
        out["timeline_pagedown"] = [pane.key_to_change("PageDown") for _ in range(KEYS_TMUX)]
        pane.keys("Home")
        t = pane.keys("f")
        out["files"] = pane.wait("entries · Enter expands") - t
        pane.keys("Down")
        pane.wait("dir · mode")  # the folder is highlighted (its metadata shows)
        t = pane.keys("Enter")
        out["expand"] = pane.wait("e00000.txt") - t
        out["files_j"] = [pane.key_to_change("j") for _ in range(KEYS_TMUX)]
        out["rss"] = pane.peak_rss()
        pane.keys("C-q")
        return out
    finally:
        pane.close()
        stamp.unlink(missing_ok=True)


# -- (d) the CLI ------------------------------------------------------------------------------
def cli_times(base: Path, runs: int) -> dict:
    """Whole-process times of ``--help`` and ``project list --json``, and whether either
    imports textual or docker (``-X importtime``)."""
    env = dict(os.environ, VMUSER_DATA_DIR=str(base / "data"), VMUSER_CONFIG=str(config_file(base)))
    out: dict = {}
    for label, args in (("help", ["--help"]), ("list", ["project", "list", "--json"])):
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run([*vmuser_argv(), *args], env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - t)
        out[label] = times
        trace = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "vmuser_tui", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        heavy = sorted(
            {
                line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in trace.splitlines()
                if line.rsplit("|", 1)[-1].strip().split(".")[0] in ("textual", "docker")
            }
        )
        out[f"{label}_imports"] = heavy
    return out


# -- report -----------------------------------------------------------------------------------
def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    import textual

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, Textual {textual.__version__}"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def rows_of(pilot: dict, pilot_rss: int, whole: list[dict], cli: dict) -> list[tuple[str, str, str, str]]:
    """``(figure, median, target, verdict)`` rows."""
    rows: list[tuple[str, str, str, str]] = []

    def timed(name: str, values: list[float], target: str | None, extra: str = "") -> None:
        med = statistics.median(values)
        limit = TARGETS.get(target) if target else None
        verdict = "-" if limit is None else ("ok" if med < limit else "FAIL")
        rows.append((name, _ms(med) + extra, f"< {_ms(limit)}" if limit else "-", verdict))

    def keys(name: str, values: list[float]) -> None:
        timed(name, values, "key", f" (p95 {_ms(p95(values))}, max {_ms(max(values))}, n={len(values)})")

    def rss(name: str, value: int) -> None:
        ok = "ok" if value < TARGETS["rss"] else "FAIL"
        rows.append((name, f"{value / MiB:.0f} MiB", f"< {TARGETS['rss'] // MiB} MiB", ok))

    def each(key: str) -> list:
        return [v for w in whole for v in (w[key] if isinstance(w[key], list) else [w[key]])]

    if whole:
        timed("tmux: first screen (exec to projects table drawn)", each("first"), "first")
        timed("tmux: open big timeline (Enter to rows drawn)", each("timeline"), "timeline")
        timed("tmux: ... all 10,000 rows loaded (title count)", each("timeline_all"), "timeline")
        keys("tmux: timeline j, key to drawn", each("timeline_j"))
        keys("tmux: timeline pagedown, key to drawn", each("timeline_pagedown"))
        timed("tmux: open files, 100,000-file checkpoint", each("files"), "files")
        timed("tmux: expand the 5,000-entry folder", each("expand"), "expand")
        keys("tmux: files j in that folder, key to drawn", each("files_j"))
        rss("tmux: peak RSS of the TUI after all of the above", max(each("rss")))
    timed("Pilot: open big timeline (rows drawn)", pilot["timeline"], "timeline")
    timed("Pilot: ... all 10,000 rows loaded", pilot["timeline_all"], "timeline")
    keys("Pilot: timeline j, key to rendered", pilot["timeline_j"])
    keys("Pilot: timeline pagedown", pilot["timeline_pagedown"])
    keys("Pilot: timeline end, home", pilot["timeline_end"] + pilot["timeline_home"])
    keys("Pilot: projects j (1,000 rows)", pilot["projects_key"])
    timed("Pilot: open files, 100,000-file checkpoint", pilot["files"], "files")
    timed("Pilot: expand the 5,000-entry folder", pilot["expand"], "expand")
    keys("Pilot: files j in that folder", pilot["files_j"])
    keys("Pilot: files pagedown in that folder", pilot["files_pagedown"])
    rss("Pilot: peak RSS (app and harness)", pilot_rss)
    timed("`vmuser --help`", cli["help"], "cli")
    timed("`vmuser project list --json` (1,000 projects)", cli["list"], "cli")
    for label, what in (("help", "--help"), ("list", "project list")):
        heavy = cli[f"{label}_imports"]
        rows.append(
            (f"`vmuser {what}` imports textual/docker", ", ".join(heavy) or "no", "no", "FAIL" if heavy else "ok")
        )
    return rows


def render(rows: list[tuple[str, str, str, str]]) -> str:
    head = ("figure", "median", "target", "")
    table = [head, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in table]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


SECTION = "## TUI with big data"


def write_readme(text: str) -> None:
    """Put the results in benchmarks/README.md: replace this script's section, or add it
    before ``## Notes`` (the other sections stay as they are)."""
    readme = Path(__file__).with_name("README.md")
    old = readme.read_text() if readme.exists() else "# Benchmarks\n"
    section = (
        f"{SECTION}\n\n`python benchmarks/tui.py` builds (once, cached) 1,000 projects, one with 10,000 checkpoints "
        "whose newest holds 100,000 files (a folder of 5,000 among them), then times the TUI as a whole process in "
        "tmux and with Pilot (see the script's docstring for how each figure is taken). Latest results "
        f"({time.strftime('%Y-%m-%d', time.gmtime())}):\n\n```\n{text}\n```\n\n"
    )
    if SECTION in old:
        start = old.index(SECTION)
        nxt = old.find("\n## ", start + len(SECTION))
        new = old[:start] + section + (old[nxt + 1 :] if nxt >= 0 else "")
    elif "\n## Notes" in old:
        at = old.index("\n## Notes") + 1
        new = old[:at] + section + old[at:]
    else:
        new = old.rstrip("\n") + "\n\n" + section
    readme.write_text(new.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=default_data_dir(), help="where the data is built and cached")
    ap.add_argument("--rebuild", action="store_true", help="build the data again")
    ap.add_argument("--runs", type=int, default=5, help="runs per figure; the median is reported (default 5)")
    ap.add_argument("--no-tmux", action="store_true", help="skip the whole-process runs in tmux")
    ap.add_argument("--write-readme", action="store_true", help="put the results into benchmarks/README.md")
    ap.add_argument("--pilot-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    base = args.data_dir.resolve()
    if args.pilot_child:
        info = json.loads((base / "built.json").read_text())
        print(json.dumps(asyncio.run(pilot_measure(base, info, args.runs))))
        return 0
    t_start = time.perf_counter()
    info = ensure_data(base, args.rebuild)
    compile_package()
    print(f"Pilot: {args.runs} runs ...", file=sys.stderr)
    pilot, pilot_rss = run_pilot_child(base, args.runs)
    whole: list[dict] = []
    if not args.no_tmux:
        if not shutil.which("tmux"):
            raise SystemExit("tmux is not installed (or pass --no-tmux)")
        print(f"tmux: {args.runs} runs ...", file=sys.stderr)
        for run in range(args.runs):
            whole.append(tmux_run(base, info, run))
    print("CLI ...", file=sys.stderr)
    cli = cli_times(base, max(args.runs, 5))
    rows = rows_of(pilot, pilot_rss, whole, cli)
    notes = [
        f"Machine: {machine()}",
        (
            f"Data: {info['projects']:,} projects; {info['checkpoints']:,} checkpoints in {BIG_NAME}; newest "
            f"checkpoint {info['files']:,} files, {FOLDER}/ {BIG_FOLDER:,} entries (built in "
            f"{info.get('build_s', '?')} s, cached)"
        ),
        (
            f"Runs per figure: {args.runs} (median; keypresses: every press of one run); terminal "
            f"{SIZE[0]}x{SIZE[1]}; total {time.perf_counter() - t_start:.0f} s"
        ),
        (
            f"Pilot: first screen in-process {_ms(statistics.median(pilot['pilot_first']))}; cold (first) timeline "
            f"open {_ms(pilot['timeline'][0])}, files {_ms(pilot['files'][0])}, expand {_ms(pilot['expand'][0])}"
        ),
    ]
    text = "\n".join([*notes, "", render(rows)])
    print(text)
    if args.write_readme:
        write_readme(text)
    fails = [r for r in rows if r[3] == "FAIL"]
    print(f"\n{len(fails)} target(s) missed" if fails else "\nall targets met")
    return 1 if fails else 0


if __name__ == "__main__":
    raise SystemExit(main())
