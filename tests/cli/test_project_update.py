"""`vmuser project update` (issue 13, "the edits users miss"): name, description, image and
tags of a project change in one logged step; bad input changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e.update(VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "config.toml"))
    return e


def run(env, *args):
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def show(env, ref: str) -> dict:
    r = run(env, "project", "show", ref, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_update_changes_the_fields_given_and_logs_old_and_new(env):
    pid = run(env, "project", "create", "web", "--tag", "client", "--tag", "old").stdout.strip()
    r = run(env, "project", "update", "web", "--name", "Web App", "--description", "the shop",
            "--image", "python:3.12", "--add-tag", "prod", "--remove-tag", "old", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["name"], doc["description"], doc["image"]) == ("Web App", "the shop", "python:3.12")
    assert sorted(doc["tags"]) == ["client", "prod"]
    assert show(env, pid)["name"] == "Web App"  # stored, and the new name resolves
    assert show(env, "Web App")["id"] == pid

    log = json.loads(run(env, "log", "--project", pid, "--operation", "project.update", "--json").stdout)
    assert len(log) == 1
    changed = log[0]["details"]["changed"]
    assert changed["name"] == {"from": "web", "to": "Web App"}
    assert changed["tags"] == {"from": ["client", "old"], "to": ["client", "prod"]}

    # '' puts the image back to [docker] image
    r = run(env, "project", "update", pid, "--image", "", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["image"] is None


@pytest.mark.parametrize(("args", "says"), [
    ((), "nothing to change"),
    (("--name", "web"), "nothing to change"),
    (("--name", "   "), "1-200 printable characters"),
    (("--add-tag", "bad tag!"), "tag"),
])
def test_bad_update_says_why_in_one_line_and_changes_nothing(env, args, says):
    pid = run(env, "project", "create", "web", "--description", "kept").stdout.strip()
    before = show(env, pid)
    r = run(env, "project", "update", pid, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in r.stderr
    after = show(env, pid)
    assert {k: after[k] for k in ("name", "description", "image", "tags")} == \
        {k: before[k] for k in ("name", "description", "image", "tags")}
