"""The `vmuser` command as scripts use it: real processes, real SQLite, exit codes, JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e.update(VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "config.toml"))
    e.pop("VMUSER_DOCKER_BASE_URL", None)
    return e


def run(env, *args, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, input=stdin,
                          capture_output=True, timeout=120)


def ok(env, *args, stdin: bytes | None = None) -> str:
    r = run(env, *args, stdin=stdin)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def test_project_checkpoint_diff_restore_cycle(env, tmp_path):
    src = tmp_path / "src"
    (src / "lib").mkdir(parents=True)
    (src / "lib" / "a.py").write_text("x = 1\n")
    (src / "run.sh").write_text("#!/bin/sh\necho run\n")
    os.chmod(src / "run.sh", 0o755)
    pid = ok(env, "project", "create", "Web App", "--import", str(src), "--tag", "client").strip()
    assert pid.startswith("web-app-") and len(pid) == len("web-app-") + 8
    listed = json.loads(ok(env, "project", "list", "--json"))
    assert [p["id"] for p in listed] == [pid] and listed[0]["tags"] == ["client"]
    c1 = ok(env, "checkpoint", "create", pid[:9], "-m", "first").strip()
    ok(env, "fs", "put", pid, "lib/a.py", "-", stdin=b"x = 2\ny = 3\n")
    ok(env, "fs", "rm", pid, "run.sh")
    c2 = ok(env, "checkpoint", "create", pid, "-m", "second", "--tag", "v2").strip()
    diff = json.loads(ok(env, "checkpoint", "diff", c1[:5], c2[:5], "--json"))
    assert diff["from"] == c1 and diff["to"] == c2
    changes = {c["path"]: c for c in diff["changes"]}
    assert changes["lib/a.py"]["status"] == "M"
    assert (changes["lib/a.py"]["additions"], changes["lib/a.py"]["deletions"]) == (2, 1)
    assert changes["run.sh"]["status"] == "D"
    stat = ok(env, "checkpoint", "diff", c1, c2, "--stat")
    assert "2 file(s) changed, 2 insertion(s)(+), 3 deletion(s)(-)" in stat
    only = json.loads(ok(env, "checkpoint", "diff", c1, c2, "--json", "--", "run.sh"))
    assert [c["path"] for c in only["changes"]] == ["run.sh"]
    # restore without --yes and without a terminal refuses and changes nothing
    r = run(env, "checkpoint", "restore", c1)
    assert r.returncode == 1 and b"--yes" in r.stderr
    assert ok(env, "fs", "cat", pid, "lib/a.py") == "x = 2\ny = 3\n"
    out = ok(env, "checkpoint", "restore", c1, "--yes")
    # the workspace equalled c2, so c2 itself is the undo point (no duplicate pre-restore)
    assert out.strip().endswith(f"undo with: vmuser checkpoint restore {c2}")
    assert ok(env, "fs", "cat", pid, "lib/a.py") == "x = 1\n"
    ws = Path(json.loads(ok(env, "project", "show", pid, "--json"))["workspace"])
    assert (ws / "run.sh").read_text() == "#!/bin/sh\necho run\n"
    assert os.stat(ws / "run.sh").st_mode & 0o777 == 0o755
    # new work after the restore: the restore undone takes a real pre-restore checkpoint
    ok(env, "fs", "put", pid, "new.txt", "-", stdin=b"after\n")
    out = ok(env, "checkpoint", "restore", c2, "--yes")
    cps = json.loads(ok(env, "checkpoint", "list", pid, "--json"))
    assert [c["kind"] for c in cps] == ["pre-restore", "manual", "manual"]
    assert cps[0]["parent_id"] == c1  # new work after restoring c1 branches from c1
    assert out.strip().endswith(cps[0]["id"])
    assert ok(env, "fs", "cat", pid, "new.txt", "--at", cps[0]["id"]) == "after\n"
    assert not (ws / "new.txt").exists()
    log = json.loads(ok(env, "log", "--project", pid, "--json"))
    assert {"project.create", "checkpoint.create", "fs.write", "fs.rm", "checkpoint.restore"} <= {e["operation"] for e in log}
    assert all("@" in e["actor"] for e in log)


def test_nothing_changed_is_reported_not_stored(env):
    pid = ok(env, "project", "create", "p").strip()
    ok(env, "fs", "put", pid, "f.txt", "-", stdin=b"same\n")
    c1 = ok(env, "checkpoint", "create", pid).strip()
    r = run(env, "checkpoint", "create", pid)
    assert r.returncode == 0 and r.stdout.decode().strip() == c1
    assert b"nothing changed" in r.stderr
    assert len(json.loads(ok(env, "checkpoint", "list", pid, "--json"))) == 1


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("project", "show", "nope"), 1, "no project matches 'nope'"),
        (("checkpoint", "show", "zz"), 1, "an id prefix needs at least 4 characters"),
        (("checkpoint", "show", "zzzz"), 1, "no checkpoint matches 'zzzz'"),
        (("project", "create", "x", "--prefix", "9bad"), 2, "invalid project prefix"),
        (("project", "create", "x", "--workspace", "/nonexistent/dir"), 2, "not a directory"),
        (("session", "start", "nope"), 1, "no project matches"),
        (("project", "frobnicate"), 2, "invalid choice"),
        (("config", "init", "--force", "--bogus"), 2, "unrecognized arguments"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code(env, args, code, message):
    r = run(env, *args)
    err = r.stderr.decode()
    assert r.returncode == code, err
    assert message in err
    assert "Traceback" not in err


def test_ambiguous_prefix_lists_candidates(env):
    a = ok(env, "project", "create", "same", "--prefix", "dup").strip()
    b = ok(env, "project", "create", "same2", "--prefix", "dup").strip()
    r = run(env, "project", "show", "dup-")
    assert r.returncode == 1
    assert "ambiguous" in r.stderr.decode() and a in r.stderr.decode() and b in r.stderr.decode()


def test_exact_name_wins_over_id_prefix(env):
    """`web` means the project named web, even when another project's id starts with web."""
    shop = ok(env, "project", "create", "webshop").strip()  # id webshop-...
    web = ok(env, "project", "create", "web", "--prefix", "site").strip()
    assert json.loads(ok(env, "project", "show", "web", "--json"))["id"] == web
    assert json.loads(ok(env, "project", "show", "webs", "--json"))["id"] == shop  # an id prefix still works


