"""diff_trees on hand-built trees stored in a real ObjectStore; line counts and unified text."""

from __future__ import annotations

import pytest

from vmuser_tui.core.db import Database
from vmuser_tui.core.store import diff as df
from vmuser_tui.core.store.objects import ObjectStore
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry, sort_key


class X:
    """An executable file in a tree spec."""

    def __init__(self, data: bytes):
        self.data = data


class L:
    """A symlink in a tree spec."""

    def __init__(self, target: str):
        self.target = target.encode()


@pytest.fixture
def store(tmp_path):
    database = Database(tmp_path / "vmuser.db")
    yield ObjectStore(database)
    database.close()


def put(store: ObjectStore, spec: dict) -> str:
    """Store a nested spec {name: bytes | X | L | dict} as trees; return the root hash."""
    with store.database.write():
        return _put(store, spec)


def _put(store, spec) -> str:
    entries = []
    for name, value in spec.items():
        if isinstance(value, bytes):
            entries.append(Entry(name, FILE, 0o644, len(value), store.put_blob(value)))
        elif isinstance(value, X):
            entries.append(Entry(name, FILE, 0o755, len(value.data), store.put_blob(value.data)))
        elif isinstance(value, L):
            entries.append(Entry(name, SYMLINK, 0o777, len(value.target), store.put_blob(value.target)))
        else:
            entries.append(Entry(name, DIR, 0o755, 0, _put(store, value)))
    entries.sort(key=lambda e: sort_key(e.name))
    return store.put_tree(entries)


def diff(store, a: dict, b: dict, **kw) -> list[df.Change]:
    ra, rb = put(store, a), put(store, b)
    return df.diff_trees(store.get_tree, ra, store.get_tree, rb, **kw)


def summary(changes) -> list[tuple]:
    return [(c.path, c.status) + ((c.old_path,) if c.old_path else ()) for c in changes]


def content(store):
    return lambda path, entry: store.read_blob(entry.hash)


BASE = {
    "README.md": b"# title\n\nintro\n",
    "src": {"main.py": X(b"print('hi')\n"), "util.py": b"def f():\n    return 1\n"},
    "docs": {"guide.md": b"guide\n", "link": L("guide.md")},
    "vendor": {"lib": {f"m{i}.py": f"# module {i}\n".encode() for i in range(20)}},
    "empty": {},
}


def with_changes(**changes) -> dict:
    import copy

    spec = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, name = path.split("__")
        node = spec
        for p in parents:
            node = node[p]
        if value is None:
            del node[name]
        else:
            node[name] = value
    return spec


def test_identical_trees_have_no_changes(store):
    assert diff(store, BASE, BASE) == []


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"NEW.txt": b"new\n"}, [("NEW.txt", "A")]),
        ({"README.md": None}, [("README.md", "D")]),
        ({"src__util.py": b"def f():\n    return 2\n"}, [("src/util.py", "M")]),
        ({"src__main.py": b"print('hi')\n"}, [("src/main.py", "M")]),  # mode 755 -> 644 only
        ({"docs__link": L("../README.md")}, [("docs/link", "M")]),  # symlink retargeted
        ({"docs__link": b"now a file\n"}, [("docs/link", "T")]),  # symlink -> file
        ({"README.md": L("docs/guide.md")}, [("README.md", "T")]),  # file -> symlink
        ({"empty": None}, [("empty", "D")]),  # empty dir deleted
        ({"empty2": {}}, [("empty2", "A")]),  # empty dir added
        ({"empty": {"f": b"1"}}, [("empty/f", "A")]),  # dir gets contents: the file speaks
        ({"docs": None}, [("docs/guide.md", "D"), ("docs/link", "D")]),
        ({"new": {"a": b"1", "deep": {"b": b"2"}}}, [("new/a", "A"), ("new/deep/b", "A")]),
        ({"docs": b"docs became a file\n"}, [("docs", "T"), ("docs/guide.md", "D"), ("docs/link", "D")]),
        ({"README.md": {"inner.txt": b"x"}}, [("README.md", "T"), ("README.md/inner.txt", "A")]),
    ],
)
def test_single_changes(store, changes, expected):
    assert summary(diff(store, BASE, with_changes(**changes))) == expected


