"""`vmuser session exec -t S -- sh` in a real terminal (tmux): an interactive shell in the
container, ctrl-c interrupts a `sleep` and the prompt is back at once, the window size is
the terminal's and follows a resize, the exit code comes back and the terminal is restored.
(issue 13, item 4)"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]

PY = [sys.executable, "-m", "vmuser_tui"]


def ok(env: dict[str, str], *args: str) -> str:
    r = subprocess.run([*PY, *args], env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


class Pane:
    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.name = f"i13exec-{uuid.uuid4().hex[:8]}"  # unique: other tests share the tmux server
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.startswith(("VMUSER_", "PYTHON")))
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "80", "-y", "24",
                        (f"env {exports} {command}; echo EXITED rc=$?; echo MODE $(stty -a | tr ' ;' '\\n\\n' | "
                         "grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '); sleep 60")], check=True)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True,
                              check=True).stdout

    def wait_for(self, text: str, timeout: float = 30, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(text) >= count:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"waited {timeout}s for {count}x {text!r}; the screen shows:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def session_env(tmp_path, docker_available):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_") or k == "VMUSER_DOCKER_BASE_URL"}
    env.update(VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "none.toml"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    pid = ok(env, "project", "create", "tty")
    sid = ok(env, "session", "start", pid, "--image", "vmuser-busybox:local")
    yield env, sid
    ok(env, "session", "stop", sid)


def test_an_interactive_shell_where_ctrl_c_interrupts_a_sleep(session_env):
    env, sid = session_env
    pane = Pane(f"{' '.join(PY)} session exec -t {sid} -- sh", env)
    try:
        pane.wait_for("/workspace $")
        pane.keys("stty size; echo $((6*7))", "Enter")
        screen = pane.wait_for("42")
        assert "24 80" in screen  # the terminal's size, set at start
        pane.keys("sleep 300; echo after-sleep", "Enter")
        pane.wait_for("sleep 300; echo after-sleep")
        time.sleep(0.5)  # the sleep is running in the container
        pane.keys("C-c")
        screen = pane.wait_for("/workspace $", count=3, timeout=5)  # the prompt is back at once
        assert "^C" in screen and "after-sleep\n" not in screen.replace("echo after-sleep", "")
        subprocess.run(["tmux", "resize-window", "-t", pane.name, "-x", "100", "-y", "30"], check=True)
        pane.keys("stty size", "Enter")
        pane.wait_for("30 100")  # SIGWINCH passed on
        pane.keys("exit 7", "Enter")
        screen = pane.wait_for("MODE ")
        assert "EXITED rc=7" in screen
        assert "MODE icanon echo" in screen  # the terminal is back in cooked mode (raw: -icanon -echo)
    finally:
        pane.close()
    r = subprocess.run([*PY, "log", "--json", "--operation", "session.exec", "--limit", "1"], env=env,
                       capture_output=True, text=True, check=True)
    [entry] = json.loads(r.stdout)
    assert entry["details"]["tty"] is True and entry["details"]["stdin"] is True and entry["details"]["exit_code"] == 7


def test_the_tty_is_the_default_on_a_terminal_and_t_capital_turns_it_off(session_env):
    env, sid = session_env
    pane = Pane(f"{' '.join(PY)} session exec {sid} -- tty", env)
    try:
        assert "/dev/pts/" in pane.wait_for("EXITED rc=0")
    finally:
        pane.close()
    pane = Pane(f"{' '.join(PY)} session exec -T {sid} -- tty", env)
    try:
        assert "not a tty" in pane.wait_for("EXITED rc=1")
    finally:
        pane.close()
