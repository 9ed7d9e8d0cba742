"""The streaming exec on a real engine (issue 13, item 4), through the service facade:
output handed on while the command runs, stderr apart, stdin to EOF, a TTY, detach,
-w/-e/-u, a cancel that really stops the processes in the container, and the operation
log and metrics as for every exec.

Streaming is shown by order, not by the clock: the command prints, then waits for a file
the test creates only after it has seen that output."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from vmuser_tui.core import metrics, oplog
from vmuser_tui.core.errors import StateError, UsageError
from vmuser_tui.core.runtime.exec_control import ExecControl

pytestmark = pytest.mark.docker

WAIT_FOR_GO = "echo first; while [ ! -e /workspace/go ]; do sleep 0.05; done; echo second"


class Sink:
    """Collects output per stream; ``seen(text)`` waits until it came."""

    def __init__(self) -> None:
        self.chunks: list[tuple[str, bytes]] = []
        self.changed = threading.Condition()

    def __call__(self, stream: str, data: bytes) -> None:
        with self.changed:
            self.chunks.append((stream, data))
            self.changed.notify_all()

    def text(self, stream: str = "stdout") -> str:
        return b"".join(d for s, d in self.chunks if s == stream).decode()

    def seen(self, text: str, stream: str = "stdout", timeout: float = 20) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: text in self.text(stream), timeout)


@pytest.fixture
def running(vm, docker_projects):
    """``(vm, session, workspace)``: a project with a running Docker session."""
    p = vm.projects.create("streaming")
    docker_projects[1].append(p.id)
    s = vm.sessions.start(p.id).session
    yield vm, s, Path(p.workspace)


def in_background(fn):
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            result["error"] = err

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def processes(vm, session) -> str:
    return vm.sessions.exec(session.id, ["ps", "-o", "pid,args"]).output.decode()


def test_output_arrives_while_the_command_runs_and_stderr_stays_apart(running):
    vm, s, ws = running
    sink = Sink()
    t, result = in_background(lambda: vm.sessions.exec_stream(
        s.id, ["sh", "-c", f"echo oops >&2; {WAIT_FOR_GO}; exit 5"], on_output=sink))
    assert sink.seen("first\n")  # the command cannot end before /workspace/go exists
    assert t.is_alive() and "second" not in sink.text()
    (ws / "go").write_text("")
    t.join(20)
    outcome = result["value"]
    assert outcome.exit_code == 5 and not outcome.cancelled
    assert sink.text() == "first\nsecond\n" and sink.text("stderr") == "oops\n"


def test_stdin_is_forwarded_and_its_end_ends_cat(running):
    vm, s, _ = running
    r, w = os.pipe()
    os.write(w, b"x\ny\n")
    os.close(w)
    sink = Sink()
    outcome = vm.sessions.exec_stream(s.id, ["cat"], on_output=sink, stdin=True, stdin_fd=r)
    os.close(r)
    assert outcome.exit_code == 0 and sink.text() == "x\ny\n"


def test_workdir_env_user_and_tty(running):
    vm, s, _ = running
    sink = Sink()
    outcome = vm.sessions.exec_stream(s.id, ["sh", "-c", 'pwd; echo "$GREETING $EMPTY."; id -u; tty'],
                                      on_output=sink, workdir="/tmp", env={"GREETING": "hello", "EMPTY": ""},
                                      user="0")
    assert outcome.exit_code == 1  # `tty` without one says "not a tty"
    assert sink.text() == "/tmp\nhello .\n0\nnot a tty\n"
    # a TTY: its size is set before any stdin is sent, so after `read` it is there; the
    # pipe's EOF is typed as ^D, which ends `cat` (a half-close would end a TTY's output)
    r, w = os.pipe()
    os.write(w, b"go\nto cat\n")
    os.close(w)
    sink = Sink()
    outcome = vm.sessions.exec_stream(s.id, ["sh", "-c", "read x; tty; stty size; cat; echo end"], on_output=sink,
                                      tty=True, size=(33, 111), stdin=True, stdin_fd=r)
    os.close(r)
    assert outcome.exit_code == 0
    text = sink.text()
    assert "/dev/pts/" in text and "33 111\r\n" in text and text.endswith("end\r\n")  # a TTY's CR LF


def test_detached_returns_at_once_and_the_command_goes_on(running):
    vm, s, ws = running
    sink = Sink()
    outcome = vm.sessions.exec_stream(s.id, ["sh", "-c", "sleep 0.5; echo done > /workspace/bg"],
                                      on_output=sink, detach=True)
    assert outcome.detached and outcome.exit_code is None and sink.chunks == []
    assert "sleep 0.5" in processes(vm, s)  # started, still running after the call returned
    done = vm.sessions.exec(s.id, ["sh", "-c", "while [ ! -e /workspace/bg ]; do sleep 0.05; done; cat bg"])
    assert done.output == b"done\n"


def test_cancel_stops_the_whole_command_in_the_container(running):
    vm, s, _ = running
    sink = Sink()
    control = ExecControl()
    # the shell forks `sleep 777`: a cancel must reach the child too, not only the shell
    t, result = in_background(lambda: vm.sessions.exec_stream(
        s.id, ["sh", "-c", "echo started; sleep 777; echo never"], on_output=sink, control=control))
    assert sink.seen("started\n")
    assert "sleep 777" in processes(vm, s)
    control.cancel()
    t.join(20)
    assert not t.is_alive()
    outcome = result["value"]
    assert outcome.cancelled and outcome.signal == "TERM" and outcome.exit_code == 143
    assert "never" not in sink.text()
    assert "sleep 777" not in processes(vm, s)


def test_an_interrupt_is_sigint_and_a_command_that_ignores_sigterm_is_killed(running):
    vm, s, _ = running
    sink = Sink()
    control = ExecControl()
    # ctrl-c (interrupt): SIGINT to the command, which may trap it and go on
    t, result = in_background(lambda: vm.sessions.exec_stream(
        s.id, ["sh", "-c", "trap 'echo got INT' INT; trap '' TERM; echo started; while :; do sleep 0.1; done"],
        on_output=sink, control=control))
    assert sink.seen("started\n")
    control.interrupt()
    assert sink.seen("got INT\n") and t.is_alive()
    control.cancel()  # TERM is ignored: KILL follows
    t.join(30)
    outcome = result["value"]
    assert outcome.cancelled and outcome.signal == "KILL" and outcome.exit_code == 137


def test_each_exec_is_logged_with_env_names_only_and_counted(running):
    vm, s, _ = running
    before = metrics.get(vm.db, s.id).commands_run
    vm.sessions.exec_stream(s.id, ["true"], on_output=Sink(), env={"API_TOKEN": "s3cr3t-value", "MODE": "dev"},
                            workdir="/tmp", user="0")
    vm.sessions.exec_stream(s.id, ["sleep", "1"], on_output=Sink(), detach=True)
    assert metrics.get(vm.db, s.id).commands_run == before + 2
    detached, run = oplog.entries(vm.db, operation="session.exec", limit=2)
    assert run["details"] == {"command": ["true"], "exit_code": 0, "duration_ms": run["details"]["duration_ms"],
                              "env_names": ["API_TOKEN", "MODE"], "workdir": "/tmp", "user": "0"}
    assert detached["details"]["detached"] is True and detached["details"]["exit_code"] is None
    raw = vm.db.query_one("SELECT group_concat(details) AS d FROM operation_log")["d"]
    assert "s3cr3t-value" not in raw and '"dev"' not in raw


def test_bad_input_and_a_paused_container_are_refused_and_not_logged(running):
    vm, s, _ = running
    count = len(oplog.entries(vm.db, operation="session.exec"))
    with pytest.raises(UsageError, match="relative"):
        vm.sessions.exec_stream(s.id, ["true"], on_output=Sink(), workdir="src")
    with pytest.raises(UsageError, match="not a variable name"):
        vm.sessions.exec_stream(s.id, ["true"], on_output=Sink(), env={"BAD NAME": "x"})
    rt = vm.ctx.runtime("docker")
    rt.pause(s.container_id)
    try:
        with pytest.raises(StateError, match="paused.*resume"):
            vm.sessions.exec_stream(s.id, ["true"], on_output=Sink())
    finally:
        rt.unpause(s.container_id)
    assert len(oplog.entries(vm.db, operation="session.exec")) == count
