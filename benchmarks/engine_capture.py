"""Capture and restore through a Docker engine vs locally, on the same 10,000-file tree.

    python benchmarks/engine_capture.py                      # the local engine (a named volume on it)
    python benchmarks/engine_capture.py --url unix:///run/other.sock --files 10000 --runs 3
    python benchmarks/engine_capture.py --ssh-url ssh://me@build-box --ssh-option=-i --ssh-option=~/.ssh/build
    python benchmarks/engine_capture.py --test-engine ssh   # as root: tests/engines.py's dockerd + sshd

Builds a tree of --files small files (in 100 folders), captures it with the core capture of
a local folder and, copied into a volume ``vmuser-ws-<bench id>`` on the engine at --url,
with :func:`vmuser_tui.core.store.engine_capture.capture_engine` through the workspace
helper. Times (median of --runs; the stat cache warmed and past its 2 s racy window first):
  first       capture of the whole tree, nothing cached
  nochange    capture again, nothing changed
  edit10      capture after 10 files changed
  restore     restore of the checkpoint before the 10 edits (plan + apply)
and prints both side by side with the ratio engine/local and the files each read. The
volume and the helper are removed at the end.

Routes to the engine: ``--url`` (unix/tcp, as docker-py takes it); ``--ssh-url`` through
vmuser's own OpenSSH tunnel (core/runtime/ssh_tunnel.py ``SshTunnel``, as an
``[engines.NAME] url = "ssh://..."`` engine is reached; ``--ssh-option`` repeats, e.g.
``-F config``; ``--remote-socket`` is the engine's socket on that host); ``--test-engine
socket|ssh`` starts tests/engines.py's second dockerd (its own mount and net namespace) and
uses its socket, or sshd on 127.0.0.1 in front of it with the tunnel; both stopped by pid at
the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vmuser_tui.core.db import Database  # noqa: E402
from vmuser_tui.core.runtime.docker_runtime import DockerRuntime  # noqa: E402
from vmuser_tui.core.runtime.engine_workspace import EngineWorkspace  # noqa: E402
from vmuser_tui.core.runtime.ssh_tunnel import SshTunnel, parse_ssh_url  # noqa: E402
from vmuser_tui.core.store import capture as cap  # noqa: E402
from vmuser_tui.core.store import restore as rs  # noqa: E402
from vmuser_tui.core.store.engine_capture import capture_engine, live_tree_engine  # noqa: E402
from vmuser_tui.core.store.engine_restore import apply_engine  # noqa: E402
from vmuser_tui.core.store.objects import ObjectStore  # noqa: E402


def build_tree(root: Path, files: int) -> None:
    for i in range(files):
        d = root / f"d{i % 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.txt").write_bytes(f"file {i}\n".encode() * (1 + i % 40))


def tar_of(root: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for p in sorted(root.rglob("*")):
            tf.add(p, arcname=str(p.relative_to(root)), recursive=False)
    return buf.getvalue()


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t) * 1000, out


def engine_url(args: argparse.Namespace, stack: contextlib.ExitStack, tmp: Path) -> str:
    """The docker-py base URL for the route asked for; what it starts is closed by ``stack``."""
    # "~" expanded as vmuser does for [engines.NAME] ssh_options (the shell leaves --x=~/y alone)
    options = [os.path.expanduser(o) if o.startswith("~") else o for o in args.ssh_option]
    ssh_url, remote = args.ssh_url, args.remote_socket
    if args.test_engine:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from engines import dispose, start_engine, start_sshd

        try:
            engine = start_engine()
        except BaseException as err:  # pytest.skip/fail outside pytest
            raise SystemExit(f"cannot start the second engine: {err}") from None
        stack.callback(dispose, engine)
        if args.test_engine == "socket":
            return engine.url
        try:
            sshd = start_sshd(engine.socket)
        except BaseException as err:
            raise SystemExit(f"cannot start sshd: {err}") from None
        stack.callback(sshd.stop)
        ssh_url, options, remote = sshd.url, [*sshd.ssh_options, *options], engine.socket
    if not ssh_url:
        return str(args.url)
    target, port = parse_ssh_url(ssh_url)
    tunnel = SshTunnel(
        "bench", f"{target}:{port}" if port else target, remote,
        runtime_dir=tmp / "run", ssh_options=options,
    )  # fmt: skip
    stack.callback(tunnel.close)
    started = time.perf_counter()
    path = tunnel.ensure(timeout=30)
    print(f"ssh tunnel to {ssh_url} up in {(time.perf_counter() - started) * 1000:.0f} ms: {path}")
    return "unix://" + path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="", help="engine address (default: DOCKER_HOST or the local socket)")
    ap.add_argument("--ssh-url", default="", metavar="URL", help="ssh://user@host[:port]: through vmuser's ssh tunnel")
    ap.add_argument(
        "--ssh-option",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra ssh argument for --ssh-url (repeatable; --ssh-option=-F --ssh-option=~/.ssh/bench)",
    )
    ap.add_argument("--remote-socket", default="/var/run/docker.sock", help="the engine's socket on the ssh host")
    ap.add_argument(
        "--test-engine",
        choices=("socket", "ssh"),
        default="",
        help="start tests/engines.py's second dockerd and use its socket, or sshd in front of it",
    )
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if sum(bool(x) for x in (args.url, args.ssh_url, args.test_engine)) > 1:
        ap.error("give one of --url, --ssh-url, --test-engine")
    with contextlib.ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="vmuser-bench-"))
        stack.callback(shutil.rmtree, tmp, True)
        return run(args, engine_url(args, stack, tmp), tmp)


def run(args: argparse.Namespace, url: str, tmp: Path) -> int:
    db = Database(tmp / "vm.db")
    store = ObjectStore(db)
    local = tmp / "w"
    build_tree(local, args.files)
    runtime = DockerRuntime(url, timeout=120)
    ws = EngineWorkspace(runtime, "bench" + uuid.uuid4().hex[:8])
    rows: dict[str, dict[str, list[tuple[float, int]]]] = {}

    def note(op: str, side: str, ms: float, read: int) -> None:
        rows.setdefault(op, {}).setdefault(side, []).append((ms, read))

    try:
        ws.ensure()
        ms, _ = timed(lambda: ws.exec(["true"]))
        execs = [timed(lambda: ws.exec(["true"]))[0] for _ in range(10)]
        print(f"engine {runtime.url}: one exec in the helper {statistics.median(execs):.0f} ms")
        ws.put_archive("/workspace", tar_of(local))
        edits = [f"d{i % 100:02d}/f{i:05d}.txt" for i in range(0, args.files, max(1, args.files // 10))][:10]
        for run in range(args.runs):
            lp, ep = f"l{run}", f"e{run}"
            ms, r = timed(lambda lp=lp: cap.capture(db, store, lp, local))
            note("first", "local", ms, r.hashed_files)
            ms, r = timed(lambda ep=ep: capture_engine(db, store, ep, ws))
            note("first", "engine", ms, r.hashed_files)
            time.sleep(2.1)  # past the racy window: the next captures store clean rows
            before_l = cap.capture(db, store, lp, local)
            before_e = capture_engine(db, store, ep, ws)
            assert before_l.root == before_e.root, "engine and local captures differ"
            ms, r = timed(lambda lp=lp: cap.capture(db, store, lp, local))
            note("nochange", "local", ms, r.hashed_files)
            ms, r = timed(lambda ep=ep: capture_engine(db, store, ep, ws))
            note("nochange", "engine", ms, r.hashed_files)
            for rel in edits:
                with open(local / rel, "ab") as f:
                    f.write(f"edit {run}\n".encode())
            script = "".join(f"echo 'edit {run}' >> '{rel}'; " for rel in edits)
            ws.exec(["sh", "-c", script])
            ms, r = timed(lambda lp=lp: cap.capture(db, store, lp, local))
            note("edit10", "local", ms, r.hashed_files)
            ms, r = timed(lambda ep=ep: capture_engine(db, store, ep, ws))
            note("edit10", "engine", ms, r.hashed_files)

            def restore_local(lp=lp, before_l=before_l):
                _, _, found = cap.live_tree(db, lp, local)
                plan = rs.plan(dict(store.walk(before_l.root)), found.flat)
                return rs.apply(store, local, plan)

            def restore_engine(ep=ep, before_e=before_e):
                _, _, found = live_tree_engine(db, ep, ws)
                plan = rs.plan(dict(store.walk(before_e.root)), found.flat)
                return apply_engine(store, ws, plan)

            ms, r = timed(restore_local)
            note("restore", "local", ms, r.written)
            ms, r = timed(restore_engine)
            note("restore", "engine", ms, r.written)
        print(f"tree: {args.files:,} files in 100 folders; median of {args.runs} runs\n")
        print(f"| {'operation':<9} | {'local':>9} | {'engine':>9} | {'ratio':>6} | files read (local/engine) |")
        print(f"|{'-' * 11}|{'-' * 11}|{'-' * 11}|{'-' * 8}|{'-' * 27}|")
        for op, sides in rows.items():
            lm = statistics.median(ms for ms, _ in sides["local"])
            em = statistics.median(ms for ms, _ in sides["engine"])
            lr, er = sides["local"][-1][1], sides["engine"][-1][1]
            print(f"| {op:<9} | {lm:>6.0f} ms | {em:>6.0f} ms | {em / max(lm, 0.001):>6.1f} | {lr:>11,} / {er:<11,} |")
        print("\n(restore: files written)")
    finally:
        ws.remove()
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
