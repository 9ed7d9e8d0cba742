"""Exec round trip to a container: local engine, a second engine's socket, the same over ssh.

    python benchmarks/engine_exec.py [--runs 20]     # as root, with dockerd, unshare, sshd

Starts the test engines of tests/engines.py (a dockerd in its own namespaces, sshd on
127.0.0.1 in front of it), runs one busybox container on the local engine and one on the
second, and times ``exec_run(["true"])`` (create + start + inspect: three API requests) and
``ping`` over: the local socket, the second engine's socket, and vmuser's ssh tunnel
(core/runtime/ssh_tunnel.py) to that same engine. Prints median / p90 / min in ms.
Everything it starts is stopped by pid; the containers are removed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import docker  # noqa: E402
from engines import dispose, start_engine, start_sshd  # noqa: E402

from vmuser_tui.core.runtime.images import FALLBACK_IMAGE, build_busybox_image  # noqa: E402
from vmuser_tui.core.runtime.ssh_tunnel import SshTunnel  # noqa: E402


def _times(fn: Any, runs: int) -> list[float]:
    fn()  # warm-up: connection pool, first exec
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _row(route: str, what: str, ms: list[float]) -> str:
    p90 = sorted(ms)[max(0, int(len(ms) * 0.9) - 1)]
    return f"| {route:<22} | {what:<13} | {statistics.median(ms):7.1f} | {p90:7.1f} | {min(ms):7.1f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    try:
        engine = start_engine()
    except BaseException as err:  # pytest.skip/fail outside pytest
        print(f"cannot start the second engine: {err}", file=sys.stderr)
        return 1
    name = f"vmuser-bench-{uuid.uuid4().hex[:8]}"
    made: list[tuple[Any, Any]] = []
    sshd = tunnel = None
    run_dir = Path(tempfile.mkdtemp(prefix="vb-", dir="/tmp"))
    try:
        sshd = start_sshd(engine.socket)
        tunnel = SshTunnel(
            "bench", f"{sshd.target}:{sshd.port}", engine.socket,
            runtime_dir=run_dir / "run", ssh_options=sshd.ssh_options,
        )  # fmt: skip
        local = docker.from_env(timeout=60)
        second = docker.DockerClient(base_url=engine.url, timeout=60)
        for client in (local, second):
            if not client.images.list(name=FALLBACK_IMAGE):
                build_busybox_image(client)
            box = client.containers.run(
                FALLBACK_IMAGE, ["sleep", "3600"], name=name, detach=True, network_mode="none",
                labels={"vmuser.bench": "1"},
            )  # fmt: skip
            made.append((client, box))
        started = time.perf_counter()
        path = tunnel.ensure()
        tunnel_ms = (time.perf_counter() - started) * 1000
        over_ssh = docker.DockerClient(base_url="unix://" + path, timeout=60)
        routes = [
            ("local socket", local, made[0][1].id),
            ("second engine socket", second, made[1][1].id),
            ("ssh tunnel (same)", over_ssh, made[1][1].id),
        ]
        print(
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}; "
            f"docker {local.version()['Version']}; {args.runs} runs per figure (after 1 warm-up)"
        )
        print(f"ssh tunnel start (ssh + auth + forward + /_ping): {tunnel_ms:.0f} ms\n")
        print("| route                  | call          |  median |     p90 |     min |")
        print("|------------------------|---------------|---------|---------|---------|")
        for route, client, cid in routes:
            box = client.containers.get(cid)
            print(_row(route, "exec true", _times(lambda b=box: b.exec_run(["true"]), args.runs)))
            print(_row(route, "ping", _times(client.ping, args.runs)))
        over_ssh.close()
    finally:
        for client, box in made:
            box.remove(force=True)
            if client is not made[0][0]:
                client.close()
        if tunnel is not None:
            tunnel.close()
        if sshd is not None:
            sshd.stop()
        dispose(engine)
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
