"""``vmuser session logs`` against the real engine (issue 13, item 5): ``-f`` streams a line
printed after the command started and ends on Ctrl-C (130, no traceback) or when the
container stops; ``--since``, ``--tail`` and ``--timestamps`` filter as ``docker logs`` does.

What PID 1 of the container writes is its output (``docker logs``): the tests write there
with ``echo ... > /proc/1/fd/1`` (or ``/fd/2`` for stderr) through ``session exec``.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.docker

PY = [sys.executable, "-m", "vmuser_tui"]
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ")


@pytest.fixture
def dock(cli_env, tmp_path, docker_projects):
    """``(run, session id)``: a CLI runner and a running container session."""
    env = dict(cli_env, VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_DOCKER_IMAGE="vmuser-busybox:local")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([*PY, *args], env=env, capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL, check=False)
        if check:
            assert r.returncode == 0, r.stderr
        return r

    pid = run("project", "create", "logs").stdout.strip()
    docker_projects[1].append(pid)
    sid = run("session", "start", pid).stdout.strip()
    run.env = env  # type: ignore[attr-defined]
    yield run, sid
    run("session", "stop", sid, check=False)


def say(run, sid: str, text: str, fd: int = 1) -> None:
    run("session", "exec", sid, "--", "sh", "-c", f"echo {text} > /proc/1/fd/{fd}")


def test_follow_streams_a_line_printed_after_it_started_and_ends_on_ctrl_c(dock):
    run, sid = dock
    say(run, sid, "before")
    follower = subprocess.Popen([*PY, "session", "logs", sid, "-f", "--tail", "all"], env=run.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert follower.stdout.readline() == "before\n"  # what was there: the stream is open now
        say(run, sid, "after")  # printed while `logs -f` runs
        assert follower.stdout.readline() == "after\n"
        follower.send_signal(signal.SIGINT)
        out, err = follower.communicate(timeout=20)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 130
    assert "Traceback" not in err and err == ""


def test_follow_ends_when_the_container_stops(dock):
    run, sid = dock
    say(run, sid, "last words")
    follower = subprocess.Popen([*PY, "session", "logs", sid, "--follow"], env=run.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert follower.stdout.readline() == "last words\n"
        run("session", "stop", sid)
        out, err = follower.communicate(timeout=30)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err
    assert "Traceback" not in err


def test_tail_since_and_timestamps_filter(dock):
    run, sid = dock
    for n in range(1, 6):
        say(run, sid, f"line{n}")
    say(run, sid, "oops", fd=2)
    every = run("session", "logs", sid, "--tail", "all")
    assert every.stdout.split() == ["line1", "line2", "line3", "line4", "line5"]
    assert every.stderr == "oops\n"  # stderr stays on stderr
    assert run("session", "logs", sid, "--tail", "3").stdout.split() == ["line4", "line5"]  # + oops on stderr
    assert run("session", "logs", sid, "--tail", "0").stdout == ""
    stamped = run("session", "logs", sid, "--tail", "2", "--timestamps")
    assert STAMP.match(stamped.stdout) and stamped.stdout.rstrip().endswith("line5")
    assert STAMP.match(stamped.stderr) and stamped.stderr.rstrip().endswith("oops")
    # --since: an age, then an RFC 3339 time taken after the first lines
    assert run("session", "logs", sid, "--since", "10m").stdout.split()[0] == "line1"
    time.sleep(1.1)
    cut = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time()))
    time.sleep(1.1)
    say(run, sid, "fresh")
    assert run("session", "logs", sid, "--since", cut, "--tail", "all").stdout.split() == ["fresh"]
    assert run("session", "logs", sid, "--since", "2030-01-01T00:00:00+00:00").stdout == ""


def test_logs_of_a_kept_stopped_container_stay_readable(dock, tmp_path):
    run, sid = dock
    say(run, sid, "kept")
    cfg = tmp_path / "keep.toml"
    cfg.write_text("[runtime]\nkeep_stopped = true\n")
    env = dict(run.env, VMUSER_CONFIG=str(cfg))
    r = subprocess.run([*PY, "session", "stop", sid], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*PY, "session", "logs", sid], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout == "kept\n", r.stderr
    r = subprocess.run([*PY, "session", "rm", sid, "--yes"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
