"""Bad input to ``vmuser project export`` / ``project import`` (issue 16), in the style of
tests/test_bad_input.py: the real command in a subprocess; exactly one stderr line, no
traceback, the exit code, the words of the message; the database (every table's rows) and
the folder around it exactly as they were, no file left behind.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from vmuser_tui.core.service import Vmuser

PY = [sys.executable, "-m", "vmuser_tui"]

# fmt: off
ROWS = [
    ("import-missing-file", "project import {tmp}/nope.vmuser", 2, "no file {tmp}/nope.vmuser"),
    ("import-a-folder", "project import {tmp}", 2, "is not a file"),
    ("import-not-sqlite", "project import {tmp}/notes.txt", 1, "it is not a vmuser export (not an SQLite file)"),
    ("import-foreign-sqlite", "project import {tmp}/other.db", 1, "an SQLite file without a header table"),
    ("import-empty-file", "project import {tmp}/empty.vmuser", 1, "an SQLite file without a header table"),
    ("import-its-own-database", "project import {data}/vmuser.db", 1, "without a header table"),
    ("import-bad-name", ["project", "import", "{tmp}/web.vmuser", "--name", ""], 2, "a project name needs"),
    ("import-again", "project import {tmp}/web.vmuser", 1, "already in this data dir"),
    ("export-unknown-project", "project export nope -o {tmp}/x.vmuser", 1, "no project matches 'nope'"),
    ("export-missing-output", "project export web", 2, "the following arguments are required: -o/--output"),
    ("export-into-missing-dir", "project export web -o {tmp}/missing/x.vmuser", 2,
     "the folder {tmp}/missing does not exist; create it first"),
    ("export-over-existing", "project export web -o {tmp}/web.vmuser", 2, "already exists; pass --force"),
    ("export-to-a-folder", "project export web -o {tmp}", 2, "it is a folder; give a file name"),
    ("export-unknown-checkpoint", "project export web -o {tmp}/x.vmuser --checkpoint ffffffff", 1,
     "no checkpoint matches 'ffffffff'"),
    ("export-bad-since", "project export web -o {tmp}/x.vmuser --since someday", 2, "cannot read the time 'someday'"),
    ("export-since-future", "project export web -o {tmp}/x.vmuser --since 2999-01-01", 2,
     "nothing to export: no checkpoint of this project matches --since"),
]
# fmt: on


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("i16bad")
    data = tmp / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(data), VMUSER_CONFIG=str(tmp / "none.toml"))
    vm = Vmuser.open(data_dir=str(data), config_path=tmp / "none.toml", reconcile=False)
    project = vm.projects.create("web")
    Path(project.workspace, "a.txt").write_text("a\n")
    vm.checkpoints.create(project.id, description="one")
    vm.export_project(project.id, tmp / "web.vmuser")
    vm.close()
    (tmp / "notes.txt").write_text("not an export\n")
    (tmp / "empty.vmuser").write_bytes(b"")
    other = sqlite3.connect(tmp / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    return tmp, data, env


def _state(tmp: Path, data: Path) -> tuple:
    conn = sqlite3.connect(data / "vmuser.db")
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
                                         "('leases', 'sqlite_sequence') ORDER BY name")]
    rows = {t: hashlib.sha256(repr(conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()).encode()).hexdigest()
            for t in tables}
    conn.close()
    files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if not p.name.startswith("vmuser.db"))
    return rows, files


@pytest.mark.parametrize(("argv", "code", "message"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_input(world, argv, code, message):
    tmp, data, env = world
    fill = {"tmp": str(tmp), "data": str(data)}
    args = [a.format(**fill) for a in (argv if isinstance(argv, list) else argv.split())]
    before = _state(tmp, data)
    proc = subprocess.run([*PY, *args], env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.returncode == code, proc.stderr
    assert message.format(**fill) in proc.stderr
    assert _state(tmp, data) == before


def test_force_replaces_the_file(world):
    tmp, data, env = world
    target = tmp / "forced.vmuser"
    target.write_text("old")
    proc = subprocess.run([*PY, "project", "export", "web", "-o", str(target), "--force"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes().startswith(b"SQLite format 3\x00")
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)
    target.unlink()
