"""Hostile names through the real CLI (issue 11, case 12): a file name, a checkpoint message or
a project description holding ``ESC ]0;…BEL``, ``ESC [2J``, a newline, a C1 control or a bidi
override is shown escaped on one line by every command, and never reaches the terminal raw;
``--json`` keeps the exact text, escaped by JSON itself."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# what must never reach a terminal raw: C0 but LF, DEL, C1, the bidi embeddings/overrides/isolates
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
FILE = f"evil{CLEAR}.txt"
BIDI = "invoice\u202etxt.exe"
SPLIT = "line1\nline2.txt"
MESSAGE = f"msg {TITLE} {CLEAR}"
DESCRIPTION = f"desc {TITLE}\x9b2J [bold red]x"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("escapes")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(root / "data"), VMUSER_CONFIG=str(root / "none.toml"))

    def run(*args, ok=True):
        r = subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, timeout=120,
                           check=False)
        if ok:
            assert r.returncode == 0, r.stderr
        return r

    ws = root / "ws"
    ws.mkdir()
    (ws / "plain.txt").write_text("1\n")
    pid = run("project", "create", "hostile", "--workspace", str(ws), "--description", DESCRIPTION).stdout.decode().strip()
    first = run("checkpoint", "create", pid, "-m", "first").stdout.decode().strip()
    for name in (FILE, BIDI, SPLIT):
        (ws / name).write_text("x\n")
    return run, pid, first, ws


def shown(r) -> str:
    """stdout and stderr as a terminal gets them, after checking no control byte is there."""
    out, err = r.stdout.decode(), r.stderr.decode()
    assert not CONTROL.search(out), out
    assert not CONTROL.search(err), err
    return out + err


def test_checkpoint_create_names_skipped_files_escaped_on_one_line(hostile):
    run, pid, _, _ = hostile
    r = run("checkpoint", "create", pid, "-m", MESSAGE)
    text = shown(r)
    assert "vmuser: skipped line1\\nline2.txt: " in text  # one line, not two
    assert "vmuser: skipped evil\\x1b[2J.txt: " in text
    assert all(line.startswith("vmuser: ") or re.fullmatch(r"[0-9a-f]{10}", line) for line in text.splitlines())


def test_checkpoint_list_shows_the_message_escaped_and_json_keeps_it(hostile):
    run, pid, _, _ = hostile
    run("checkpoint", "create", pid, "-m", MESSAGE)
    text = shown(run("checkpoint", "list", pid))
    assert "msg \\x1b]0;pwned\\x07 \\x1b[2J" in text
    r = run("checkpoint", "list", pid, "--json")
    shown(r)  # JSON escapes control characters itself (\u001b)
    assert MESSAGE in [c["description"] for c in json.loads(r.stdout)]


def test_fs_ls_shows_names_escaped_one_per_line(hostile):
    run, pid, _, _ = hostile
    text = shown(run("fs", "ls", pid))
    lines = text.splitlines()
    assert len(lines) == 1 + 4  # the header and four files: the newline in a name split nothing
    assert any(line.endswith("evil\\x1b[2J.txt") for line in lines)
    assert any(line.endswith("invoice\\u202etxt.exe") for line in lines)
    assert any(line.endswith("line1\\nline2.txt") for line in lines)
    r = run("fs", "ls", pid, "--json")
    shown(r)
    assert {FILE, BIDI, SPLIT} <= {e["name"] for e in json.loads(r.stdout)}


def test_project_show_and_log_show_the_description_escaped(hostile):
    run, pid, _, _ = hostile
    text = shown(run("project", "show", pid))
    assert "description: desc \\x1b]0;pwned\\x07\\x9b2J [bold red]x" in text
    assert json.loads(run("project", "show", pid, "--json").stdout)["description"] == DESCRIPTION
    shown(run("log"))


def test_diff_names_files_escaped(hostile):
    """(Names with C0 controls are never captured, so only the bidi one can be in a diff.)"""
    run, _, first, _ = hostile
    text = shown(run("checkpoint", "diff", first, "--stat"))
    assert " A invoice\\u202etxt.exe | +1 -0" in text
    assert "invoice\\u202etxt.exe" in shown(run("checkpoint", "diff", first))
