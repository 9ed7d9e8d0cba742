"""Hostile trees, built by hand in the database, restored onto a workspace; hostile
folders imported with ``project create --import``.

Every tree here is one that vmuser's capture would never write: blobs and tree rows are
encoded with the store's own functions (or by hand where the format itself is abused)
and a checkpoint row points at them. Each test asserts the restore's contract:

- the restore is **refused** as a whole with one clear line (nothing in the workspace
  changes), or it **skips** just the hostile entry and reports it in ``refused``, or it
  **neutralizes** it (writes a safe equivalent: a real folder instead of a followed link,
  a mode without setuid bits);
- nothing is written outside the workspace: a sentinel folder next to the workspace and
  the whole test directory around it (the database files aside) are compared before
  and after;
- the workspace is left consistent: a second restore of a good checkpoint brings it back
  exactly.

Each test records its outcome (``record_property("hostile", ...)``); the last test
checks the tally and prints it (``pytest -s``) for the closing note of issue #7.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from wsutil import describe_difference, snapshot, write

from vmuser_tui.core import clock
from vmuser_tui.core.errors import LimitError, UsageError, VmuserError
from vmuser_tui.core.ids import new_short_id
from vmuser_tui.core.store import restore as rs
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry, encode, sort_key

TALLY: dict[str, list[str]] = {"refused": [], "skipped": [], "neutralized": [], "import refused": [],
                               "import neutralized": []}


def tally(record_property, outcome: str, name: str) -> None:
    TALLY[outcome].append(name)
    record_property("hostile", f"{outcome}: {name}")


# -- building trees by hand -----------------------------------------------------------------


class Forge:
    """Blobs, trees and checkpoint rows written straight into the database."""

    def __init__(self, vm, project_id: str):
        self.vm, self.project_id, self.store = vm, project_id, vm.ctx.store

    def blob(self, raw: bytes) -> str:
        with self.vm.db.write():
            return self.store.put_blob(raw)

    def file(self, name: str, data: bytes = b"x\n", mode: int = 0o644, size: int | None = None) -> Entry:
        return Entry(name, FILE, mode, len(data) if size is None else size, self.blob(data))

    def link(self, name: str, target: str | bytes) -> Entry:
        raw = target if isinstance(target, bytes) else target.encode()
        return Entry(name, SYMLINK, 0o777, len(raw), self.blob(raw))

    def dir(self, name: str, entries: list[Entry], mode: int = 0o755) -> Entry:
        return Entry(name, DIR, mode, 0, self.tree(entries))

    def tree(self, entries: list[Entry], *, raw: bytes | None = None, digest: str | None = None) -> str:
        """Store a tree: ``entries`` in canonical order, or ``raw`` bytes as they are (for
        entries :func:`encode` would never write); ``digest`` forges the row's name."""
        data = raw if raw is not None else encode(sorted(entries, key=lambda e: sort_key(e.name)))
        name = digest or hashlib.sha256(data).hexdigest()
        with self.vm.db.write():
            self.store.put_tree_encoded(name, data)
        return name

    def chain(self, depth: int, leaf: Entry) -> str:
        """The root of ``d/d/.../d/<leaf>``, ``depth`` folders deep (one transaction)."""
        with self.vm.db.write():
            digest = self.store.put_tree([leaf])
            for _ in range(depth):
                digest = self.store.put_tree([Entry("d", DIR, 0o755, 0, digest)])
        return digest

    def checkpoint(self, entries: list[Entry] | None = None, *, root: str | None = None) -> str:
        cid = new_short_id()
        root = root or self.tree(entries or [])
        with self.vm.db.write() as conn:
            conn.execute(
                "INSERT INTO checkpoints(id, project_id, root_tree, kind, created_at) VALUES (?,?,?,?,?)",
                (cid, self.project_id, root, "manual", clock.now_iso()),
            )
        return cid


def line(kind: str, mode: int, size: int, digest: str, name: str) -> bytes:
    """One tree line in the canonical format, whatever its fields hold."""
    return f"{kind} {mode:o} {size} {digest}\t{name}\n".encode()


# -- the world around the workspace ----------------------------------------------------------


def _outside(root: Path, ws: Path) -> dict[str, tuple]:
    """Everything under ``root`` except the workspace and the database files (which a
    restore changes legitimately)."""
    wsrel = os.path.relpath(ws, root)
    return {p: v for p, v in snapshot(root).items()
            if p != wsrel and not p.startswith(wsrel + os.sep) and not os.path.basename(p).startswith("vmuser.db")}


