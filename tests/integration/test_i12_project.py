"""Stumble 4 of issue 12: a description typed for a checkpoint when nothing changed is never
dropped silently: ``allow_empty`` (``vmuser checkpoint create --allow-empty``, as git's
``commit --allow-empty``) takes the checkpoint anyway, with the same files as the head."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_allow_empty_takes_a_checkpoint_with_the_description(make_vm, tmp_path):
    vm = make_vm()
    project = vm.projects.create("p")
    ws = vm.projects.workspace_dir(project)
    (ws / "f.txt").write_text("same\n")
    first = vm.checkpoints.create(project.id, kind="auto").checkpoint
    again = vm.checkpoints.create(project.id, description="tests pass")
    assert not again.created and again.checkpoint.id == first.id  # as before: nothing changed, nothing taken
    empty = vm.checkpoints.create(project.id, description="tests pass", tags=["green"], allow_empty=True)
    cp = empty.checkpoint
    assert empty.created and cp.id != first.id
    assert (cp.description, cp.tags, cp.parent_id, cp.root_tree) == ("tests pass", ["green"], first.id,
                                                                      first.root_tree)
    assert vm.projects.get(project.id).head_checkpoint_id == cp.id


def _run(env, *args):
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, timeout=120)


def test_cli_says_the_description_was_not_recorded_and_allow_empty_records_it(tmp_path):
    env = dict(os.environ, VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "config.toml"))
    env.pop("VMUSER_DOCKER_BASE_URL", None)
    pid = _run(env, "project", "create", "p").stdout.decode().strip()
    first = _run(env, "checkpoint", "create", pid).stdout.decode().strip()
    r = _run(env, "checkpoint", "create", pid, "-m", "tests pass")
    err = r.stderr.decode()
    assert r.returncode == 0 and r.stdout.decode().strip() == first
    assert "'tests pass' not recorded" in err and "--allow-empty" in err
    r = _run(env, "checkpoint", "create", pid, "-m", "tests pass", "--allow-empty")
    assert r.returncode == 0, r.stderr.decode()
    cps = json.loads(_run(env, "checkpoint", "list", pid, "--json").stdout)
    assert [c["description"] for c in cps] == ["tests pass", ""]
    assert cps[0]["id"] == r.stdout.decode().strip() and cps[0]["parent_id"] == first
