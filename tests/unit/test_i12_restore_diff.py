"""Issue 12: a restore diffs its two trees once. ``flat_changes`` (made from the flat maps the
restore plan uses) gives what ``diff_trees`` gives, on random trees with renames, kind changes,
empty folders and mode changes, whole and scoped; ``Change.label`` is the one name formatter."""

from __future__ import annotations

import random

import pytest

from vmuser_tui.core.db import Database
from vmuser_tui.core.store import diff as df
from vmuser_tui.core.store.objects import ObjectStore
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry, sort_key


@pytest.fixture
def store(tmp_path):
    database = Database(tmp_path / "vmuser.db")
    yield ObjectStore(database)
    database.close()


def _put(store, spec) -> str:
    entries = []
    for name, value in spec.items():
        if isinstance(value, bytes):
            entries.append(Entry(name, FILE, 0o644, len(value), store.put_blob(value)))
        elif isinstance(value, tuple):  # ("x", data): executable; ("l", target): symlink
            kind, data = value
            if kind == "x":
                entries.append(Entry(name, FILE, 0o755, len(data), store.put_blob(data)))
            else:
                entries.append(Entry(name, SYMLINK, 0o777, len(data), store.put_blob(data)))
        else:
            entries.append(Entry(name, DIR, 0o755, 0, _put(store, value)))
    entries.sort(key=lambda e: sort_key(e.name))
    return store.put_tree(entries)


def put(store, spec) -> str:
    with store.database.write():
        return _put(store, spec)


NAMES = ["a", "b", "a-b", "a.b", "B", "é", "z"]
CONTENTS = [b"one\n", b"two\n", b"three\n", b""]


def random_tree(rng: random.Random, depth: int = 0) -> dict:
    spec: dict = {}
    for name in rng.sample(NAMES, rng.randint(0, 4)):
        roll = rng.random()
        if roll < 0.3 and depth < 3:
            spec[name] = random_tree(rng, depth + 1)
        elif roll < 0.4:
            spec[name] = ("x", rng.choice(CONTENTS))
        elif roll < 0.45:
            spec[name] = ("l", b"a")
        else:
            spec[name] = rng.choice(CONTENTS)  # few contents: many exact renames
    return spec


def mutate(rng: random.Random, spec: dict) -> dict:
    out = {}
    for name, value in spec.items():
        roll = rng.random()
        if roll < 0.15:
            continue  # deleted
        if roll < 0.25:
            out[rng.choice(NAMES) + "2"] = value  # renamed
        elif isinstance(value, dict):
            out[name] = mutate(rng, value) if roll < 0.8 else rng.choice(CONTENTS)  # or a folder -> file
        elif roll < 0.35:
            out[name] = random_tree(rng, 2)  # a file -> folder
        elif roll < 0.45:
            out[name] = rng.choice(CONTENTS)
        else:
            out[name] = value
    if rng.random() < 0.3:
        out.update(random_tree(rng, 2))
    return out


def rows(changes):
    return [(c.path, c.status, c.old_path, c.old, c.new) for c in changes]


@pytest.mark.parametrize("seed", range(60))
def test_flat_changes_equal_diff_trees(store, seed):
    rng = random.Random(seed)
    a = random_tree(rng)
    b = mutate(rng, a)
    ra, rb = put(store, a), put(store, b)
    flat_a, flat_b = df.differing_flats(store.get_tree, ra, store.get_tree, rb)
    all_paths = sorted(flat_a.keys() | flat_b.keys())
    scopes = [None] + [[p] for p in rng.sample(all_paths, min(3, len(all_paths)))]
    for scope in scopes:
        expected = df.diff_trees(store.get_tree, ra, store.get_tree, rb, paths=scope)
        assert rows(df.flat_changes(flat_a, flat_b, paths=scope)) == rows(expected), (a, b, scope)


def test_label_is_the_one_name_formatter():
    e = Entry("x", FILE, 0o644, 1, "0" * 64)
    assert df.Change("src/new.py", "R", e, e, old_path="src/old.py").label() == "src/old.py → src/new.py"
    assert df.Change("src/new.py", "R", e, e, old_path="src/old.py").label("->") == "src/old.py -> src/new.py"
    assert df.Change("a\x1b[2Jb", "A", None, e).label() == "a\\x1b[2Jb"  # shown, never obeyed


def test_the_journal_stores_rows_and_calls_nothing_back():
    """core/journal.py imports no capture, store, checkpoint or restore code: what to do with
    a row is core/restoring.py's."""
    import ast
    from pathlib import Path

    import vmuser_tui.core.journal as journal

    tree = ast.parse(Path(journal.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vmuser_tui"):
            imported |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names if a.name.startswith("vmuser_tui")}
    assert imported <= {"vmuser_tui.core.clock", "vmuser_tui.core.procs", "vmuser_tui.core.ids.new_short_id"}