@pytest.fixture
def world(vm, tmp_path):
    """A project with a few files and a good checkpoint, and sentinels around it: one
    folder next to the workspace, one at the top of the test directory."""
    project = vm.projects.create("Hostile")
    ws = Path(project.workspace)
    write(ws, "keep.txt", "keep\n")
    write(ws, "src/app.py", "print('app')\n")
    good = vm.checkpoints.create(project.id).checkpoint
    for sentinel in (ws.parent / "sentinel", tmp_path / "sentinel"):
        write(sentinel, "victim.txt", "do not touch\n", 0o600)
        (sentinel / "empty").mkdir()
    before = _outside(tmp_path, ws)

    class World:
        pass

    w = World()
    w.vm, w.project, w.ws, w.good, w.root = vm, project, ws, good, tmp_path
    w.forge = Forge(vm, project.id)
    w.sentinel = tmp_path / "sentinel"
    w.near = ws.parent / "sentinel"
    yield w
    now = _outside(tmp_path, ws)
    assert now == before, "written outside the workspace: " + describe_difference(now, before)
    assert not Path("/tmp/vmuser-hostile-pwned").exists()
    # consistent: a good checkpoint restores exactly over whatever the hostile one left
    vm.restores.restore(good.id)
    assert snapshot(ws) == {"keep.txt": ("file", 0o644, b"keep\n"), "src": ("dir", 0o755),
                            "src/app.py": ("file", 0o644, b"print('app')\n")}, snapshot(ws)


def refused(w, cid: str, fragment: str) -> str:
    """Restore ``cid``: it must be refused with one line holding ``fragment``, the workspace unchanged."""
    before = snapshot(w.ws)
    with pytest.raises(VmuserError) as err:
        w.vm.restores.restore(cid)
    message = str(err.value)
    assert fragment in message, message
    assert "\n" not in message
    assert snapshot(w.ws) == before, describe_difference(snapshot(w.ws), before)
    return message


# -- names --------------------------------------------------------------------------------------

NAME_ATTACKS = [
    ("dotdot-file", "..", "is not one plain name"),
    ("dot-file", ".", "is not one plain name"),
    ("empty-name", "", "is not one plain name"),
    ("relative-escape", "../sentinel/pwned", "is not one plain name"),
    ("deep-relative-escape", "x/../../../sentinel/pwned", "is not one plain name"),
    ("absolute", "/tmp/vmuser-hostile-pwned", "is not one plain name"),
    ("slash-inside", "src/inner.txt", "is not one plain name"),
    ("nul", "a\x00b", "is not one plain name"),
    ("backslash", "..\\..\\sentinel\\pwned", "backslash"),
    ("drive-letter", "C:pwned", "drive prefix"),
    ("control-char", "a\x1b[2Jb", "control character"),
    ("long-name", "n" * 256, "longer than 255 bytes"),
    ("reserved", ".vmuser", "reserved '.vmuser'"),
    ("reserved-case", ".VMUSER", "reserved '.vmuser'"),
    ("reserved-hfs", ".vmu\u200cser", "reserved '.vmuser'"),
    ("reserved-ntfs", ".vmuser.", "reserved '.vmuser'"),
    ("temp-prefix", ".vmuser-tmp-0123456789ab", "reserved '.vmuser-tmp-' prefix"),
]


@pytest.mark.parametrize("name, fragment", [pytest.param(n, f, id=i) for i, n, f in NAME_ATTACKS])
def test_hostile_file_names_are_refused(world, record_property, name, fragment):
    f = world.forge
    raw = line(FILE, 0o644, 6, f.blob(b"pwned\n"), name) + line(FILE, 0o644, 5, f.blob(b"keep\n"), "keep.txt")
    cid = f.checkpoint(root=f.tree([], raw=raw))
    refused(world, cid, fragment)
    tally(record_property, "refused", f"file named {name!r}")


@pytest.mark.parametrize("name", ["..", "../sentinel", "/tmp"])
def test_hostile_folder_names_are_refused(world, record_property, name):
    f = world.forge
    sub = f.tree([f.file("pwned.txt", b"pwned\n")])
    cid = f.checkpoint(root=f.tree([], raw=line(DIR, 0o755, 0, sub, name)))
    refused(world, cid, "is not one plain name")
    tally(record_property, "refused", f"folder named {name!r}")


def test_reserved_folder_with_contents_is_refused(world, record_property):
    f = world.forge
    cid = f.checkpoint([f.dir(".vmuser", [f.file("config.toml", b"pwned = true\n")]), f.file("keep.txt", b"keep\n")])
    refused(world, cid, "reserved '.vmuser'")
    tally(record_property, "refused", ".vmuser folder with contents")


