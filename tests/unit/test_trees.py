"""Tree entries: canonical encoding, Merkle hashing, and build() from a flat path map."""

from __future__ import annotations

import hashlib
import random

import pytest

from vmuser_tui.core.store.trees import (
    DIR,
    EMPTY_TREE_HASH,
    FILE,
    SYMLINK,
    Entry,
    build,
    decode,
    encode,
    sort_key,
    tree_hash,
)


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def f(name: str, content: str = "x", mode: int = 0o644) -> Entry:
    return Entry(name, FILE, mode, len(content.encode()), h(content))


def d(name: str, mode: int = 0o755) -> Entry:
    return Entry(name, DIR, mode, 0, "")


SAMPLE = [
    Entry("B", FILE, 0o644, 3, h("B")),
    Entry("a b", FILE, 0o755, 0, h("")),
    Entry("link", SYMLINK, 0o777, 6, h("target")),
    Entry("sub", DIR, 0o700, 0, h("tree")),
    Entry("é😀", FILE, 0o600, 12345678901, h("big")),
]


def test_encode_decode_round_trip():
    data = encode(SAMPLE)
    assert decode(data) == SAMPLE
    assert encode(decode(data)) == data


def test_encoding_is_one_line_per_entry():
    data = encode([Entry("x.py", FILE, 0o755, 12, "ab" * 32)])
    assert data == b"file 755 12 " + b"ab" * 32 + b"\tx.py\n"


def test_empty_tree():
    assert encode([]) == b""
    assert decode(b"") == []
    assert EMPTY_TREE_HASH == hashlib.sha256(b"").hexdigest() == tree_hash([])[0]


@pytest.mark.parametrize(
    "data",
    [
        b"blob 644 1 abc\tname\n",  # unknown kind
        b"file 644 1 abc name\n",  # no tab before the name
        b"file 9x9 1 abc\tname\n",  # mode not octal
        b"file 644 one abc\tname\n",  # size not a number
        b"file 644 1\tname\n",  # missing field
        b"\xff\xfe\tname\n",  # not UTF-8
    ],
)
def test_decode_rejects_malformed_data(data):
    with pytest.raises((ValueError, UnicodeDecodeError)):
        decode(data)


def test_tree_hash_is_sha256_of_encoding_and_depends_on_every_field():
    digest, data = tree_hash(SAMPLE)
    assert digest == hashlib.sha256(data).hexdigest()
    variants = [
        [Entry("B", FILE, 0o755, 3, h("B"))] + SAMPLE[1:],  # mode
        [Entry("B", FILE, 0o644, 4, h("B"))] + SAMPLE[1:],  # size
        [Entry("B", FILE, 0o644, 3, h("C"))] + SAMPLE[1:],  # content
        [Entry("C", FILE, 0o644, 3, h("B"))] + SAMPLE[1:],  # name
        [Entry("B", SYMLINK, 0o644, 3, h("B"))] + SAMPLE[1:],  # kind
    ]
    hashes = {tree_hash(v)[0] for v in variants} | {digest}
    assert len(hashes) == len(variants) + 1


def test_sort_key_orders_by_utf8_bytes():
    names = ["é", "a", "B", "😀", "Z", "_", "ä", "1"]
    assert sorted(names, key=sort_key) == ["1", "B", "Z", "_", "a", "ä", "é", "😀"]


# -- build ----------------------------------------------------------------------------------

FLAT = {
    "README.md": f("README.md", "hello"),
    "src": d("src"),
    "src/main.py": f("main.py", "print(1)", 0o755),
    "src/lib": d("src/lib"),
    "src/lib/util.py": f("util.py", "def f(): pass"),
    "src/lib/empty": d("empty", 0o700),
    "docs": d("docs"),
    "docs/link": Entry("link", SYMLINK, 0o777, 9, h("README.md")),
    "empty-top": d("empty-top", 0o750),
}


def _by_name(entries):
    return {e.name: e for e in entries}


def test_build_nested_and_empty_dirs():
    root, trees = build(FLAT)
    top = _by_name(trees[root])
    assert sorted(top) == ["README.md", "docs", "empty-top", "src"]
    assert top["README.md"] == FLAT["README.md"]
    # empty dirs are kept, as empty trees, with their modes
    assert top["empty-top"].kind == DIR and top["empty-top"].hash == EMPTY_TREE_HASH
    assert top["empty-top"].mode == 0o750
    src = _by_name(trees[top["src"].hash])
    assert sorted(src) == ["lib", "main.py"]
    assert src["main.py"].mode == 0o755
    lib = _by_name(trees[src["lib"].hash])
    assert sorted(lib) == ["empty", "util.py"]
    assert lib["empty"].hash == EMPTY_TREE_HASH and lib["empty"].mode == 0o700
    docs = _by_name(trees[top["docs"].hash])
    assert docs["link"].kind == SYMLINK
    # every returned tree is keyed by its own hash and sorted by name
    for digest, entries in trees.items():
        assert tree_hash(entries)[0] == digest
        assert [e.name for e in entries] == sorted((e.name for e in entries), key=sort_key)


def test_build_is_independent_of_insertion_order():
    root, _ = build(FLAT)
    items = list(FLAT.items())
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(items)
        assert build(dict(items))[0] == root


def test_equal_subtrees_have_equal_hashes():
    flat = {
        "a": d("a"),
        "a/x.txt": f("x.txt", "same"),
        "a/sub": d("sub"),
        "a/sub/y.txt": f("y.txt", "also same"),
        "b": d("b"),
        "b/x.txt": f("x.txt", "same"),
        "b/sub": d("sub"),
        "b/sub/y.txt": f("y.txt", "also same"),
    }
    root, trees = build(flat)
    top = _by_name(trees[root])
    assert top["a"].hash == top["b"].hash
    # a change deep in b changes b and the root, not a
    flat["b/sub/y.txt"] = f("y.txt", "different")
    root2, trees2 = build(flat)
    top2 = _by_name(trees2[root2])
    assert root2 != root
    assert top2["a"].hash == top["a"].hash
    assert top2["b"].hash != top["b"].hash


def test_dir_mode_changes_the_parent_hash():
    root, _ = build({"a": d("a", 0o755)})
    assert build({"a": d("a", 0o700)})[0] != root


def test_build_empty_workspace():
    root, trees = build({})
    assert root == EMPTY_TREE_HASH
    assert trees == {EMPTY_TREE_HASH: []}


def test_build_implied_single_parent():
    root, trees = build({"a/x.txt": f("x.txt")})
    top = _by_name(trees[root])
    assert top["a"].kind == DIR and top["a"].mode == 0o755
    assert _by_name(trees[top["a"].hash])["x.txt"] == f("x.txt")


def test_build_implies_every_ancestor():
    root, trees = build({"a/b/c.txt": f("c.txt", "deep")})
    assert root != EMPTY_TREE_HASH
    a = _by_name(trees[root])["a"]
    b = _by_name(trees[a.hash])["b"]
    assert _by_name(trees[b.hash])["c.txt"] == f("c.txt", "deep")
    # and it equals the tree built with the dirs listed explicitly
    explicit = {"a": d("a"), "a/b": d("b"), "a/b/c.txt": f("c.txt", "deep")}
    assert build(explicit)[0] == root
