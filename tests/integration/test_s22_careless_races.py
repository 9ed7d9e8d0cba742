"""A careless operator runs two commands at once on the same project (session 22).

Each test takes a checkpoint in this process and, from its progress callback (so in the
middle of the capture, by order of events, not by time), runs another real ``vmuser``
command in a subprocess on the same data dir. What a user would notice is asserted: the
capture fails with one line naming what happened (never an ``IntegrityError``), or it
succeeds with a timeline that holds together, and ``vmuser check`` stays clean.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmuser_tui.core.errors import VmuserError
from vmuser_tui.core.service import Vmuser

PY = [sys.executable, "-m", "vmuser_tui"]


def cli(data_dir: Path, config_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(data_dir), VMUSER_CONFIG=str(config_path))
    return subprocess.run([*PY, *args], env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)


def fill(folder: Path, files: int = 400) -> None:
    for i in range(files):
        d = folder / f"d{i % 20}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.txt").write_bytes(os.urandom(2048))


def once(action):
    """A progress callback that runs ``action()`` the first time it is called."""
    done: list[object] = []

    def progress(*_args) -> None:
        if not done:
            done.append(action())

    progress.done = done  # type: ignore[attr-defined]
    return progress


@pytest.fixture
def vm(clean_env, data_dir, config_path):
    vm = Vmuser.open(data_dir=str(data_dir), config_path=config_path, reconcile=False, live=False)
    yield vm
    vm.close()


def test_project_deleted_during_its_checkpoint(vm, data_dir, config_path):
    """`project delete P` while `checkpoint create P` runs: the capture says the project
    went away (one line, no IntegrityError), and the data dir checks clean."""
    project = vm.projects.create("racer")
    fill(Path(project.workspace))
    progress = once(lambda: cli(data_dir, config_path, "project", "delete", project.id, "--yes"))
    with pytest.raises(VmuserError) as err:
        vm.checkpoints.create(project.id, description="racing", progress=progress)
    assert progress.done and progress.done[0].returncode == 0, progress.done
    message = str(err.value)
    assert "\n" not in message and "IntegrityError" not in message and "FOREIGN KEY" not in message
    assert f"project {project.id} was deleted while its checkpoint was being taken" in message
    assert cli(data_dir, config_path, "check").returncode == 0
    assert cli(data_dir, config_path, "project", "list", "--json").stdout.strip() == "[]"


def test_project_deleted_during_its_checkpoint_cli(tmp_path, clean_env):
    """The same through the command a user types: one line on stderr, exit 1."""
    data_dir, config_path = tmp_path / "data", tmp_path / "none.toml"
    created = cli(data_dir, config_path, "project", "create", "racer")
    project = created.stdout.strip()
    ws = Path(next(line.split(":", 1)[1].split("(")[0].strip()
                   for line in cli(data_dir, config_path, "project", "show", project).stdout.splitlines()
                   if line.startswith("workspace:")))
    fill(ws, 3000)
    proc = subprocess.Popen([*PY, "checkpoint", "create", project, "-m", "racing"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            env={**{k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")},
                                 "VMUSER_DATA_DIR": str(data_dir), "VMUSER_CONFIG": str(config_path)})
    deleted = cli(data_dir, config_path, "project", "delete", project, "--yes")
    out, err = proc.communicate(timeout=120)
    assert deleted.returncode == 0, deleted.stderr
    # either order is fine for a user: the capture won (then the delete removed it) or it lost
    assert "Traceback" not in err and "internal error" not in err and "IntegrityError" not in err, err
    if proc.returncode:
        assert proc.returncode == 1 and err.count("\n") == 1, err
        # (the delete may also win before the capture starts: then the project is just not there)
        assert any(m in err for m in ("was deleted while its checkpoint was being taken",
                                      "no session or project matches", "no project matches")), err
    assert cli(data_dir, config_path, "check").returncode == 0


def test_two_checkpoints_of_the_same_files_at_once(vm, data_dir, config_path):
    """Two `checkpoint create P` at once on an unchanged workspace: one checkpoint, not two
    siblings with the same files (the second says "no changes" and names the first)."""
    project = vm.projects.create("twice")
    fill(Path(project.workspace))
    first = vm.checkpoints.create(project.id, description="base").checkpoint
    (Path(project.workspace) / "new.txt").write_text("new\n")
    progress = once(lambda: cli(data_dir, config_path, "checkpoint", "create", project.id, "-m", "other"))
    # a file changed after the capture started reading would make the two differ: none does
    outcome = vm.checkpoints.create(project.id, description="mine", progress=progress)
    other = progress.done[0]
    assert other.returncode == 0, other.stderr
    other_id = other.stdout.strip()
    assert not outcome.created and outcome.checkpoint.id == other_id
    listed = vm.checkpoints.list(project.id)
    assert [c.id for c in listed] == [other_id, first.id]
    assert listed[0].parent_id == first.id


def test_head_removed_during_a_checkpoint(vm, data_dir, config_path):
    """`checkpoint rm HEAD` while a checkpoint is taken: the new checkpoint's parent is the
    head that remains, never the id of the checkpoint just removed."""
    project = vm.projects.create("rmhead")
    ws = Path(project.workspace)
    fill(ws, 50)
    base = vm.checkpoints.create(project.id, description="base").checkpoint
    (ws / "second.txt").write_text("2\n")
    head = vm.checkpoints.create(project.id, description="head").checkpoint
    fill(ws)  # new files: the next capture reads (and reports progress)
    progress = once(lambda: cli(data_dir, config_path, "checkpoint", "rm", head.id, "--yes", "--force"))
    outcome = vm.checkpoints.create(project.id, description="after", progress=progress)
    assert progress.done[0].returncode == 0, progress.done[0].stderr
    assert outcome.created
    assert outcome.checkpoint.parent_id == base.id
    assert [c.id for c in vm.checkpoints.list(project.id)] == [outcome.checkpoint.id, base.id]
    assert cli(data_dir, config_path, "check").returncode == 0


def test_second_restore_while_one_runs_is_refused(vm, data_dir, config_path):
    """Two `checkpoint restore` of one project at once: the second is refused with one line
    naming the first (it planned against a workspace the first is rewriting, and would leave
    a mix of both checkpoints with the head naming one); the first completes."""
    project = vm.projects.create("tworestores")
    ws = Path(project.workspace)
    fill(ws, 300)
    a = vm.checkpoints.create(project.id, description="a").checkpoint
    for p in sorted(ws.rglob("*.txt"))[:150]:
        p.write_bytes(os.urandom(2048))
    (ws / "only-in-b.txt").write_text("b\n")
    b = vm.checkpoints.create(project.id, description="b").checkpoint
    progress = once(lambda: cli(data_dir, config_path, "checkpoint", "restore", b.id, "--yes"))
    vm.restores.restore(a.id, progress=progress)
    second = progress.done[0]
    assert "Traceback" not in second.stderr, second.stderr
    assert second.returncode == 1, (second.returncode, second.stdout, second.stderr)
    assert second.stderr.count("\n") == 1 and f"another restore of project {project.id} is running" in second.stderr
    assert not (ws / "only-in-b.txt").exists()
    same = cli(data_dir, config_path, "checkpoint", "diff", a.id, "--quiet")
    assert same.returncode == 0, f"the workspace is not checkpoint a after the restore: {same.stdout}{same.stderr}"
    assert cli(data_dir, config_path, "check").returncode == 0


def test_checkpoint_removed_while_it_is_restored(vm, data_dir, config_path):
    """`checkpoint rm X` while `checkpoint restore X` runs, between its pre-restore
    checkpoint and its journal (the restore held there by SIGSTOP, once its pre-restore
    checkpoint is committed): the head must never name a removed checkpoint -- that made
    every later `checkpoint create` and `restore` of the project fail with "no checkpoint
    matches" -- and the project goes on working."""
    import signal
    import sqlite3
    import time

    project = vm.projects.create("rmrestore")
    ws = Path(project.workspace)
    fill(ws, 2000)
    x = vm.checkpoints.create(project.id, description="x").checkpoint
    for p in sorted(ws.rglob("*.txt"))[:1500]:
        p.write_bytes(os.urandom(2048))
    vm.checkpoints.create(project.id, description="y")
    (ws / "unsaved.txt").write_text("work since y\n")  # so the restore takes a pre-restore checkpoint
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(data_dir), VMUSER_CONFIG=str(config_path))
    restore = subprocess.Popen([*PY, "checkpoint", "restore", x.id, "--yes"], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    look = sqlite3.connect(f"file:{data_dir / 'vmuser.db'}?mode=ro", uri=True, timeout=30)
    try:
        while look.execute("SELECT 1 FROM checkpoints WHERE project_id = ? AND kind = 'pre-restore'",
                           (project.id,)).fetchone() is None:
            assert restore.poll() is None, restore.communicate()
            time.sleep(0.002)
        restore.send_signal(signal.SIGSTOP)
        rm = cli(data_dir, config_path, "checkpoint", "rm", x.id, "--yes", "--force")
    finally:
        restore.send_signal(signal.SIGCONT)
        look.close()
    out, err = restore.communicate(timeout=120)
    assert "Traceback" not in err + rm.stderr, err + rm.stderr
    head = vm.projects.get(project.id).head_checkpoint_id
    assert head is None or vm.checkpoints.get(head), "the head names a removed checkpoint"
    (ws / "after.txt").write_text("after\n")
    after = cli(data_dir, config_path, "checkpoint", "create", project.id, "-m", "after")
    assert after.returncode == 0, after.stderr
    assert cli(data_dir, config_path, "check").returncode == 0


def test_a_head_that_names_a_removed_checkpoint_does_not_stop_the_project(vm, data_dir, config_path):
    """A data dir where that race already happened (the head names a removed checkpoint):
    checkpoints and restores of the project work again; the next checkpoint has no parent."""
    import sqlite3

    project = vm.projects.create("dangling")
    ws = Path(project.workspace)
    fill(ws, 20)
    base = vm.checkpoints.create(project.id, description="base").checkpoint
    conn = sqlite3.connect(data_dir / "vmuser.db")
    with conn:
        conn.execute("UPDATE projects SET head_checkpoint_id = 'c0ffeec0ff' WHERE id = ?", (project.id,))
    conn.close()
    (ws / "more.txt").write_text("more\n")
    r = cli(data_dir, config_path, "checkpoint", "create", project.id, "-m", "again")
    assert r.returncode == 0, r.stderr
    r = cli(data_dir, config_path, "checkpoint", "restore", base.id, "--yes")
    assert r.returncode == 0, r.stderr
    assert not (ws / "more.txt").exists()