def test_temp_prefix_deep_in_the_tree_is_refused(world, record_property):
    f = world.forge
    cid = f.checkpoint([f.dir("src", [f.file(".vmuser-tmp-abcdef012345", b"x")])])
    refused(world, cid, "reserved '.vmuser-tmp-' prefix")
    tally(record_property, "refused", "temp-file name deep in the tree")


def test_duplicate_names_in_one_tree_are_refused(world, record_property):
    f = world.forge
    raw = line(FILE, 0o644, 5, f.blob(b"one\n\n"), "dup.txt") + line(FILE, 0o644, 6, f.blob(b"two!\n\n"), "dup.txt")
    cid = f.checkpoint(root=f.tree([], raw=raw))
    refused(world, cid, "appears twice")
    tally(record_property, "refused", "the same name twice")


def test_file_and_folder_of_the_same_name_are_refused(world, record_property):
    f = world.forge
    sub = f.tree([f.file("x", b"x")])
    raw = line(DIR, 0o755, 0, sub, "same") + line(FILE, 0o644, 1, f.blob(b"y"), "same")
    cid = f.checkpoint(root=f.tree([], raw=raw))
    refused(world, cid, "appears twice")
    tally(record_property, "refused", "a file and a folder of one name")


def test_nfc_look_alike_siblings_are_refused(world, record_property):
    f = world.forge
    cid = f.checkpoint([f.file("café.txt", b"nfc\n"), f.file("cafe\u0301.txt", b"nfd\n")])
    message = refused(world, cid, "not NFC-normalized and folds to its sibling 'café.txt'")
    assert "cafe\\u0301.txt" in message  # shown with the escape: the two look alike otherwise
    tally(record_property, "refused", "NFC look-alike siblings")


def test_case_fold_siblings_on_a_case_sensitive_filesystem_are_two_files(world, record_property):
    f = world.forge
    cid = f.checkpoint([f.file("README", b"upper\n"), f.file("readme", b"lower\n")])
    assert not rs.case_insensitive(world.ws)
    world.vm.restores.restore(cid)
    assert (world.ws / "README").read_bytes() == b"upper\n" and (world.ws / "readme").read_bytes() == b"lower\n"
    tally(record_property, "neutralized", "case-fold siblings (case-sensitive filesystem: two files)")


def test_case_fold_siblings_on_a_case_insensitive_filesystem_are_refused(world, record_property, monkeypatch):
    monkeypatch.setattr(rs, "case_insensitive", lambda _ws: True)  # as on macOS, or ext4 with casefold
    f = world.forge
    link = f.link("Lnk", str(world.sentinel))
    cid = f.checkpoint([f.file("README", b"upper\n"), f.file("readme", b"lower\n"),
                        link, f.dir("lnk", [f.file("through.txt", b"pwned\n")])])
    refused(world, cid, "differ only in case")
    tally(record_property, "refused", "case-fold siblings on a case-insensitive filesystem")


def test_non_nfc_name_alone_is_refused(world, record_property):
    f = world.forge
    cid = f.checkpoint([f.file("e\u0301.txt", b"nfd\n")])
    refused(world, cid, "not NFC-normalized and folds to 'é.txt'")
    tally(record_property, "refused", "a non-NFC name")


def test_paths_longer_than_4096_bytes_are_refused_without_recursion(world, record_property):
    f = world.forge
    # 4,200 bytes of "d/": deeper than Python's recursion limit too, which the walks must not hit
    cid = f.checkpoint(root=f.chain(2100, f.file("leaf.txt", b"deep\n")))
    refused(world, cid, "longer than 4096 bytes")
    tally(record_property, "refused", "a tree 2,100 folders deep")


def test_a_deep_but_valid_tree_restores(world, record_property):
    f = world.forge
    # (not deeper: Python 3.11's os.walk and shutil.rmtree recurse, and later clean-ups use them)
    cid = f.checkpoint(root=f.chain(500, f.file("leaf.txt", b"deep\n")))
    world.vm.restores.restore(cid)
    assert (world.ws / ("d/" * 500 + "leaf.txt")).read_bytes() == b"deep\n"
    tally(record_property, "neutralized", "a tree 500 folders deep (valid: restored)")


@pytest.mark.parametrize("name", ["line\u2028sep", "para\u2029sep", "next\x85line", "nb\u00a0sp"])
def test_names_with_unicode_line_breaks_round_trip(vm, name):
    """str.splitlines() breaks at U+2028, U+0085 and more: a tree holding such a (valid)
    name must still decode as one entry, or the checkpoint would be unreadable."""
    project = vm.projects.create("Line breaks")
    ws = Path(project.workspace)
    write(ws, name, "kept\n")
    cp = vm.checkpoints.create(project.id).checkpoint
    assert vm.checkpoints.entry(cp.id, name) is not None
    (ws / name).unlink()
    vm.restores.restore(cp.id)
    assert (ws / name).read_text() == "kept\n"


