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


def test_access_reconcile_is_the_lease_policy_without_a_tui(make_vm, data_dir, config_path):
    """The attach policy is core's (issue 12): first client read-write, a second read-only
    with the hold that refuses its changes, read-write once the first one leaves."""
    from vmuser_tui.core.service import Vmuser

    vm = make_vm()
    project = vm.projects.create("shared")
    sid = vm.sessions.start(project.id, runtime="none").session.id
    att = vm.access.reconcile(vm, [sid], {})
    assert att.attached == {sid: "rw"} and not att.held and att.blocker() is None
    other = Vmuser.open(data_dir=str(data_dir), config_path=config_path, reconcile=False)
    try:
        other.access.leases.holder = "4242-0badc0de"
        seen = other.access.reconcile(other, [sid], {})
        assert seen.attached == {sid: "ro"} and set(seen.held) == {sid}
        blocked_by = seen.blocker()
        assert blocked_by is not None and blocked_by[0] == sid and blocked_by[1].holder == vm.access.client_id
        assert seen.blocker(sid) == blocked_by and seen.blocker("elsewhere") is None
        assert vm.access.reconcile(vm, [], {sid: "rw"}).attached == {}  # the first client leaves
        again = other.access.reconcile(other, [sid], {sid: "ro"})
        assert again.attached == {sid: "rw"}
        assert ("information", f"session {sid}: read-write now (nobody else holds it)") in again.notes
    finally:
        other.close()
