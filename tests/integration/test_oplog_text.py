"""``vm.log(text=...)``: a substring anywhere in an entry; ``oplog.operations``."""

from __future__ import annotations

from vmuser_tui.core import oplog


def test_text_filter_and_operations(vm):
    a = vm.projects.create("alpha", description="first")
    b = vm.projects.create("beta", tags=["Needle"])
    vm.projects.pin(b.id, True)
    assert {e["project_id"] for e in vm.log(text="needle")} == {b.id}  # details, any case
    assert [e["operation"] for e in vm.log(text=a.id)] == ["project.create"]  # the project id
    assert [e["operation"] for e in vm.log(text="PIN")] == ["project.pin"]  # the operation
    assert vm.log(text="beta", operation="project.pin") == vm.log(operation="project.pin")
    assert vm.log(text="no such thing anywhere") == []
    assert len(vm.log(text="@")) == len(vm.log())  # the actor (user@host)
    assert oplog.operations(vm.db) == ["project.create", "project.pin"]