# -- kinds, modes, sizes ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["hardlink", "link", "fifo", "chardev", "blockdev", "socket", "FILE", "whiteout"])
def test_kinds_the_format_cannot_express_are_refused(world, record_property, kind):
    f = world.forge
    raw = line(kind, 0o644, 11, f.blob(b"/etc/passwd"), "entry") + line(FILE, 0o644, 5, f.blob(b"keep\n"), "keep.txt")
    cid = f.checkpoint(root=f.tree([], raw=raw))
    refused(world, cid, f"unknown entry kind {kind!r}")
    tally(record_property, "refused", f"entry of kind {kind!r}")


def test_special_file_type_bits_in_a_mode_make_a_plain_file(world, record_property):
    f = world.forge
    cid = f.checkpoint([f.file("dev", b"data\n", mode=stat.S_IFCHR | 0o666), f.file("pipe", b"p\n", mode=stat.S_IFIFO | 0o644)])
    world.vm.restores.restore(cid)
    for name, mode in (("dev", 0o666), ("pipe", 0o644)):
        st = os.lstat(world.ws / name)
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == mode
    tally(record_property, "neutralized", "device/fifo type bits in a file's mode")


def test_setuid_setgid_sticky_bits_are_dropped(world, record_property):
    f = world.forge
    cid = f.checkpoint([
        f.file("suid", b"#!/bin/sh\n", mode=0o4755),
        f.file("sgid", b"#!/bin/sh\n", mode=0o2755),
        f.file("all", b"#!/bin/sh\n", mode=0o7777),
        f.dir("sticky", [f.file("x", b"x")], mode=0o1777),
        f.dir("setgid-dir", [f.file("y", b"y")], mode=0o2775),
    ])
    world.vm.restores.restore(cid)
    modes = {n: stat.S_IMODE(os.lstat(world.ws / n).st_mode) for n in ("suid", "sgid", "all", "sticky", "setgid-dir")}
    assert modes == {"suid": 0o755, "sgid": 0o755, "all": 0o777, "sticky": 0o777, "setgid-dir": 0o775}
    tally(record_property, "neutralized", "setuid/setgid/sticky modes (dropped)")


def test_mode_change_on_an_existing_file_drops_setuid_too(world, record_property):
    f = world.forge
    write(world.ws, "tool", "#!/bin/sh\n", 0o755)
    cid = f.checkpoint([f.file("tool", b"#!/bin/sh\n", mode=0o6755)])
    world.vm.restores.restore(cid)
    assert stat.S_IMODE(os.lstat(world.ws / "tool").st_mode) == 0o755
    tally(record_property, "neutralized", "a chmod to setuid of an existing file")


def test_a_huge_size_claim_is_refused(world, record_property):
    f = world.forge
    cid = f.checkpoint([f.file("huge.bin", b"small\n", size=2**50)])
    refused(world, cid, "holds 1,125,899,906,842,624 bytes but its blob holds 6")
    tally(record_property, "refused", "a 1 PiB size claim")


def test_a_size_claim_below_the_blob_is_refused(world, record_property):
    f = world.forge
    cid = f.checkpoint([f.file("short.txt", b"0123456789", size=1)])
    refused(world, cid, "holds 1 bytes but its blob holds 10")
    tally(record_property, "refused", "a size claim below the blob's")


def test_a_forged_tree_row_that_contains_itself_is_refused(world, record_property):
    f = world.forge
    fake = "f" * 64
    raw = line(DIR, 0o755, 0, fake, "loop") + line(FILE, 0o644, 5, f.blob(b"keep\n"), "keep.txt")
    f.tree([], raw=raw, digest=fake)  # its name is not the hash of its bytes: it names itself
    cid = f.checkpoint(root=fake)
    refused(world, cid, "content does not match its hash")
    tally(record_property, "refused", "a tree row that contains itself (forged hash)")


def test_negative_size_is_refused(world, record_property):
    f = world.forge
    raw = line(FILE, 0o644, 5, f.blob(b"keep\n"), "keep.txt").replace(b" 5 ", b" -5 ")
    cid = f.checkpoint(root=f.tree([], raw=raw))
    refused(world, cid, "negative size")
    tally(record_property, "refused", "a negative size")


def test_missing_blob_is_refused(world, record_property):
    f = world.forge
    cid = f.checkpoint([Entry("ghost.txt", FILE, 0o644, 5, "0" * 64)])
    refused(world, cid, "missing from the store")
    tally(record_property, "refused", "a missing blob")