def test_rename_is_paired(store):
    changes = diff(store, BASE, with_changes(**{"README.md": None, "docs__README.md": BASE["README.md"]}))
    assert summary(changes) == [("docs/README.md", "R", "README.md")]
    (c,) = changes
    assert c.old.hash == c.new.hash


def test_copy_is_not_a_rename(store):
    changes = diff(store, BASE, with_changes(**{"COPY.md": BASE["README.md"]}))
    assert summary(changes) == [("COPY.md", "A")]


def test_two_identical_deleted_files_pair_with_one_added(store):
    a = {"one": b"same\n", "two": b"same\n"}
    b = {"three": b"same\n"}
    s = summary(diff(store, a, b))
    assert len(s) == 2
    assert ("three", "R", "one") in s or ("three", "R", "two") in s
    assert ("one", "D") in s or ("two", "D") in s


def test_mode_change_is_reported(store):
    (c,) = diff(store, BASE, with_changes(**{"src__util.py": X(BASE["src"]["util.py"])}))
    assert (c.path, c.status) == ("src/util.py", "M")
    assert c.mode_changed and c.old.mode == 0o644 and c.new.mode == 0o755
    assert c.to_json()["old_mode"] == "644" and c.to_json()["new_mode"] == "755"


def test_many_changes_sorted_by_path(store):
    b = with_changes(
        **{
            "README.md": b"# title\n\nintro, longer\n",
            "src__new.py": b"x = 1\n",
            "docs__guide.md": None,
            "vendor__lib__m3.py": b"# changed\n",
            "z.bin": b"\x00\x01",
        }
    )
    s = summary(diff(store, BASE, b))
    assert s == [
        ("README.md", "M"),
        ("docs/guide.md", "D"),
        ("src/new.py", "A"),
        ("vendor/lib/m3.py", "M"),
        ("z.bin", "A"),
    ]


def test_paths_limit_the_result(store):
    b = with_changes(**{"README.md": b"changed\n", "src__util.py": b"changed\n", "src__main.py": None})
    assert summary(diff(store, BASE, b, paths=["src"])) == [("src/main.py", "D"), ("src/util.py", "M")]
    assert summary(diff(store, BASE, b, paths=["src/util.py"])) == [("src/util.py", "M")]
    assert summary(diff(store, BASE, b, paths=["README.md", "src/main.py"])) == [
        ("README.md", "M"),
        ("src/main.py", "D"),
    ]
    assert diff(store, BASE, b, paths=["docs"]) == []


def test_equal_subtrees_are_not_read(store):
    """The walk skips subtrees with equal hashes: the untouched vendor tree is never loaded."""
    ra = put(store, BASE)
    rb = put(store, with_changes(**{"README.md": b"changed\n"}))
    vendor = next(e.hash for e in store.get_tree(ra) if e.name == "vendor")
    asked = []

    def getter(digest):
        asked.append(digest)
        return store.get_tree(digest)

    changes = df.diff_trees(getter, ra, getter, rb)
    assert summary(changes) == [("README.md", "M")]
    assert vendor not in asked
    assert set(asked) == {ra, rb}


# -- line counts and unified text ------------------------------------------------------------


def counted(store, a, b, **kw):
    changes = diff(store, a, b, **kw)
    for c in changes:
        df.count_lines(c, content(store), content(store))
    return changes


def test_count_lines_modified_added_deleted(store):
    a = {"m.txt": b"one\ntwo\nthree\n", "gone.txt": b"a\nb\n"}
    b = {"m.txt": b"one\nTWO\nthree\nfour\n", "new.txt": b"1\n2\n3\n"}
    got = {c.path: (c.status, c.additions, c.deletions, c.binary) for c in counted(store, a, b)}
    assert got == {
        "m.txt": ("M", 2, 1, False),
        "new.txt": ("A", 3, 0, False),
        "gone.txt": ("D", 0, 2, False),
    }


def test_count_lines_rename_with_same_content_is_zero(store):
    (c,) = counted(store, {"a.txt": b"x\ny\n"}, {"b.txt": b"x\ny\n"})
    assert (c.status, c.additions, c.deletions) == ("R", 0, 0)