def test_invalid_config_names_key_and_type(env, tmp_path):
    Path(env["VMUSER_CONFIG"]).write_text("[docker]\npids_limit = \"many\"\n")
    r = run(env, "project", "list")
    assert r.returncode == 1
    err = r.stderr.decode().strip()
    assert err.count("\n") == 0 and "[docker] pids_limit: expected a whole number" in err
    Path(env["VMUSER_CONFIG"]).write_text("[docker\n")
    r = run(env, "config", "validate")
    assert r.returncode == 1 and "invalid TOML" in r.stderr.decode() and "line 1" in r.stderr.decode()


def test_config_init_show_path(env):
    path = ok(env, "config", "init").strip()
    assert Path(path).read_text().startswith("# vmuser configuration")
    assert run(env, "config", "init").returncode == 2  # exists: needs --force
    shown = json.loads(ok(env, "config", "show", "--json"))
    assert shown["settings"]["docker"]["memory"] == 1024**3
    assert shown["data_dir"] == env["VMUSER_DATA_DIR"]
    assert "config: " + path in ok(env, "config", "path")


def test_docker_unreachable_only_fails_docker_commands(env):
    env["VMUSER_DOCKER_BASE_URL"] = "unix:///nonexistent/docker.sock"
    pid = ok(env, "project", "create", "p").strip()
    r = run(env, "session", "start", pid)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "--runtime none" in err and "Traceback" not in err
    sid = ok(env, "session", "start", pid, "--runtime", "none").strip()
    assert json.loads(ok(env, "session", "show", sid, "--json"))["status"] == "running"
    assert ok(env, "checkpoint", "create", sid).strip()
    r = run(env, "session", "exec", sid, "--", "true")
    assert r.returncode == 1 and "runtime 'none'" in r.stderr.decode()