# -- symlinks -----------------------------------------------------------------------------------


def _refused_paths(w, cid: str) -> dict[str, str]:
    result = w.vm.restores.restore(cid).result
    return dict(result.refused)


def test_symlinks_pointing_outside_are_left_out_and_reported(world, record_property):
    f = world.forge
    cid = f.checkpoint([
        f.link("abs", str(world.sentinel)),
        f.link("abs-file", str(world.sentinel / "victim.txt")),
        f.link("rel", "../sentinel"),
        f.link("rel-deep", "../../../../../../../../etc/passwd"),
        f.link("root", "/"),
        f.link("up", ".."),
        f.link("nul", b"ok\x00/../../etc"),
        f.dir("d", [f.link("deep", "../../sentinel"), f.link("fine", "../keep.txt")]),
        f.file("keep.txt", b"keep\n"),
    ])
    got = _refused_paths(world, cid)
    assert set(got) == {"abs", "abs-file", "rel", "rel-deep", "root", "up", "nul", "d/deep"}
    assert all("points outside the workspace" in why for why in got.values())
    for rel in got:
        assert not os.path.lexists(world.ws / rel)
    assert os.readlink(world.ws / "d/fine") == "../keep.txt"
    entry = world.vm.log(project=world.project.id, operation="checkpoint.restore", limit=1)[0]
    assert sorted(entry["details"]["refused"]) == sorted(got)
    for rel in got:
        tally(record_property, "skipped", f"symlink {rel} pointing outside")


def test_symlink_chains_that_escape_are_removed(world, record_property):
    f = world.forge
    cid = f.checkpoint([
        f.dir("d", [f.link("q", "..")]),  # d/q -> the workspace root: inside
        f.link("r", "d/q/.."),  # lexically inside (d), really the workspace's parent
        f.link("s", "r/sentinel"),  # through r
        f.link("t", "d/q/keep.txt"), f.file("keep.txt", b"keep\n"),
    ])
    got = _refused_paths(world, cid)
    assert set(got) == {"r"} and "through other links" in got["r"]
    assert not os.path.lexists(world.ws / "r")
    real = os.path.realpath(world.ws)
    for rel in ("d/q", "t", "s"):  # s now dangles inside: r is gone
        resolved = os.path.realpath(world.ws / rel)
        assert resolved == real or resolved.startswith(real + os.sep), (rel, resolved)
    tally(record_property, "skipped", "symlink chain r escaping through another link")


@pytest.mark.parametrize("target, label", [(b"", "empty"), (b"x" * 5000, "5,000-byte")])
def test_symlink_targets_the_kernel_refuses_are_skipped_before_any_change(world, record_property, target, label):
    f = world.forge
    cid = f.checkpoint([f.link("bad", target), f.file("keep.txt", b"keep\n"), f.file("new.txt", b"new\n")])
    got = _refused_paths(world, cid)
    assert set(got) == {"bad"} and "not a valid link target" in got["bad"]
    assert (world.ws / "new.txt").read_bytes() == b"new\n"
    tally(record_property, "skipped", f"a symlink with a {label} target")


def test_a_symlinked_folder_in_the_workspace_is_replaced_not_followed(world, record_property):
    f = world.forge
    # the workspace's src is swapped for a link to the sentinel before the restore
    for p in sorted((world.ws / "src").rglob("*"), reverse=True):
        p.unlink()
    (world.ws / "src").rmdir()
    os.symlink(world.sentinel, world.ws / "src")
    cid = f.checkpoint([f.dir("src", [f.file("app.py", b"pwned\n"), f.file("victim.txt", b"pwned\n")]),
                        f.file("keep.txt", b"keep\n")])
    world.vm.restores.restore(cid)
    assert not (world.ws / "src").is_symlink()
    assert (world.ws / "src/victim.txt").read_bytes() == b"pwned\n"  # inside, in a real folder
    tally(record_property, "neutralized", "a symlinked folder in the workspace (replaced, not followed)")


def test_a_symlink_then_a_folder_of_a_case_variant_name_never_writes_through(world, record_property):
    f = world.forge
    cid = f.checkpoint([f.link("Out", str(world.near)), f.dir("out", [f.file("victim.txt", b"pwned\n")])])
    got = _refused_paths(world, cid)
    assert set(got) == {"Out"}
    assert (world.ws / "out/victim.txt").read_bytes() == b"pwned\n"
    tally(record_property, "skipped", "a symlink beside a case-variant folder")


