"""The hashing helpers never run code from the workspace.

`python -c` puts the current folder first on sys.path; a user who runs `vmuser checkpoint
create` from inside the workspace (the usual place) would let a `sqlite3.py` or `struct.py`
that the session's container planted there run as the helper, on the host. The helpers start
with `-P` (no such entry: Python 3.11+)."""

from __future__ import annotations

from tests.integration.test_s21_first_procs import _tree, spy  # noqa: F401 - the fixture

PLANTED = """\
import pathlib
pathlib.Path(__file__).with_name("PWNED").write_text("the helper ran workspace code")
raise SystemExit(3)
"""


def test_a_module_planted_in_the_workspace_is_not_imported_by_the_helpers(vm, tmp_path, monkeypatch, spy):  # noqa: F811
    ws = tmp_path / "ws"
    ws.mkdir()
    _tree(ws, 1200)
    for name in ("sqlite3.py", "struct.py", "marshal.py", "zstandard.py", "hashlib.py"):
        (ws / name).write_text(PLANTED)
    project = vm.projects.create("cwd", workspace=str(ws))
    monkeypatch.chdir(ws)  # the user is in the workspace
    cp = vm.checkpoints.create(project.id).checkpoint
    assert spy, "the helpers did not start"
    assert not (ws / "PWNED").exists()
    assert cp.file_count == 1200 + 1 + 5  # the tree, the big file and the planted files: stored as data
