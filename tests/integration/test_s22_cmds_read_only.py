"""Issue 16, item 4: a custom command is "refused in read-only mode when marked as changing".
One marked ``changes = false`` runs in read-only mode wherever it runs: on the host (as
before) and in the session's container (it was refused as any exec is). Real engine."""

from __future__ import annotations

import pytest

from vmuser_tui.core.access import ReadOnlyError
from vmuser_tui.core.custom_commands import parse_commands

pytestmark = pytest.mark.docker


def test_read_only_runs_a_container_command_unless_it_changes(make_vm, docker_projects):
    vm = make_vm()
    vm.config.values["docker"]["image"] = "vmuser-busybox:local"
    project = vm.projects.create("web")
    docker_projects[1].append(project.id)
    session = vm.sessions.start(project.id, runtime="docker").session
    look, wipe = parse_commands([
        {"name": "look", "key": "ctrl+t", "scope": "project", "command": "echo looked {project}", "where": "container"},
        {"name": "wipe", "key": "ctrl+w", "scope": "project", "command": "echo wiped", "where": "container",
         "changes": True},
    ])
    try:
        vm.access.read_only = True
        out: list[bytes] = []
        outcome = vm.commands.run(look, vm.commands.context(look, project.id, session_id=session.id), project.id,
                                  session_id=session.id, on_output=lambda stream, data: out.append(data))
        assert outcome.exit_code == 0 and b"".join(out) == b"looked web\n"
        with pytest.raises(ReadOnlyError, match="wipe"):
            vm.commands.run(wipe, vm.commands.context(wipe, project.id, session_id=session.id), project.id,
                            session_id=session.id, on_output=lambda stream, data: None)
    finally:
        vm.access.read_only = False
        vm.sessions.stop(session.id)