def test_a_file_entry_where_the_workspace_has_a_link_to_outside_changes_no_mode_outside(world, record_property):
    """CVE-2024-12718: a filter bypass let tarfile chmod files outside the destination."""
    f = world.forge
    os.symlink(world.sentinel / "victim.txt", world.ws / "victim-link")
    cid = f.checkpoint([f.file("victim-link", b"mine\n", mode=0o777), f.file("keep.txt", b"keep\n")])
    world.vm.restores.restore(cid)
    assert stat.S_IMODE(os.stat(world.sentinel / "victim.txt").st_mode) == 0o600
    assert not (world.ws / "victim-link").is_symlink()
    tally(record_property, "neutralized", "a mode change aimed through a workspace link (CVE-2024-12718)")


def test_partial_restore_under_a_symlinked_folder_never_writes_through(world, record_property):
    f = world.forge
    cid = f.checkpoint([f.dir("src", [f.file("app.py", b"print('app')\n")]), f.file("keep.txt", b"keep\n")])
    for p in sorted((world.ws / "src").rglob("*"), reverse=True):
        p.unlink()
    (world.ws / "src").rmdir()
    os.symlink(world.near, world.ws / "src")
    world.vm.restores.restore(cid, paths=["src/app.py"])
    assert not (world.ws / "src").is_symlink()
    tally(record_property, "neutralized", "a partial restore below a symlinked folder")


def test_outside_symlinks_stored_as_plain_files(make_vm, tmp_path, record_property):
    vm = make_vm(config_text='[limits]\noutside_symlinks = "store"\n')
    project = vm.projects.create("Store links")
    ws = Path(project.workspace)
    f = Forge(vm, project.id)
    sentinel = tmp_path / "sentinel"
    write(sentinel, "victim.txt", "do not touch\n")
    cid = f.checkpoint([f.link("abs", str(sentinel)), f.link("rel", "../../x"), f.link("in", "abs"),
                        f.dir("d", [f.link("q", "..")]), f.link("r", "d/q/.."), f.file("k", b"k")])
    result = vm.restores.restore(cid).result
    assert sorted(result.as_files) == ["abs", "r", "rel"]
    assert result.refused == []
    for rel, text in (("abs", str(sentinel)), ("rel", "../../x"), ("r", "d/q/..")):
        st = os.lstat(ws / rel)
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o644
        assert (ws / rel).read_text() == text
    assert os.readlink(ws / "in") == "abs"  # inside: a link still (to the plain file)
    assert sorted(os.listdir(sentinel)) == ["victim.txt"]
    entry = vm.log(project=project.id, operation="checkpoint.restore", limit=1)[0]
    assert sorted(entry["details"]["as_files"]) == ["abs", "r", "rel"]
    tally(record_property, "neutralized", "outside symlinks with outside_symlinks = 'store' (plain files)")


def test_apply_defaults_to_refusing_outside_links(vm):
    project = vm.projects.create("Apply")
    f = Forge(vm, project.id)
    root = vm.checkpoints.get(f.checkpoint([f.link("abs", "/etc")])).root_tree
    plan = rs.plan(dict(vm.ctx.store.walk(root)), {})
    result = rs.apply(vm.ctx.store, Path(project.workspace), plan)
    assert result.as_files == [] and [p for p, _ in result.refused] == ["abs"]
    assert os.listdir(project.workspace) == []


# -- project create --import ------------------------------------------------------------------


@pytest.fixture
def importer(make_vm, tmp_path):
    """``(vm_factory, src, check)``: a source folder to fill, and a check that a refused
    import left nothing: no project, no workspace folder, nothing outside changed."""
    src = tmp_path / "src"
    src.mkdir()
    write(src, "ok.txt", "ok\n")
    sentinel = tmp_path / "sentinel"
    write(sentinel, "victim.txt", "do not touch\n", 0o600)

    def refused_import(vm, error, fragment: str) -> str:
        before_projects = [p.id for p in vm.projects.list()]
        workspaces = vm.ctx.workspaces_dir
        before_ws = sorted(os.listdir(workspaces)) if workspaces.exists() else []
        before = snapshot(sentinel)
        with pytest.raises(error) as err:
            vm.projects.create("Imported", import_dir=src)
        message = str(err.value)
        assert fragment in message and "\n" not in message, message
        assert "nothing was copied" in message
        assert [p.id for p in vm.projects.list()] == before_projects
        assert (sorted(os.listdir(workspaces)) if workspaces.exists() else []) == before_ws
        assert snapshot(sentinel) == before
        return message

    return make_vm, src, sentinel, refused_import


def test_import_refuses_a_symlink_to_outside(importer, record_property):
    make_vm, src, sentinel, refused_import = importer
    os.symlink(sentinel / "victim.txt", src / "passwd")
    message = refused_import(make_vm(), UsageError, "passwd is a symlink to")
    assert 'outside_symlinks = "store"' in message
    tally(record_property, "import refused", "a symlink to outside")