@pytest.mark.parametrize(
    "old, new",
    [
        (b"text\n", b"text\x00with nul\n"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", b"\x89PNG\r\n\x1a\n\x00\x01"),
        (b"caf\xe9\n", b"cafe\n"),  # latin-1, not UTF-8
    ],
)
def test_binary_files_get_no_line_counts(store, old, new):
    (c,) = counted(store, {"f": old}, {"f": new})
    assert c.binary and (c.additions, c.deletions) == (0, 0)
    text = df.unified(c, content(store), content(store))
    assert text == f"Binary files differ ({len(old):,} -> {len(new):,} bytes)\n"


def test_large_files_are_flagged_not_read(store):
    big = b"line\n" * (df.TEXT_DIFF_LIMIT // 5 + 1)
    ra, rb = put(store, {"big.log": b"small\n"}), put(store, {"big.log": big})
    (c,) = df.diff_trees(store.get_tree, ra, store.get_tree, rb)

    def no_read(path, entry):
        raise AssertionError("a large file must not be read for a line count")

    df.count_lines(c, no_read, no_read)
    assert c.large and (c.additions, c.deletions) == (0, 0)
    assert "large file" in df.unified(c, no_read, no_read)


@pytest.mark.parametrize(
    "data, binary",
    [
        (b"", False),
        (b"plain\n", False),
        ("ünïcödé\n".encode(), False),
        (b"a\x00b", True),
        (b"x" * 7999 + b"\x00", True),  # NUL within the first 8000 bytes
        (b"x" * 8000 + b"\x00", False),  # git's heuristic looks no further (NUL is valid UTF-8)
        (b"x" * 8000 + b"\xff", True),  # but invalid UTF-8 anywhere is binary
        (b"\xff\xfe", True),
    ],
    ids=["empty", "plain", "utf8", "nul", "nul-at-7999", "nul-at-8000", "bad-utf8-late", "bad-utf8"],
)
def test_is_binary(data, binary):
    assert df.is_binary(data) is binary


def test_unified_modified(store):
    (c,) = counted(store, {"m.txt": b"one\ntwo\nthree\n"}, {"m.txt": b"one\nTWO\nthree\n"})
    text = df.unified(c, content(store), content(store))
    assert text == "--- a/m.txt\n+++ b/m.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n"


def test_unified_added_and_deleted(store):
    changes = counted(store, {"old.txt": b"bye\n"}, {"new.txt": b"hello\n"})
    text = {c.path: df.unified(c, content(store), content(store)) for c in changes}
    assert text["new.txt"] == "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n"
    assert text["old.txt"] == "--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"


def test_unified_no_newline_at_end(store):
    (c,) = counted(store, {"f": b"a\nb"}, {"f": b"a\nc"})
    text = df.unified(c, content(store), content(store))
    assert "-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n" in text


def test_unified_mode_only_and_rename_only(store):
    (mode,) = counted(store, {"s.sh": b"echo\n"}, {"s.sh": X(b"echo\n")})
    assert df.unified(mode, content(store), content(store)) == "mode changed 644 -> 755\n"
    (ren,) = counted(store, {"a": b"same\n"}, {"b": b"same\n"})
    assert df.unified(ren, content(store), content(store)) == "renamed, content unchanged\n"


def test_unified_symlink_change_names_the_kind(store):
    (c,) = counted(store, {"l": L("a")}, {})
    assert df.unified(c, content(store), content(store)) == "D l (symlink)\n"


def test_unified_context_lines(store):
    a = b"".join(f"{i}\n".encode() for i in range(20))
    b = a.replace(b"10\n", b"ten\n")
    (c,) = counted(store, {"n": a}, {"n": b})
    one = df.unified(c, content(store), content(store), context=1)
    assert one.splitlines()[2:] == ["@@ -10,3 +10,3 @@", " 9", "-10", "+ten", " 11"]


def test_empty_dir_replaced_by_file_is_one_change(store):
    changes = diff(store, {"x": {}}, {"x": b"now a file\n"})
    assert summary(changes) == [("x", "T")]
