"""Issue 16, search at scale (H12): a search's matches past the best SNIPPET_ROWS make their
snippet and column when first read, and show what they showed when made at once: the word
marked, the column it is in, whichever is read first; SQLite's snippets of the best rows
(read in one pass over their rowid range) mark the same words. Real database, no Docker."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vmuser_tui.core import search
from vmuser_tui.core.search_query import with_marks
from vmuser_tui.core.service import Vmuser

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

N = search.SNIPPET_ROWS + 60


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import history

    root = tmp_path_factory.mktemp("h12")
    vm = Vmuser.open(data_dir=str(root / "data"), config_path=str(root / "none.toml"), reconcile=False)
    project = history.build(vm, N, 5)
    oldest = vm.checkpoints.list(project.id)[-1]
    vm.checkpoints.annotate(oldest.id, "review", "the zebra step was slow", tags=["qa"])
    yield vm, project.id, oldest.id
    vm.close()


def test_every_match_past_the_first_rows_marks_the_word(world) -> None:
    vm, pid, _ = world
    matches = vm.checkpoints.search(pid, "step")
    assert len(matches) == N
    for m in matches:
        assert "«step»" in with_marks(m.snippet), (m.column, m.snippet)
    assert {m.column for m in matches[search.SNIPPET_ROWS:]} == {"description"}


def test_column_or_snippet_first_gives_the_same_match(world) -> None:
    vm, pid, _ = world
    column_first = vm.checkpoints.search(pid, "step")
    snippet_first = vm.checkpoints.search(pid, "step")
    columns = [m.column for m in column_first]
    snippets = [m.snippet for m in snippet_first]
    assert columns == [m.column for m in snippet_first]
    assert snippets == [m.snippet for m in column_first]
    assert [m.to_json() for m in column_first] == [m.to_json() for m in snippet_first]
    assert column_first == snippet_first


def test_an_annotation_past_the_first_rows_is_its_snippet(world, monkeypatch) -> None:
    vm, pid, oldest = world
    (sqlite_made,) = vm.checkpoints.search(pid, "zebra")
    monkeypatch.setattr(search, "SNIPPET_ROWS", 0)  # every snippet made in Python, on first read
    (python_made,) = vm.checkpoints.search(pid, "zebra")
    assert sqlite_made.checkpoint.id == python_made.checkpoint.id == oldest
    assert sqlite_made.column == python_made.column == "annotations"
    assert "«zebra»" in with_marks(sqlite_made.snippet) and "«zebra»" in with_marks(python_made.snippet)


def test_a_match_is_read_only(world) -> None:
    vm, pid, _ = world
    match = vm.checkpoints.search(pid, "zebra")[0]
    for name in ("checkpoint", "column", "snippet", "rank"):
        with pytest.raises(AttributeError):
            setattr(match, name, None)