def test_import_refuses_a_relative_symlink_chain_that_escapes(importer, record_property):
    make_vm, src, _, refused_import = importer
    (src / "d").mkdir()
    os.symlink("..", src / "d" / "q")
    os.symlink("d/q/../sentinel", src / "r")
    refused_import(make_vm(), UsageError, "r is a symlink to 'd/q/../sentinel'")
    tally(record_property, "import refused", "a symlink chain escaping through another link")


def test_import_stores_outside_links_as_plain_files_when_configured(importer, record_property):
    make_vm, src, sentinel, _ = importer
    os.symlink(sentinel / "victim.txt", src / "passwd")
    os.symlink("ok.txt", src / "inside")
    vm = make_vm(config_text='[limits]\noutside_symlinks = "store"\n')
    project = vm.projects.create("Imported", import_dir=src)
    ws = Path(project.workspace)
    assert stat.S_ISREG(os.lstat(ws / "passwd").st_mode)
    assert (ws / "passwd").read_text() == str(sentinel / "victim.txt")
    assert os.readlink(ws / "inside") == "ok.txt"
    entry = vm.log(project=project.id, operation="project.create", limit=1)[0]
    assert entry["details"]["imported"]["symlinks_as_files"] == ["passwd"]
    tally(record_property, "import neutralized", "a symlink to outside stored as a plain file")


def test_import_refuses_a_fifo(importer, record_property):
    make_vm, src, _, refused_import = importer
    os.mkfifo(src / "pipe")
    refused_import(make_vm(), UsageError, "pipe is a fifo; vmuser imports only files, folders and symlinks")
    tally(record_property, "import refused", "a fifo")


