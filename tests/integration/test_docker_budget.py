"""The resource budget on a real engine: with `[runtime] max_running = 1`, starting a second
session checkpoints and stops the least recently used one (a hot swap), and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmuser_tui.core.runtime import LABEL_PROJECT

pytestmark = pytest.mark.docker


def test_budget_of_one_running_session_hot_swaps_the_least_recently_used(make_vm, docker_projects):
    client, made = docker_projects
    vm = make_vm(config_text="[runtime]\nmax_running = 1\n")
    a = vm.projects.create("alpha")
    b = vm.projects.create("beta")
    made += [a.id, b.id]
    first = vm.sessions.start(a.id).session
    vm.sessions.exec(first.id, ["sh", "-c", "echo from-a > /workspace/work.txt"])

    second = vm.sessions.start(b.id)
    assert any("stopped session " + first.id in n and "max_running = 1" in n for n in second.notes), second.notes
    assert vm.sessions.get(first.id).status == "stopped"
    assert "hot swap" in vm.sessions.get(first.id).status_reason
    assert vm.sessions.get(second.session.id).status == "running"
    running = client.containers.list(filters={"label": "vmuser.session"})
    assert [c.labels["vmuser.session"] for c in running if c.labels[LABEL_PROJECT] in made] == [second.session.id]
    # The stopped session's work was checkpointed before its container went away.
    auto = [c for c in vm.checkpoints.list(a.id) if c.kind == "auto"]
    assert len(auto) == 1 and vm.fs.read(a.id, "work.txt", at=auto[0].id) == b"from-a\n"
    assert (Path(a.workspace) / "work.txt").read_text() == "from-a\n"
    assert vm.log(operation="session.swap")[0]["session_id"] == first.id


def test_container_stops_when_the_last_client_leaves_and_comes_back_on_open(make_vm, docker_projects):
    _client, made = docker_projects
    vm = make_vm(config_text="[runtime]\ncontainer_stop_on_disconnect = true\n")
    p = vm.projects.create("ondemand")
    made.append(p.id)
    s = vm.sessions.start(p.id).session
    session, got = vm.open_session(s.id)
    assert got.ok and session.id == s.id
    vm.sessions.exec(s.id, ["sh", "-c", "echo kept > /workspace/k.txt"])
    note = vm.close_session(s.id)
    assert note and "stopped" in note
    assert vm.sessions.get(s.id).status == "stopped"
    auto = [c for c in vm.checkpoints.list(p.id) if c.kind == "auto"]
    assert len(auto) == 1 and vm.fs.read(p.id, "k.txt", at=auto[0].id) == b"kept\n"
    # Opening it again starts a new container with the workspace mounted.
    again, got = vm.open_session(s.id)
    assert got.ok and again.id != s.id and again.status == "running"
    assert vm.sessions.exec(again.id, ["cat", "/workspace/k.txt"]).output == b"kept\n"
    vm.close_session(again.id)


def test_closing_the_client_counts_as_leaving(make_vm, docker_projects):
    _client, made = docker_projects
    vm = make_vm(config_text="[runtime]\ncontainer_stop_on_disconnect = true\n")
    p = vm.projects.create("closing")
    made.append(p.id)
    s = vm.sessions.start(p.id).session
    vm.open_session(s.id)
    vm.close()
    other = make_vm(config_text="[runtime]\ncontainer_stop_on_disconnect = true\n")
    assert other.sessions.get(s.id).status == "stopped"
    assert other.access.holders(s.id) == []
