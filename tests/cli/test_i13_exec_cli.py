"""`vmuser session exec` as `docker exec` (issue 13, item 4), the real command on a real engine:
output through a pipe as it comes, stderr on stderr, stdin with -i, -d, -w, -e, -u, ctrl-c
passed on, the exit code, and the log and metrics of each run.

Timing is asserted by order: a line read from the pipe while the process still runs, before
the next one was printed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

PY = [sys.executable, "-m", "vmuser_tui"]


class World:
    def __init__(self, root: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_") or k == "VMUSER_DOCKER_BASE_URL"}
        self.env.update(VMUSER_DATA_DIR=str(root / "data"), VMUSER_CONFIG=str(root / "none.toml"))
        self.pid = self.ok("project", "create", "execs")
        self.sid = self.ok("session", "start", self.pid, "--image", "vmuser-busybox:local")
        self.ws = Path(json.loads(self.ok("project", "show", self.pid, "--json"))["workspace"])

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run([*PY, *args], env=self.env, capture_output=True, timeout=120, **kwargs)

    def ok(self, *args: str) -> str:
        r = self.run(*args)
        assert r.returncode == 0, r.stderr.decode()
        return r.stdout.decode().strip()

    def exec(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run("session", "exec", *args, **kwargs)

    def popen(self, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen([*PY, "session", "exec", *args], env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)

    def processes(self) -> str:
        return self.exec(self.sid, "--", "ps", "-o", "pid,args").stdout.decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory, docker_available):
    w = World(tmp_path_factory.mktemp("exec-cli"))
    yield w
    w.run("session", "stop", w.sid)


def test_first_line_arrives_while_the_command_still_runs(world):
    # the issue's own example: `first` shows at once, not with `second` four seconds later
    proc = world.popen(world.sid, "--", "sh", "-c", "echo first; sleep 4; echo second")
    try:
        assert proc.stdout.readline() == b"first\n"
        assert proc.poll() is None  # still running: `second` is not printed yet
        assert proc.stdout.read() == b"second\n"
        assert proc.wait(30) == 0
    finally:
        proc.kill()


def test_streaming_by_order_and_the_exit_code(world):
    # the command cannot end before the test has read `first` and only then creates /workspace/go
    (world.ws / "go").unlink(missing_ok=True)
    proc = world.popen(world.sid, "--", "sh", "-c",
                       "echo first; while [ ! -e /workspace/go ]; do sleep 0.05; done; echo second; exit 9")
    try:
        assert proc.stdout.readline() == b"first\n"
        assert proc.poll() is None
        (world.ws / "go").write_text("")
        assert proc.stdout.read() == b"second\n"
        assert proc.wait(30) == 9
    finally:
        proc.kill()
        (world.ws / "go").unlink(missing_ok=True)


def test_a_reader_that_goes_away_stops_the_command(world):
    # `| head -2`: the pipe breaks; the command is stopped, vmuser exits, nothing is left running
    # (an exec stream nobody drains would also hold up every later exec of the container)
    r = subprocess.run(f"{' '.join(PY)} session exec {world.sid} -- yes | head -2", shell=True, env=world.env,
                       capture_output=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"y\ny\n", b"")
    assert " yes" not in world.processes()


def test_stderr_stays_on_stderr(world):
    r = world.exec(world.sid, "--", "sh", "-c", "echo out; echo err >&2; echo out2")
    assert r.returncode == 0
    assert r.stdout == b"out\nout2\n" and r.stderr == b"err\n"


def test_stdin_with_i(world):
    r = subprocess.run(f"echo x | {' '.join(PY)} session exec -i {world.sid} -- cat", shell=True, env=world.env,
                       capture_output=True, timeout=120)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"x\n", b"")
    big = os.urandom(300_000)  # more than any pipe or socket buffer holds at once
    r = world.exec("-i", world.sid, "--", "sh", "-c", "cat; echo end >&2", stdin=None, input=big)
    assert r.returncode == 0 and r.stdout == big and r.stderr == b"end\n"
    r = world.exec(world.sid, "--", "cat", stdin=None, input=b"ignored\n")  # without -i: no stdin
    assert r.returncode == 0 and r.stdout == b""


def test_detach_workdir_env_user(world):
    r = world.exec("-d", world.sid, "--", "sh", "-c", "sleep 0.3; echo bg > /workspace/bg.txt; sleep 7")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    assert "sleep 7" in world.processes()  # the exec returned; the command runs on
    r = world.exec(world.sid, "--", "sh", "-c", "while [ ! -e bg.txt ]; do sleep 0.05; done; cat bg.txt")
    assert r.stdout == b"bg\n"
    r = world.exec("-w", "/tmp", "-e", "A=1", "-e", "B=two=2", "-e", "EMPTY=", "-u", "0", world.sid, "--",
                   "sh", "-c", 'pwd; echo "$A $B [$EMPTY]"; id -u')
    assert (r.returncode, r.stdout.decode(), r.stderr) == (0, "/tmp\n1 two=2 []\n0\n", b"")
    r = world.exec("-u", "nobody-here", world.sid, "--", "true")
    assert r.returncode == 126 and b"nobody-here" in r.stdout + r.stderr  # the engine's words, its code


def test_sigint_is_passed_to_the_command(world):
    proc = world.popen(world.sid, "--", "sh", "-c",
                       "trap 'echo got-int; exit 3' INT; echo ready; while :; do sleep 0.1; done")
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.read() == b"got-int\n"
        assert proc.wait(30) == 3
    finally:
        proc.kill()
    # a command that goes on after SIGINT: a second ctrl-c stops it
    proc = world.popen(world.sid, "--", "sh", "-c",
                       "trap 'echo still-here' INT; echo ready; while :; do sleep 0.1; done; echo x-sleeps")
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline() == b"still-here\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 143  # SIGTERM, the cancel's first signal
    finally:
        proc.kill()
    assert "x-sleeps" not in world.processes() and "still-here" not in world.processes()


def test_every_exec_is_logged_and_counted(world):
    before = json.loads(world.ok("session", "show", world.sid, "--json"))["metrics"]["commands_run"]
    world.exec("-e", "API_TOKEN=s3cr3t-value", world.sid, "--", "true")
    world.exec("-d", world.sid, "--", "true")
    world.exec(world.sid, "--", "sh", "-c", "exit 4")
    after = json.loads(world.ok("session", "show", world.sid, "--json"))["metrics"]["commands_run"]
    assert after == before + 3
    entries = json.loads(world.ok("log", "--json", "--operation", "session.exec", "--limit", "3"))
    assert [e["details"]["exit_code"] for e in entries] == [4, None, 0]
    assert entries[1]["details"]["detached"] is True
    assert entries[2]["details"]["env_names"] == ["API_TOKEN"]
    assert "s3cr3t-value" not in world.ok("log", "--json")