def test_import_refuses_a_socket(importer, record_property, tmp_path):
    import socket

    make_vm, src, _, refused_import = importer
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(os.fspath(src / "s.sock"))
        refused_import(make_vm(), UsageError, "s.sock is a socket")
    finally:
        sock.close()
    tally(record_property, "import refused", "a socket")


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a device needs root")
def test_import_refuses_a_device(importer, record_property):
    make_vm, src, _, refused_import = importer
    os.mknod(src / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    refused_import(make_vm(), UsageError, "null is a character device")
    tally(record_property, "import refused", "a character device")


def test_import_drops_setuid_setgid_sticky_and_copies_hard_links_apart(importer, record_property):
    make_vm, src, _, _ = importer
    write(src, "suid", "#!/bin/sh\n", 0o4755)
    write(src, "sgid", "#!/bin/sh\n", 0o2711)
    (src / "shared").mkdir(mode=0o755)
    os.chmod(src / "shared", 0o3777)
    os.link(src / "ok.txt", src / "hard.txt")
    (src / "ro").mkdir()
    write(src, "ro/inside.txt", "ro\n", 0o444)
    os.chmod(src / "ro", 0o555)
    vm = make_vm()
    project = vm.projects.create("Imported", import_dir=src)
    ws = Path(project.workspace)
    mode = lambda rel: stat.S_IMODE(os.lstat(ws / rel).st_mode)
    assert (mode("suid"), mode("sgid"), mode("shared"), mode("ro"), mode("ro/inside.txt")) == (
        0o755, 0o711, 0o777, 0o555, 0o444)
    assert os.lstat(ws / "hard.txt").st_ino != os.lstat(ws / "ok.txt").st_ino
    assert os.lstat(ws / "hard.txt").st_nlink == 1 and (ws / "hard.txt").read_text() == "ok\n"
    assert os.lstat(src / "ok.txt").st_nlink == 2  # the source is untouched
    tally(record_property, "import neutralized", "setuid/setgid/sticky bits dropped, hard link copied apart")


@pytest.mark.parametrize("rel, fragment", [
    ("sub/back\\slash", "backslash"), ("sub/e\u0301.txt", "is not NFC-normalized"), (".vmuser/x", "reserved '.vmuser'"),
    (".VMUSER", "reserved '.vmuser'"), ("sub/.vmuser-tmp-0011", "reserved '.vmuser-tmp-' prefix"),
    ("sub/ctl\x01", "control character"), ("C:x", "drive prefix"),
])
def test_import_refuses_names_vmuser_cannot_store(importer, record_property, rel, fragment):
    make_vm, src, _, refused_import = importer
    write(src, rel, "x")
    refused_import(make_vm(), UsageError, fragment)
    tally(record_property, "import refused", f"a file at {rel!r}")


# -- limits -------------------------------------------------------------------------------------


def test_import_over_max_file_size_is_refused_before_anything_is_copied(importer, record_property):
    make_vm, src, _, refused_import = importer
    write(src, "big.bin", b"\0" * 5000)
    vm = make_vm(config_text="[limits]\nmax_file_size = 4096\n")
    refused_import(vm, LimitError, "big.bin holds 5,000 bytes, over [limits] max_file_size (4,096 bytes)")
    tally(record_property, "import refused", "a file over max_file_size")


def test_import_over_max_import_size_is_refused_before_anything_is_copied(importer, record_property):
    make_vm, src, _, refused_import = importer
    for i in range(5):
        write(src, f"part{i}.bin", b"\0" * 3000)
    vm = make_vm(config_text="[limits]\nmax_import_size = 10000\n")
    refused_import(vm, LimitError, "its files hold more than 10,000 bytes, over [limits] max_import_size")
    tally(record_property, "import refused", "a folder over max_import_size")


def test_import_over_max_entries_per_dir_is_refused(importer, record_property):
    make_vm, src, _, refused_import = importer
    for i in range(6):
        write(src, f"many/f{i}", "x")
    vm = make_vm(config_text="[limits]\nmax_entries_per_dir = 5\n")
    refused_import(vm, LimitError, "many holds 6 entries, over [limits] max_entries_per_dir (5)")
    tally(record_property, "import refused", "a folder over max_entries_per_dir")


def test_import_within_the_limits_copies_exactly(importer):
    make_vm, src, _, _ = importer
    write(src, "a/b/c.txt", "c\n", 0o600)
    os.symlink("b/c.txt", src / "a" / "link")
    (src / "empty").mkdir()
    vm = make_vm(config_text="[limits]\nmax_file_size = 4096\nmax_entries_per_dir = 3\nmax_import_size = 100\n")
    project = vm.projects.create("Imported", import_dir=src)
    assert snapshot(project.workspace) == snapshot(src)
    entry = vm.log(project=project.id, operation="project.create", limit=1)[0]
    assert entry["details"]["imported"] == {"files": 2, "bytes": 5, "symlinks_as_files": []}


def test_vfs_write_over_max_file_size_leaves_no_temp_file(make_vm):
    vm = make_vm(config_text="[limits]\nmax_file_size = 10\n")
    project = vm.projects.create("Limits")
    with pytest.raises(LimitError, match=r"^big: 11 bytes is over \[limits\] max_file_size \(10 bytes\)$"):
        vm.fs.write(project.id, "big", b"x" * 11)
    assert os.listdir(project.workspace) == []


def test_vfs_entry_limit_covers_write_mkdir_and_mv(make_vm):
    vm = make_vm(config_text="[limits]\nmax_entries_per_dir = 2\n")
    project = vm.projects.create("Limits")
    ws = Path(project.workspace)
    vm.fs.write(project.id, "full/a", b"a")
    vm.fs.write(project.id, "full/b", b"b")
    vm.fs.write(project.id, "other", b"o")
    before = snapshot(ws)
    for call in (lambda: vm.fs.write(project.id, "full/c", b"c"), lambda: vm.fs.mkdir(project.id, "full/d"),
                 lambda: vm.fs.mv(project.id, "other", "full/other")):
        with pytest.raises(LimitError, match=r"full already holds 2 entries \(\[limits\] max_entries_per_dir = 2\)"):
            call()
    assert snapshot(ws) == before


def test_vfs_refuses_a_look_alike_of_a_non_nfc_sibling(vm, record_property):
    project = vm.projects.create("Look-alike")
    ws = Path(project.workspace)
    write(ws, "cafe\u0301.txt", "made in the container\n")  # NFD, as macOS tools write it
    for call in (lambda: vm.fs.write(project.id, "café.txt", b"second\n"), lambda: vm.fs.mkdir(project.id, "café.txt")):
        with pytest.raises(VmuserError, match=r"already holds 'cafe\\u0301.txt', a non-NFC name that folds to"):
            call()
    assert os.listdir(ws) == ["cafe\u0301.txt"]
    tally(record_property, "refused", "a VFS write of a look-alike of a non-NFC sibling")


# -- the tally --------------------------------------------------------------------------------


def test_zz_tally(record_property):
    """Runs last in this module (pytest keeps file order): the counts for issue #7."""
    if not TALLY["refused"]:
        pytest.skip("run the whole module to get the tally")
    counts = {k: len(v) for k, v in TALLY.items()}
    record_property("hostile_counts", counts)
    print(f"\nhostile trees and imports: {counts}")
    assert counts["refused"] >= 40 and counts["skipped"] >= 10 and counts["import refused"] >= 10, counts
