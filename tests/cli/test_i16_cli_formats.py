"""Git-like conventions of the CLI (issue 16 item 5): diff exit codes and name lists,
--format json|table|csv on lists, `vmuser version`, `vmuser help`. Real processes, real SQLite."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ, VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "config.toml"))
    e.pop("VMUSER_DOCKER_BASE_URL", None)
    return e


def run(env, *args, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, input=stdin,
                          capture_output=True, timeout=120)


def ok(env, *args, stdin: bytes | None = None) -> str:
    r = run(env, *args, stdin=stdin)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


@pytest.fixture
def history(env, tmp_path):
    """Project 'Web App': C1 (a.txt, b.txt); C2: a.txt modified, b.txt renamed to b2.txt, c.txt added."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a\n")
    (src / "b.txt").write_text("b, a file long enough to be found again\n")
    pid = ok(env, "project", "create", "Web App", "--import", str(src)).strip()
    c1 = ok(env, "checkpoint", "create", pid, "-m", "first, with a comma", "--tag", "v1").strip()
    ok(env, "fs", "put", pid, "a.txt", "-", stdin=b"aa\n")
    ok(env, "fs", "mv", pid, "b.txt", "b2.txt")
    ok(env, "fs", "put", pid, "c.txt", "-", stdin=b"c\n")
    c2 = ok(env, "checkpoint", "create", pid, "-m", "second").strip()
    return pid, c1, c2


def test_diff_exit_code_and_name_lists_as_git(env, history):
    pid, c1, c2 = history
    r = run(env, "checkpoint", "diff", c1, c2, "--name-status")
    assert r.returncode == 0  # without --exit-code a diff succeeds, changes or not (as git)
    assert r.stdout.decode().splitlines() == ["M\ta.txt", "R100\tb.txt\tb2.txt", "A\tc.txt"]
    r = run(env, "checkpoint", "diff", c1, c2, "--name-only", "--exit-code")
    assert (r.returncode, r.stdout.decode().split()) == (1, ["a.txt", "b2.txt", "c.txt"])
    r = run(env, "checkpoint", "diff", c2, c2, "--exit-code")
    assert (r.returncode, r.stdout) == (0, b"")
    r = run(env, "checkpoint", "diff", "-q", c1, c2)
    assert (r.returncode, r.stdout, r.stderr) == (1, b"", b"")
    assert run(env, "checkpoint", "diff", "-q", c2).returncode == 0  # the workspace is at c2
    # --exit-code with --json: the JSON and the code (a script gets both)
    r = run(env, "checkpoint", "diff", c1, c2, "--json", "--exit-code")
    assert r.returncode == 1 and len(json.loads(r.stdout)["changes"]) == 3
    # errors under --exit-code exit 2, never 1 (1 means "different")
    r = run(env, "checkpoint", "diff", "--exit-code", "nope", c2)
    assert r.returncode == 2 and r.stderr.decode().count("\n") == 1 and b"no checkpoint matches" in r.stderr
    assert run(env, "checkpoint", "diff", "nope", c2).returncode == 1  # the CLI's usual 1 otherwise


def test_lists_print_csv_with_a_header_and_json_as_before(env, history):
    pid, c1, c2 = history
    rows = list(csv.reader(io.StringIO(ok(env, "checkpoint", "list", pid, "--format", "csv"))))
    assert rows[0] == ["ID", "CREATED", "KIND", "SESSION", "FILES", "SIZE", "TAGS", "DESCRIPTION"]
    assert [r[0] for r in rows[1:]] == [c2, c1] and rows[2][7] == "first, with a comma" and rows[2][6] == "v1"
    assert json.loads(ok(env, "checkpoint", "list", pid, "--format", "json")) == \
        json.loads(ok(env, "checkpoint", "list", pid, "--json"))
    assert ok(env, "checkpoint", "list", pid, "--format", "table").startswith("ID ")
    projects = list(csv.DictReader(io.StringIO(ok(env, "project", "list", "--format", "csv"))))
    assert [(p["ID"], p["NAME"]) for p in projects] == [(pid, "Web App")]
    files = list(csv.DictReader(io.StringIO(ok(env, "fs", "ls", pid, "--format", "csv"))))
    assert [f["NAME"] for f in files] == ["a.txt", "b2.txt", "c.txt"]
    log = list(csv.DictReader(io.StringIO(ok(env, "log", "--format", "csv", "--limit", "1"))))
    assert log[0]["OPERATION"] == "checkpoint.create" and json.loads(log[0]["DETAILS"])["checkpoint"] == c2
    # an empty list: the header alone (a script's csv reader still gets its columns)
    assert ok(env, "session", "list", "--format", "csv").splitlines() == \
        ["ID,PROJECT,STATUS,RUNTIME,IMAGE,STARTED,CHECKPOINTS,PORTS,ENGINE"]


def test_version_names_every_part_and_never_fails_on_the_engine(env):
    doc = json.loads(ok(env, "version", "--json"))
    assert list(doc) == ["vmuser", "python", "sqlite", "textual", "docker_sdk", "docker_engine"]
    import sqlite3

    import vmuser_tui

    assert doc["vmuser"] == vmuser_tui.__version__ and doc["sqlite"] == sqlite3.sqlite_version
    # an engine that does not answer: "unreachable", exit 0 (it is a bug report, not a command that needs it)
    r = run(dict(env, DOCKER_HOST="tcp://127.0.0.1:9"), "version")
    assert r.returncode == 0 and "docker engine: unreachable" in r.stdout.decode()
    assert not (os.path.exists(env["VMUSER_DATA_DIR"]))  # version opens no database


def test_help_command_is_the_commands_help(env):
    assert ok(env, "help", "checkpoint", "diff") == ok(env, "checkpoint", "diff", "--help")
    text = ok(env, "checkpoint", "diff", "--help")
    assert "--exit-code" in text and "R100" in text and "diff -q 1c0e || echo changed" in text
    assert "vmuser completion bash|zsh|fish" in ok(env, "--help")
    assert "source <(vmuser completion bash)" in ok(env, "completion", "--help")


def test_a_search_prints_csv_too(env, history):
    """`--search` lists in the format asked for, as the plain list does (it printed a table)."""
    pid, c1, c2 = history
    rows = list(csv.DictReader(io.StringIO(ok(env, "checkpoint", "list", pid, "--search", "comma", "--format", "csv"))))
    assert [(r["ID"], r["IN"]) for r in rows] == [(c1, "description")]
    log = list(csv.DictReader(io.StringIO(ok(env, "log", "--search", "second", "--format", "csv"))))
    assert [(r["OPERATION"], "«second»" in r["MATCH"]) for r in log] == [("checkpoint.create", True)]