def test_delete_needs_confirmation(env):
    pid = ok(env, "project", "create", "p").strip()
    ws = Path(json.loads(ok(env, "project", "show", pid, "--json"))["workspace"])
    r = run(env, "project", "delete", pid)
    assert r.returncode == 1 and ws.is_dir()
    ok(env, "project", "delete", pid, "--yes")
    assert not ws.exists()
    assert json.loads(ok(env, "project", "list", "--json")) == []


def test_help_teaches(env):
    out = ok(env, "--help")
    assert "examples:" in out and "checkpoint" in out
    out = ok(env, "checkpoint", "diff", "--help")
    assert "--stat" in out and "vmuser checkpoint diff 1c0e" in out


@pytest.mark.docker
def test_session_exec_exit_code_and_output(env, docker_engine):
    pid = ok(env, "project", "create", "dock").strip()
    sid = ok(env, "session", "start", pid).strip()
    try:
        r = run(env, "session", "exec", sid[:6], "--", "sh", "-c", "echo out; echo data > f.txt; exit 7")
        assert r.returncode == 7 and r.stdout.decode() == "out\n"
        assert ok(env, "fs", "cat", pid, "f.txt") == "data\n"
    finally:
        ok(env, "session", "stop", sid)
    assert json.loads(ok(env, "session", "show", sid, "--json"))["status"] == "stopped"


def test_config_validate_checks_keymap_and_theme(env):
    Path(env["VMUSER_CONFIG"]).write_text(
        '[ui]\ntheme = "nonexistent"\n[keymap]\n"project.nope" = "z"\n"project.restore" = "c"\n'
    )
    r = run(env, "config", "validate")
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert "unknown binding id 'project.nope'" in err
    assert "c is already project.checkpoint's key" in err
    assert "unknown theme 'nonexistent'" in err
    assert "Traceback" not in err
    Path(env["VMUSER_CONFIG"]).write_text('[keymap]\n"project.restore" = "R"\n')
    assert run(env, "config", "validate").returncode == 0


@pytest.mark.skipif(os.getuid() != 0 or not __import__("shutil").which("setpriv"), reason="needs root and setpriv")
def test_a_config_file_behind_a_folder_one_may_not_enter_is_one_clear_line(tmp_path):
    """Run as uid 4321, whose config path lies under root's 0700 temp dir: one line, not an
    internal error."""
    env = dict(os.environ, VMUSER_CONFIG=str(tmp_path / "c.toml"), VMUSER_DATA_DIR="/nonexistent/x")
    r = subprocess.run(["setpriv", "--reuid", "4321", "--regid", "4321", "--clear-groups", sys.executable, "-m",
                        "vmuser_tui", "project", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "cannot read config file" in r.stderr and "internal error" not in r.stderr
    assert r.stderr.count("\n") == 1


def test_reading_a_fifo_a_session_left_in_the_workspace_never_hangs(env, tmp_path):
    """A session may leave a fifo where a file was: `fs cat` says what it is at once, and a
    diff against the workspace does not wait for a writer either."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "out.log").write_text("v1\n")
    pid = ok(env, "project", "create", "fifo", "--workspace", str(ws)).strip()
    c1 = ok(env, "checkpoint", "create", pid).strip()
    os.unlink(ws / "out.log")
    os.mkfifo(ws / "out.log")
    r = run(env, "fs", "cat", pid, "out.log")
    assert r.returncode == 2
    assert b"out.log: is not a regular file (a fifo, socket or device)" in r.stderr
    d = run(env, "checkpoint", "diff", c1, "--stat")
    assert d.returncode == 0, d.stderr
