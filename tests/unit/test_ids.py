"""Project ids, prefixes and git-style unique-prefix resolution on real database rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vmuser_tui.core import clock
from vmuser_tui.core.db import Database
from vmuser_tui.core.errors import AmbiguousError, NotFoundError, UsageError
from vmuser_tui.core.ids import PROJECT_ID_RE, new_project_id, new_short_id, prefix_from_name, validate_prefix

ID_RE = re.compile(r"^(?P<prefix>[a-z][a-z0-9-]*)-(?P<hex>[0-9a-f]{8})$")


# -- project ids ----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["web", "a", "web-app", "x1", "a-b-c", "p" * 32, "abc123def"])
def test_new_project_id_is_prefix_dash_8_hex(prefix):
    pid = new_project_id(prefix)
    m = ID_RE.match(pid)
    assert m, pid
    assert m["prefix"] == prefix
    assert PROJECT_ID_RE.match(pid)


def test_new_project_ids_differ():
    ids = {new_project_id("web") for _ in range(200)}
    assert len(ids) == 200


def test_short_ids_are_lowercase_hex_of_requested_length():
    for length in (4, 10, 11, 12):
        sid = new_short_id(length)
        assert len(sid) == length
        assert re.fullmatch(r"[0-9a-f]+", sid)
    assert len({new_short_id() for _ in range(500)}) == 500


@pytest.mark.parametrize("prefix", ["web", "a", "web-app", "a1-b2", "p" * 32, "a--b"])
def test_valid_prefixes_accepted(prefix):
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize(
    "prefix",
    [
        "",  # empty
        "Web",  # uppercase
        "WEB",
        "1web",  # starts with a digit
        "-web",  # starts with a hyphen
        "web-",  # ends with a hyphen
        "web_app",  # underscore
        "web app",  # space
        "web.app",  # dot
        "p" * 33,  # too long
        "wéb",  # non-ASCII letter
        "web/app",
    ],
)
def test_invalid_prefixes_rejected_with_a_hint(prefix):
    with pytest.raises(UsageError) as err:
        validate_prefix(prefix)
    assert "web-app" in str(err.value)  # the message shows a valid example
    with pytest.raises(UsageError):
        new_project_id(prefix)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("My Web App!", "my-web-app"),
        ("web", "web"),
        ("  spaced   out  ", "spaced-out"),
        ("UPPER_case.Name", "upper-case-name"),
        ("123 numbers first", "numbers-first"),
        ("2024", "project"),  # no letter at all
        ("!!!", "project"),
        ("", "project"),
        ("日本語", "project"),  # nothing ASCII survives
        ("Café Olé", "cafe-ole"),  # accents folded
        ("Ünïcödé façade", "unicode-facade"),
        ("a" * 40, "a" * 32),  # truncated to 32
        ("a" * 31 + " b", "a" * 31),  # truncation never leaves a trailing hyphen
        ("--x--", "x"),
        ("9lives", "lives"),
        ("tab\tand\nnewline", "tab-and-newline"),
    ],
)
def test_prefix_from_name(name, expected):
    prefix = prefix_from_name(name)
    assert prefix == expected
    assert validate_prefix(prefix) == prefix  # always usable as is


# -- resolution against a real database -------------------------------------------------


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "vmuser.db")
    yield database
    database.close()


def _insert_projects(db: Database, ids: list[str]) -> None:
    now = clock.now_iso()
    with db.write() as conn:
        for pid in ids:
            conn.execute(
                "INSERT INTO projects(id, name, workspace, created_at, updated_at, last_active_at) VALUES (?,?,?,?,?,?)",
                (pid, f"name of {pid}", f"/tmp/{pid}", now, now, now),
            )


IDS = ["web-0a1b2c3d", "web-0a1bffff", "web-9f000000", "api-12345678", "apix-deadbeef"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("web-0a1b2c3d", "web-0a1b2c3d"),  # full id
        ("web-0a1b2", "web-0a1b2c3d"),  # unique prefix
        ("web-0a1bf", "web-0a1bffff"),
        ("web-9", "web-9f000000"),
        ("api-", "api-12345678"),  # 'apix-' does not start with 'api-'
        ("apix", "apix-deadbeef"),
        ("  api-1  ", "api-12345678"),  # surrounding spaces ignored
    ],
)
def test_resolve_full_id_and_unique_prefix(db, text, expected):
    _insert_projects(db, IDS)
    assert db.resolve("projects", text, what="project") == expected


@pytest.mark.parametrize(
    "text, candidates",
    [
        ("web-0a1b", ["web-0a1b2c3d", "web-0a1bffff"]),
        ("web-", ["web-0a1b2c3d", "web-0a1bffff", "web-9f000000"]),
    ],
)
def test_ambiguous_prefix_lists_the_candidates(db, text, candidates):
    _insert_projects(db, IDS)
    with pytest.raises(AmbiguousError) as err:
        db.resolve("projects", text, what="project")
    message = str(err.value)
    for cid in candidates:
        assert cid in message
    for other in set(IDS) - set(candidates):
        assert other not in message
    assert "more characters" in message


def test_ambiguous_prefix_lists_at_most_five(db):
    ids = [f"web-0000000{i}" for i in range(8)]
    _insert_projects(db, ids)
    with pytest.raises(AmbiguousError) as err:
        db.resolve("projects", "web-", what="project")
    listed = re.findall(r"web-[0-9a-f]{8}", str(err.value))
    assert listed == ids[:5]


@pytest.mark.parametrize("text", ["zzzz", "web-1", "web-0a1b2c3d0", "api-12345678x", "web-0a1b2c3e"])
def test_no_match_is_not_found(db, text):
    _insert_projects(db, IDS)
    with pytest.raises(NotFoundError) as err:
        db.resolve("projects", text, what="project")
    assert "vmuser project list" in str(err.value)


@pytest.mark.parametrize("text", ["web_", "web%", "%%%%", "____", "w_b-", "web-0a1b2c3_"])
def test_like_wildcards_are_literal(db, text):
    """'_' and '%' must not act as SQL LIKE wildcards in a prefix."""
    _insert_projects(db, IDS)
    with pytest.raises(NotFoundError):
        db.resolve("projects", text, what="project")


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_id_is_not_found(db, text):
    _insert_projects(db, IDS)
    with pytest.raises(NotFoundError):
        db.resolve("projects", text, what="project")


def test_projects_resolve_by_id_prefix_and_by_exact_name(vm):
    a = vm.projects.create("Alpha Site", prefix="site")
    b = vm.projects.create("Beta Site", prefix="site")
    assert vm.projects.resolve(a.id) == a.id
    assert vm.projects.resolve("Beta Site") == b.id
    with pytest.raises(AmbiguousError) as err:
        vm.projects.resolve("site-")
    assert a.id in str(err.value) and b.id in str(err.value)
    # the shortest prefix that tells them apart resolves
    n = next(i for i in range(len("site-") + 1, 14) if a.id[:i] != b.id[:i])
    assert vm.projects.resolve(a.id[:n]) == a.id
    assert vm.projects.resolve(b.id[:n]) == b.id
    with pytest.raises(NotFoundError):
        vm.projects.resolve("Gamma Site")


def test_checkpoint_and_session_ids_resolve_by_prefix(vm):
    p = vm.projects.create("cp")
    ws = Path(p.workspace)
    ws.joinpath("f").write_text("1")
    c1 = vm.checkpoints.create(p.id).checkpoint
    ws.joinpath("f").write_text("2")
    c2 = vm.checkpoints.create(p.id).checkpoint
    assert vm.checkpoints.get(c1.id[:7]).id == c1.id
    assert vm.checkpoints.get(c2.id).id == c2.id
    with pytest.raises(NotFoundError):
        vm.checkpoints.get("nothex")
    s = vm.sessions.start(p.id, runtime="none").session
    assert vm.sessions.get(s.id[:6]).id == s.id
    with pytest.raises(NotFoundError):
        vm.sessions.get("zz")


@pytest.mark.parametrize("text", ["w", "we", "web", "api", "2"])
def test_prefix_needs_four_characters(db, text):
    """As git's abbreviated names: a stray short prefix never picks something to act on."""
    _insert_projects(db, IDS)
    with pytest.raises(NotFoundError) as err:
        db.resolve("projects", text, what="project")
    assert "at least 4 characters" in str(err.value)
