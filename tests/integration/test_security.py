"""What keeps a user's secrets theirs: private file modes, masked environment values,
and secret files left out of automatic checkpoints (and left alone by their restores)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from vmuser_tui.core import context, oplog
from vmuser_tui.core.redact import MASK


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- file modes ------------------------------------------------------------------------------------


def test_new_data_dir_and_database_files_are_private_whatever_the_umask(make_vm, data_dir):
    old = os.umask(0)  # the loosest umask: the modes must come from vmuser, not from it
    try:
        vm = make_vm()
    finally:
        os.umask(old)
    db = data_dir / "vmuser.db"
    assert mode(data_dir) == 0o700 and mode(db) == 0o600
    for extra in ("vmuser.db-wal", "vmuser.db-shm"):  # exist while a connection is open
        assert mode(data_dir / extra) == 0o600
    assert vm.notes == []


def test_wider_modes_warn_once_per_process(make_vm, data_dir):
    make_vm().close()
    os.chmod(data_dir, 0o755)
    os.chmod(data_dir / "vmuser.db", 0o644)
    context._warned.clear()  # a new process, as far as the warnings go
    notes = make_vm().notes
    assert notes[0] == (
        f"warning: the data directory {data_dir} is open to other users (mode 0755); restrict it: chmod 700 {data_dir}"
    )
    assert notes[1].startswith(f"warning: database files in {data_dir} are open to other users (vmuser.db 0644")
    assert notes[1].endswith(f"restrict them: chmod 600 {data_dir / 'vmuser.db'}*")
    assert make_vm().notes == []  # the same process is not told twice


def test_cli_prints_the_warning_on_stderr(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o750)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(data), VMUSER_CONFIG=str(tmp_path / "none.toml"))
    r = subprocess.run(
        [sys.executable, "-m", "vmuser_tui", "project", "list"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0
    assert r.stderr.splitlines()[0] == (
        f"vmuser: warning: the data directory {data} is open to other users (mode 0750); restrict it: chmod 700 {data}"
    )


# -- masked environment values ---------------------------------------------------------------------


def test_operation_log_stores_secret_values_masked(vm):
    with vm.db.write() as conn:
        oplog.record(
            conn,
            "session.exec",
            command=["env", "GITHUB_TOKEN=ghp_live", "make"],
            env={"DB_PASSWORD": "hunter2", "LANG": "C"},
        )
    raw = vm.db.conn.execute("SELECT details FROM operation_log ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert "ghp_live" not in raw and "hunter2" not in raw
    assert json.loads(raw) == {
        "command": ["env", f"GITHUB_TOKEN={MASK}", "make"],
        "env": {"DB_PASSWORD": MASK, "LANG": "C"},
    }


def test_rows_written_before_masking_are_masked_when_read(vm):
    project = vm.projects.create("p")
    (Path(project.workspace) / "f.txt").write_text("x")
    cp = vm.checkpoints.create(project.id).checkpoint
    with vm.db.write() as conn:  # as an older vmuser (or another tool) would have written them
        conn.execute(
            "INSERT INTO operation_log(at, operation, actor, pid, project_id, details) "
            "VALUES ('2024-01-01T00:00:00Z', 'session.start', 'me@host', 1, ?, ?)",
            (project.id, json.dumps({"env": {"API_KEY": "sk-live", "HOME": "/tmp"}})),
        )
        conn.execute(
            "UPDATE checkpoints SET state = ? WHERE id = ?",
            (json.dumps({"container": {"env": {"AWS_SECRET_ACCESS_KEY": "s3cr3t", "PATH": "/bin"}}}), cp.id),
        )
    entry = vm.log(project=project.id, operation="session.start")[0]
    assert entry["details"] == {"env": {"API_KEY": MASK, "HOME": "/tmp"}}
    assert vm.checkpoints.get(cp.id).state == {"container": {"env": {"AWS_SECRET_ACCESS_KEY": MASK, "PATH": "/bin"}}}


# -- secret files and automatic checkpoints --------------------------------------------------------

SECRETS = [".env", "deploy/server.pem", "tls.key", ".ssh/id_rsa", ".ssh/id_ed25519.pub"]


@pytest.fixture
def secret_project(vm):
    project = vm.projects.create("s")
    ws = Path(project.workspace)
    for rel in [*SECRETS, "src/app.py", ".env.example"]:
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(f"content of {rel}\n")
    return vm, project, ws


def test_auto_checkpoints_leave_secret_files_out_manual_ones_keep_them(secret_project):
    vm, project, _ = secret_project
    auto = vm.checkpoints.create(project.id, kind="auto").checkpoint
    for rel in SECRETS:
        assert vm.checkpoints.entry(auto.id, rel) is None, rel
    assert vm.checkpoints.entry(auto.id, "src/app.py") is not None
    assert vm.checkpoints.entry(auto.id, ".env.example") is not None  # only the listed names
    manual = vm.checkpoints.create(project.id, kind="manual").checkpoint
    assert all(vm.checkpoints.entry(manual.id, rel) is not None for rel in SECRETS)


def test_a_project_opts_in_with_its_ignore_file(secret_project):
    vm, project, ws = secret_project
    (ws / ".vmuserignore").write_text("!.env\n")
    auto = vm.checkpoints.create(project.id, kind="auto").checkpoint
    assert vm.checkpoints.entry(auto.id, ".env") is not None
    assert vm.checkpoints.entry(auto.id, "tls.key") is None


def test_an_empty_secret_patterns_setting_keeps_everything(make_vm):
    vm = make_vm(config_text="[snapshots]\nsecret_patterns = []\n")
    project = vm.projects.create("s")
    (Path(project.workspace) / ".env").write_text("TOKEN=1\n")
    auto = vm.checkpoints.create(project.id, kind="auto").checkpoint
    assert vm.checkpoints.entry(auto.id, ".env") is not None


def test_restoring_an_auto_checkpoint_leaves_secret_files_alone(secret_project):
    vm, project, ws = secret_project
    auto = vm.checkpoints.create(project.id, kind="auto").checkpoint
    (ws / "src" / "app.py").write_text("changed\n")
    (ws / "new.txt").write_text("new\n")
    (ws / ".env").write_text("TOKEN=rotated\n")
    preview = vm.restores.preview(auto.id)
    assert {c.path for c in preview.changes} == {"src/app.py", "new.txt"}  # no secret shown as deleted
    outcome = vm.restores.restore(auto.id)
    assert (ws / "src" / "app.py").read_text() == "content of src/app.py\n" and not (ws / "new.txt").exists()
    assert (ws / ".env").read_text() == "TOKEN=rotated\n"
    assert all((ws / rel).is_file() for rel in SECRETS)
    assert {c.path for c in outcome.changes} == {"src/app.py", "new.txt"}
    assert not vm.checkpoints.diff(auto.id).changes  # the workspace now matches it, secrets aside


def test_missing_workspace_names_project_path_and_fix(vm):
    project = vm.projects.create("gone")
    ws = Path(project.workspace)
    (ws / "f.txt").write_text("x")
    cp = vm.checkpoints.create(project.id).checkpoint
    ws.rename(ws.with_name("moved"))
    expected = (
        f"the workspace of project {project.id} is missing ({ws}); re-create it (mkdir -p {ws}) "
        "and restore a checkpoint into it, or delete the project"
    )
    from vmuser_tui.core.errors import NotFoundError

    for call in (
        lambda: vm.checkpoints.create(project.id),
        lambda: vm.checkpoints.diff(cp.id),
        lambda: vm.restores.restore(cp.id),
        lambda: vm.fs.ls(project.id),
    ):
        with pytest.raises(NotFoundError) as err:
            call()
        assert str(err.value) == expected
    ws.mkdir()  # the fix the message names works
    vm.restores.restore(cp.id)
    assert (ws / "f.txt").read_text() == "x"
