"""`vmuser checkpoint rm` and `vmuser checkpoint annotate` (issue 13, "the edits users miss"),
run as a user runs them: the real command in a subprocess on a temp data dir, its
confirmation answered on a real terminal (a pty)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    e.update(VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "config.toml"))
    return e


def run(env, *args, stdin=subprocess.DEVNULL):
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, text=True,
                          timeout=120, stdin=stdin)


def ok(env, *args) -> str:
    r = run(env, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture
def timeline(env):
    """``(project id, [A, B, C])``: three checkpoints in a row, C the head."""
    pid = ok(env, "project", "create", "web").strip()
    ws = Path(json.loads(ok(env, "project", "show", pid, "--json"))["workspace"])
    ids = []
    for n in range(3):
        (ws / "f.txt").write_text(f"{n}\n")
        ids.append(ok(env, "checkpoint", "create", pid, "-m", f"step {n}").strip())
    return pid, ids


def listed(env, pid: str, *extra: str) -> list[dict]:
    return json.loads(ok(env, "checkpoint", "list", pid, "--json", *extra))


def on_terminal(env, args: list[str], answer: bytes) -> tuple[int, str]:
    """Run vmuser with a pty as its terminal; once it asks ``[y/N]``, type ``answer``.
    Returns (exit code, everything it wrote)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "vmuser_tui", *args], env=env, stdin=slave, stdout=slave,
                            stderr=slave, close_fds=True)
    os.close(slave)
    out = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        if not answered and b"[y/N]" in out:
            os.write(master, answer)
            answered = True
        if proc.poll() is not None and not ready:
            break
    code = proc.wait(timeout=30)
    os.close(master)
    return code, out.decode(errors="replace")


def test_rm_asks_on_a_terminal_names_what_goes_and_removes_on_yes(env, timeline):
    pid, (a, b, c) = timeline
    code, out = on_terminal(env, ["checkpoint", "rm", b], b"y\n")
    assert code == 0, out
    assert b in out and "step 1" in out and f"{c} re-parents to {a}" in out and "vmuser gc" in out
    assert "Remove 1 checkpoint(s)? [y/N]" in out
    assert [x["id"] for x in listed(env, pid)] == [c, a]
    assert json.loads(ok(env, "checkpoint", "show", c, "--json"))["parent_id"] == a


def test_rm_answered_no_removes_nothing(env, timeline):
    pid, (_a, b, _c) = timeline
    code, out = on_terminal(env, ["checkpoint", "rm", b], b"n\n")
    assert code == 1 and "nothing removed" in out
    assert len(listed(env, pid)) == 3


def test_rm_yes_json_and_one_log_entry(env, timeline):
    pid, (a, b, c) = timeline
    r = run(env, "checkpoint", "rm", a, b[:6], "--yes", "--json")  # a prefix is enough
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [x["id"] for x in doc["removed"]] == [a, b]
    assert doc["reparented"] == {c: None} and doc["heads"] == {}
    assert "vmuser gc" in doc["note"]
    log = json.loads(ok(env, "log", "--project", pid, "--operation", "checkpoint.rm", "--json"))
    assert len(log) == 1 and log[0]["details"]["checkpoints"] == [a, b]
    # gc frees their data afterwards
    gc = json.loads(ok(env, "gc", "--json"))
    assert gc["blobs"] >= 1


def test_rm_of_the_head_needs_force_and_moves_the_head(env, timeline):
    pid, (_a, b, c) = timeline
    r = run(env, "checkpoint", "rm", c, "--yes")
    assert r.returncode == 1 and "is the head of project" in r.stderr and "--force" in r.stderr
    assert len(listed(env, pid)) == 3
    r = run(env, "checkpoint", "rm", c, "--yes", "--force")
    assert r.returncode == 0, r.stderr
    assert f"head moved to {b}" in r.stdout
    assert json.loads(ok(env, "project", "show", pid, "--json"))["head_checkpoint_id"] == b


def test_annotate_with_tags_filter_show_and_remove(env, timeline):
    pid, (a, b, _c) = timeline
    r = run(env, "checkpoint", "annotate", a, "--label", "tests pass", "--note", "212 green", "--tag", "ci",
            "--tag", "green")
    assert r.returncode == 0, r.stderr
    assert "annotated 'tests pass'" in r.stdout
    ok(env, "checkpoint", "annotate", b, "--label", "deployed", "--tag", "staging")
    assert [x["id"] for x in listed(env, pid, "--annotation-tag", "ci")] == [a]
    assert [x["id"] for x in listed(env, pid, "--annotation-tag", "staging")] == [b]
    shown = ok(env, "checkpoint", "show", a)
    assert "tests pass [ci,green]: 212 green" in shown
    [note] = json.loads(ok(env, "checkpoint", "show", a, "--json"))["annotations"]
    assert note["tags"] == ["ci", "green"] and note["note"] == "212 green"
    r = run(env, "checkpoint", "annotate", a, "--remove", "tests pass")
    assert r.returncode == 0 and "removed" in r.stdout
    assert listed(env, pid, "--annotation-tag", "ci") == []
    log = json.loads(ok(env, "log", "--project", pid, "--operation", "checkpoint.annotate", "--json"))
    assert [e["details"]["action"] for e in log] == ["remove", "add", "add"]
    assert all("212 green" not in json.dumps(e) for e in log)  # the note stays out of the log


def test_rm_and_annotate_are_listed_in_help(env):
    out = ok(env, "checkpoint", "--help")
    assert "rm" in out and "annotate" in out
    out = ok(env, "checkpoint", "rm", "--help")
    assert "--force" in out and "gc" in out
