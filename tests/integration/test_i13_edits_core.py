"""Core of issue 13's edits on a real database: ``Checkpoints.remove`` re-parents as forget
does on a branched timeline and guards the head; annotations carry their own tags, the same
label replaces, ``remove_annotation`` takes one away, ``list(annotation_tag=)`` filters and
rows written before annotation tags still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmuser_tui.core.errors import NotFoundError, StateError, UsageError


def parents(vm, project_id: str) -> dict[str, str | None]:
    return {c.id: c.parent_id for c in vm.checkpoints.list(project_id)}


@pytest.fixture
def branched(vm):
    """``(project, ids)``: A <- B <- C, then a restore of A and new work A <- D <- E (head E)."""
    project = vm.projects.create("Branched")
    ws = Path(project.workspace)
    ids = {}
    for name in "ABC":
        (ws / "f.txt").write_text(f"state {name}\n")
        ids[name] = vm.checkpoints.create(project.id, description=name).checkpoint.id
    vm.restores.restore(ids["A"])
    assert vm.projects.get(project.id).head_checkpoint_id == ids["A"]
    for name in "DE":
        (ws / "f.txt").write_text(f"state {name}\n")
        ids[name] = vm.checkpoints.create(project.id, description=name).checkpoint.id
    p = parents(vm, project.id)
    assert (p[ids["B"]], p[ids["C"]], p[ids["D"]], p[ids["E"]]) == (ids["A"], ids["B"], ids["A"], ids["D"])
    return project, ids


def test_children_on_both_branches_reparent_to_the_nearest_kept_ancestor(vm, branched):
    project, ids = branched
    before = {c.id: c.root_tree for c in vm.checkpoints.list(project.id)}
    result = vm.checkpoints.remove([ids["B"], ids["D"]])
    assert result.ids == [ids["B"], ids["D"]]
    assert result.reparented == {ids["C"]: ids["A"], ids["E"]: ids["A"]}
    p = parents(vm, project.id)
    assert set(p) == {ids["A"], ids["C"], ids["E"]}
    assert (p[ids["C"]], p[ids["E"]]) == (ids["A"], ids["A"])
    # the files of what stays are untouched, and the head stays
    assert all(before[c.id] == c.root_tree for c in vm.checkpoints.list(project.id))
    assert vm.projects.get(project.id).head_checkpoint_id == ids["E"]
    [entry] = vm.log(project=project.id, operation="checkpoint.rm")
    assert entry["details"]["checkpoints"] == [ids["B"], ids["D"]]


def test_removing_the_root_makes_its_children_roots(vm, branched):
    project, ids = branched
    result = vm.checkpoints.remove([ids["A"]])
    assert result.reparented == {ids["B"]: None, ids["D"]: None}
    p = parents(vm, project.id)
    assert p[ids["B"]] is None and p[ids["D"]] is None


def test_the_head_is_kept_unless_forced_and_then_moves_to_its_nearest_kept_ancestor(vm, branched):
    project, ids = branched
    n_log = len(vm.log(project=project.id))
    with pytest.raises(StateError, match=f"checkpoint {ids['E']} is the head of project {project.id}.*--force"):
        vm.checkpoints.remove([ids["B"], ids["E"]])
    assert len(vm.checkpoints.list(project.id)) == 5  # nothing removed, not even B
    assert len(vm.log(project=project.id)) == n_log
    result = vm.checkpoints.remove([ids["D"], ids["E"]], force=True)
    assert result.heads == {project.id: ids["A"]}
    assert vm.projects.get(project.id).head_checkpoint_id == ids["A"]
    [entry] = vm.log(project=project.id, operation="checkpoint.rm")
    assert entry["details"]["head"] == {"from": ids["E"], "to": ids["A"]}
    # the next checkpoint continues from the new head
    (Path(project.workspace) / "f.txt").write_text("state F\n")
    f = vm.checkpoints.create(project.id).checkpoint
    assert f.parent_id == ids["A"]


def test_unknown_id_removes_nothing(vm, branched):
    project, ids = branched
    with pytest.raises(NotFoundError, match="no checkpoint matches 'nope'"):
        vm.checkpoints.remove([ids["B"], "nope"])
    assert len(vm.checkpoints.list(project.id)) == 5


def test_dry_run_checks_and_changes_nothing(vm, branched):
    project, ids = branched
    plan = vm.checkpoints.remove([ids["D"]], dry_run=True)
    assert plan.reparented == {ids["E"]: ids["A"]}
    assert parents(vm, project.id)[ids["E"]] == ids["D"]
    assert not vm.log(project=project.id, operation="checkpoint.rm")


def test_a_checkpoint_a_restore_in_progress_uses_is_never_removed(vm, branched):
    project, ids = branched
    with vm.db.write() as conn:  # a restore journal row, as an interrupted restore leaves it
        conn.execute("INSERT INTO restore_journal(id, project_id, workspace, checkpoint_id, target_tree, "
                     "pre_checkpoint_id, state, pid, host, started_at) VALUES ('j1', ?, ?, ?, 'x', ?, 'applying', "
                     "1, 'h', '2026-01-01T00:00:00Z')", (project.id, project.workspace, ids["B"], ids["C"]))
    for cid in (ids["B"], ids["C"]):
        with pytest.raises(StateError, match="used by a restore still in progress"):
            vm.checkpoints.remove([cid], force=True)
    with vm.db.write() as conn:
        conn.execute("DELETE FROM restore_journal")


def test_annotations_have_tags_replace_by_label_and_filter(vm, branched):
    project, ids = branched
    vm.checkpoints.annotate(ids["B"], "tests pass", "212 green", ["ci", "green"])
    vm.checkpoints.annotate(ids["C"], "deployed", "", ["staging"])
    vm.checkpoints.annotate(ids["C"], "tests pass", "first", ["ci"])
    cp = vm.checkpoints.annotate(ids["C"], "tests pass", "second", ["ci", "slow"])  # replaces, keeps its place
    assert [(a["label"], a["note"], a["tags"]) for a in cp.annotations] == [
        ("deployed", "", ["staging"]), ("tests pass", "second", ["ci", "slow"])]
    assert [c.id for c in vm.checkpoints.list(project.id, annotation_tag="ci")] == [ids["C"], ids["B"]]
    assert [c.id for c in vm.checkpoints.list(project.id, annotation_tag="staging")] == [ids["C"]]
    assert vm.checkpoints.list(project.id, annotation_tag="nope") == []
    cp = vm.checkpoints.remove_annotation(ids["C"], "deployed")
    assert [a["label"] for a in cp.annotations] == ["tests pass"]
    assert vm.checkpoints.list(project.id, annotation_tag="staging") == []
    ops = [(e["details"]["action"], e["details"]["label"]) for e in vm.log(project=project.id,
                                                                            operation="checkpoint.annotate")]
    assert ops == [("remove", "deployed"), ("replace", "tests pass"), ("add", "tests pass"),
                   ("add", "deployed"), ("add", "tests pass")]


def test_the_note_is_never_logged(vm, branched):
    _project, ids = branched
    vm.checkpoints.annotate(ids["B"], "creds", "GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123")
    raw = vm.db.query("SELECT details FROM operation_log WHERE operation = 'checkpoint.annotate'")
    assert raw and all("ghp_" not in r["details"] and "GITHUB_TOKEN" not in r["details"] for r in raw)


def test_old_annotations_without_tags_still_read(vm, branched):
    project, ids = branched
    old = [{"label": "from before", "note": "n", "at": "2025-01-01T00:00:00Z", "actor": "a@b"}]
    with vm.db.write() as conn:
        conn.execute("UPDATE checkpoints SET annotations = ? WHERE id = ?", (json.dumps(old), ids["B"]))
    [note] = vm.checkpoints.get(ids["B"]).annotations
    assert note["tags"] == [] and note["label"] == "from before"
    assert vm.checkpoints.list(project.id, annotation_tag="x") == []
    cp = vm.checkpoints.annotate(ids["B"], "new", tags=["t"])
    assert [a["tags"] for a in cp.annotations] == [[], ["t"]]


@pytest.mark.parametrize(("label", "says"), [("", "1-80 printable"), ("   ", "1-80 printable"),
                                             ("x" * 81, "1-80 printable"), ("a\nb", "1-80 printable")])
def test_bad_labels_change_nothing(vm, branched, label, says):
    _project, ids = branched
    with pytest.raises(UsageError, match=says):
        vm.checkpoints.annotate(ids["B"], label)
    with pytest.raises(UsageError, match="invalid tag"):
        vm.checkpoints.annotate(ids["B"], "ok", tags=["bad tag"])
    assert vm.checkpoints.get(ids["B"]).annotations == []
