"""Bad input to ``vmuser session exec``'s new options (issue 13, item 4), as one table in the
style of tests/test_bad_input.py: the real command in a subprocess, exactly one line on
stderr, no traceback, the exit code, the words of the message, and no exec logged or
counted. Every row is refused before any engine is asked, so a workspace-only session
(runtime none) is enough."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

PY = [sys.executable, "-m", "vmuser_tui"]

# fmt: off
ROWS = [
    ("env-without-equals", "-e BAD {S} -- true", 2, "vmuser: error: -e 'BAD' has no '=': give NAME=VALUE"),
    ("env-bad-name", "-e 1X=a {S} -- true", 2, "'1X' is not a variable name"),
    ("env-empty-name", "-e =a {S} -- true", 2, "'' is not a variable name"),
    ("workdir-relative", "-w src {S} -- true", 2, "-w 'src' is relative: give an absolute path in the container"),
    ("detach-with-stdin", "-d -i {S} -- true", 2, "cannot read your stdin: drop -i or -d"),
    ("tty-and-no-tty", "-t -T {S} -- true", 2, "argument -T/--no-tty: not allowed with argument -t/--tty"),
    ("option-after-session", "{S} -e A=1 -- true", 2, "option -e after the session: options go before it"),
    ("no-command", "-i {S} --", 2, "give the command after --"),
]
# fmt: on


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("exec-bad-input")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(root / "data"), VMUSER_CONFIG=str(root / "none.toml"))

    def ok(*args: str) -> str:
        r = subprocess.run([*PY, *args], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    pid = ok("project", "create", "bad")
    sid = ok("session", "start", pid, "--runtime", "none")
    return env, sid, ok


@pytest.mark.parametrize(("argv", "code", "message"), [pytest.param(*r[1:], id=r[0]) for r in ROWS])
def test_exec_bad_input(world, argv, code, message):
    env, sid, ok = world
    logged = len(json.loads(ok("log", "--json", "--operation", "session.exec")))
    r = subprocess.run([*PY, "session", "exec", *shlex.split(argv.format(S=sid))], env=env, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == code, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert message in lines[0]
    assert len(json.loads(ok("log", "--json", "--operation", "session.exec"))) == logged
    assert json.loads(ok("session", "show", sid, "--json"))["metrics"]["commands_run"] == 0
