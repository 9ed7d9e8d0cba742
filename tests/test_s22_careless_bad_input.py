"""A careless operator's command lines (session 22), in the style of tests/test_bad_input.py.

Each row runs the real ``vmuser`` in a subprocess against a small world (project ``alpha``
with two checkpoints) and asserts what a user or a script notices: one line on stderr, no
traceback, the exit code, the words of the message, and that the database and workspaces
are as they were. A few tests after the table check what a row cannot: a data dir that must
not be created, and the words printed on success.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

PY = [sys.executable, "-m", "vmuser_tui"]


def row(rid, argv, code, message):
    return pytest.param(argv, code, message, id=rid)


# fmt: off
ROWS = [
    # an empty value is a variable that was not set: never "the default data dir / config"
    row("data-dir-empty", ["--data-dir", "", "project", "list"], 2,
        "argument --data-dir: an empty path; give one, or leave the option out for the default"),
    row("data-dir-blank-after-command", ["project", "list", "--data-dir", " "], 2,
        "argument --data-dir: an empty path"),
    row("config-empty", ["--config", "", "checkpoint", "list", "{A}"], 2, "argument --config: an empty path"),
    row("config-empty-after-command", ["config", "show", "--config", ""], 2, "argument --config: an empty path"),
    # `vmuser check` of a data dir that is not there: not "no damage"
    row("check-missing-data-dir", "--data-dir {tmp}/no/such/data check", 1,
        "no vmuser database in {tmp}/no/such/data: nothing to check; give the data dir that holds vmuser.db"),
    row("check-empty-data-dir", "--data-dir {tmp}/empty-dir check", 1, "no vmuser database in {tmp}/empty-dir"),
    row("check-missing-data-dir-json", "--data-dir {tmp}/no/such/data check --json", 1, "no vmuser database in"),
    # times: an empty one, and a window that ends before it starts
    row("log-since-empty", ["log", "--since", ""], 2, "--since: cannot read the time ''"),
    row("log-until-empty", ["log", "--until", ""], 2, "--until: cannot read the time ''"),
    row("log-since-after-until", "log --since 1h --until 2h", 2,
        "--since 1h is later than --until 2h, so nothing can match; swap them"),
    # an empty filter (`--at "$CP"` with CP unset) is not "no filter": it would show other data as if filtered
    row("fs-ls-at-empty", ["fs", "ls", "{A}", "--at", ""], 2,
        "--at '': give a checkpoint id, or leave the option out for the live workspace"),
    row("fs-cat-at-blank", ["fs", "cat", "{A}", "a.txt", "--at", " "], 2, "--at ' ': give a checkpoint id"),
    row("checkpoint-list-tag-empty", ["checkpoint", "list", "{A}", "--tag", ""], 2,
        "--tag '': give a tag, or leave the option out for every checkpoint"),
    row("checkpoint-list-annotation-tag-empty", ["checkpoint", "list", "{A}", "--annotation-tag", ""], 2,
        "--annotation-tag '': give a tag"),
    row("project-list-tag-empty", ["project", "list", "--tag", ""], 2, "--tag '': give a tag"),
    row("log-project-empty", ["log", "--project", ""], 2,
        "--project '': give a project id or name, or leave the option out for every project"),
    row("log-session-empty", ["log", "--session", ""], 2, "--session '': give a session id"),
    row("log-actor-empty", ["log", "--actor", ""], 2, "--actor '': give a user@host (or a part of it)"),
    row("log-operation-empty", ["log", "--operation", ""], 2, "--operation '': give an operation"),
    # a project named "-dash" (allowed: vmuser project create -- -dash), named without --
    row("name-leading-dash", "project show -dash", 2,
        "the following arguments are required: project; a name that starts with '-' goes after --, "
        "e.g. vmuser project show -- -dash"),
    row("name-leading-dash-checkpoint", "checkpoint list -dash", 2,
        "e.g. vmuser checkpoint list -- -dash"),
    # `config init` somewhere it cannot write: one line, not an internal error
    row("config-init-on-folder", "config init --config {tmp}", 2,
        "cannot write the config file {tmp}: it is a folder; give a file path with --config"),
    row("config-init-on-folder-force", "config init --force --config {tmp}", 2, "it is a folder"),
    row("config-init-under-a-file", "config init --config {tmp}/src/a.txt/config.toml", 1,
        "cannot write the config file {tmp}/src/a.txt/config.toml: "),
    row("config-init-in-proc", "config init --config /proc/vmuser/config.toml", 1,
        "cannot write the config file /proc/vmuser/config.toml: "),
    # a tag the TUI cannot tell from its own syntax ("-x" removes x, "+x" adds x) could never be removed there
    row("tag-leading-dash", ["checkpoint", "tag", "{C1}", "--", "-wip"], 2,
        "invalid tag '-wip': a tag may not start with '-' or '+'"),
    row("tag-leading-plus", ["checkpoint", "create", "{A}", "--tag", "+1"], 2, "invalid tag '+1'"),
    row("project-tag-leading-dash", ["project", "create", "x", "--tag=-old"], 2, "invalid tag '-old'"),
    row("annotation-tag-leading-dash", ["checkpoint", "annotate", "{C1}", "--label", "x", "--tag=-ci"], 2,
        "invalid tag '-ci'"),
    # `project export -o -` wrote a 1 GiB file named '-' into the current folder
    row("export-to-stdout", "project export {A} -o -", 2,
        "-o '-': give the name of the file to write, e.g. -o {A}.vmuser (the export is an SQLite file: it cannot go"),
    row("export-to-empty", ["project", "export", "{A}", "-o", ""], 2, "-o '': give the name of the file to write"),
    row("log-since-after-until-iso", "log --since 2026-02-01 --until 2026-01-01 --json", 2,
        "--since 2026-02-01 is later than --until 2026-01-01"),
]
# fmt: on


class World:
    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
        self.env.update(VMUSER_DATA_DIR=str(self.data), VMUSER_CONFIG=str(root / "no-config.toml"))
        self.ids: dict[str, str] = {"tmp": str(root)}

    def run(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*PY, *args], check=False, env={**self.env, **(env or {})},
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, cwd=self.root)

    def ok(self, *args: str) -> str:
        r = self.run(*args)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = World(tmp_path_factory.mktemp("careless"))
    (w.root / "empty-dir").mkdir()
    src = w.root / "src"
    src.mkdir()
    (src / "a.txt").write_text("one\n")
    a = w.ok("project", "create", "alpha", "--import", str(src))
    c1 = w.ok("checkpoint", "create", a, "-m", "one")
    w.run("fs", "put", a, "a.txt", str(src / "a.txt"))
    (src / "b.txt").write_text("two\n")
    w.ok("fs", "put", a, "b.txt", str(src / "b.txt"))
    c2 = w.ok("checkpoint", "create", a, "-m", "two")
    w.ids.update(A=a, C1=c1, C2=c2)
    return w


def _state(world: World) -> list[str]:
    """The database's rows (through the CLI's JSON: no SQL here) and the files under tmp."""
    return [world.ok("checkpoint", "list", world.ids["A"], "--json"), world.ok("log", "--json", "--limit", "1000"),
            repr(sorted(str(p.relative_to(world.root)) for p in world.root.rglob("*")
                        if not p.name.endswith(("-wal", "-shm"))))]


@pytest.mark.parametrize("argv, code, message", ROWS)
def test_careless_input(world, argv, code, message):
    args = shlex.split(argv) if isinstance(argv, str) else list(argv)
    args = [a.format(**world.ids) for a in args]
    before = _state(world)
    r = world.run(*args)
    after = _state(world)
    assert "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, f"expected one line on stderr, got:\n{r.stderr}"
    assert r.returncode == code, r.stderr
    assert message.format(**world.ids) in r.stderr, r.stderr
    assert r.stdout == "", "an error prints nothing on stdout (a script reading --json gets no half document)"
    assert before == after, "the command changed the database or created files"


def test_check_of_a_typo_creates_nothing(world):
    """`vmuser --data-dir /srv/vmsuer check` must not make /srv/vmsuer (with an empty database)."""
    typo = world.root / "typo" / "data"
    assert world.run("--data-dir", str(typo), "check").returncode == 1
    assert not (world.root / "typo").exists()
    env = {"VMUSER_DATA_DIR": str(typo)}
    assert world.run("check", env=env).returncode == 1 and not (world.root / "typo").exists()
    assert world.run("check").returncode == 0  # the real one still checks


def test_restore_that_changes_nothing_offers_no_undo(world):
    """Restoring the checkpoint the workspace already matches: say so, and do not offer an
    "undo" that would be the very same restore."""
    a, c2 = world.ids["A"], world.ids["C2"]
    r = world.run("checkpoint", "restore", c2, "--yes")
    assert r.returncode == 0, r.stderr
    assert f"restored {c2}: no paths change (the workspace already matched it)" in r.stdout
    assert "undo with" not in r.stdout
    # a restore that changes something still names the checkpoint that undoes it
    r = world.run("checkpoint", "restore", world.ids["C1"], "--yes")
    assert r.returncode == 0 and "undo with: vmuser checkpoint restore " in r.stdout, r.stdout + r.stderr
    undo = r.stdout.split("undo with: vmuser checkpoint restore ")[1].split()[0]
    assert world.run("checkpoint", "restore", undo, "--yes").returncode == 0
    assert world.ok("fs", "cat", a, "b.txt") == "two"


@pytest.mark.parametrize("how", ["option", "variable"])
def test_relative_data_dir_is_taken_from_where_it_was_typed(world, tmp_path, how):
    """`vmuser --data-dir data ...` (or VMUSER_DATA_DIR=data) in one folder, then the same data
    dir named from another: the project's workspace is where it was, not "missing" (its path
    was stored relative to the first folder)."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()

    def run(cwd: Path, data: str, *args: str) -> subprocess.CompletedProcess:
        argv = ["--data-dir", data, *args] if how == "option" else list(args)
        env = {**world.env, "VMUSER_DATA_DIR": data} if how == "variable" else world.env
        return subprocess.run([*PY, *argv], env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=120, check=False)

    project = run(here, "data", "project", "create", "rel").stdout.strip()
    assert project
    shown = run(here, "data", "project", "show", project, "--json").stdout
    assert f'"workspace": "{here}/data/workspaces/{project}"' in shown, shown
    assert run(here, "data", "fs", "put", project, "a.txt", "-").returncode == 0
    r = run(elsewhere, str(here / "data"), "checkpoint", "create", project, "-m", "from elsewhere")
    assert r.returncode == 0, r.stderr
    assert not (elsewhere / "data").exists()


def test_put_of_an_endless_stream_stops_at_the_limit(world):
    """`yes | vmuser fs put P log.txt -` (or /dev/zero): refused once [limits] max_file_size
    is passed, not read until memory runs out."""
    a = world.ids["A"]
    with open("/dev/zero", "rb") as zero:
        r = subprocess.run([*PY, "fs", "put", a, "zero.bin", "-"], stdin=zero, capture_output=True, text=True,
                           env={**world.env, "VMUSER_LIMITS_MAX_FILE_SIZE": "1m"}, timeout=60, check=False)
    assert r.returncode == 1, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert "zero.bin: more than 2,097,152 bytes is over [limits] max_file_size" in r.stderr
    assert world.run("fs", "cat", a, "zero.bin").returncode == 1  # nothing written


@pytest.mark.parametrize("source, what", [("/dev/zero", "a character device"), ("/dev/null", "a character device")])
def test_put_of_a_device_says_what_it_is(world, source, what):
    r = world.run("fs", "put", world.ids["A"], "dev.bin", source)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"{source}: is {what}, not a file; to store a stream: vmuser fs put PROJECT PATH - < {source}" in r.stderr


def test_a_project_named_like_a_session_prefix_is_not_silently_the_session(world):
    """A project named "e658" while a session's id starts with e658: `checkpoint create e658`
    took the *session's* project's checkpoint (another project), saying nothing. Now it is
    ambiguous, and the message names both and how to pick."""
    a = world.ids["A"]
    session = world.ok("session", "start", a, "--runtime", "none")
    try:
        name = session[:6]
        other = world.ok("project", "create", name)
        for argv in (["checkpoint", "create", name, "-m", "which?"], ["checkpoint", "list", name]):
            r = world.run(*argv)
            assert r.returncode == 1 and r.stderr.count("\n") == 1, (argv, r.stdout, r.stderr)
            assert (f"{name!r} is both project {other} ({name}) and a prefix of session {session} (of project {a}); "
                    f"give the project id ({other}) or the whole session id") in r.stderr
        assert world.run("checkpoint", "list", other).returncode == 0
        assert world.run("checkpoint", "list", session).returncode == 0
    finally:
        world.run("session", "stop", session)
        world.run("session", "rm", session, "--yes")
        world.run("project", "delete", name, "--yes")


@pytest.mark.parametrize("name, meant", [("VMUSER_SNAPSHOT_INTERVAL", "VMUSER_SNAPSHOTS_INTERVAL"),
                                         ("VMUSER_SNAPSHOTS_INTERVALL", "VMUSER_SNAPSHOTS_INTERVAL"),
                                         ("VMUSER_DOCKER_MEM", "VMUSER_DOCKER_MEMORY"),
                                         ("VMUSER_DATADIR", "VMUSER_DATA_DIR")])
def test_config_validate_names_a_misspelt_variable(world, name, meant):
    """A misspelt VMUSER_* variable is ignored (other programs may use the prefix), so
    nothing said why the setting did not change: `config validate` says it."""
    r = world.run("config", "validate", env={name: "60"})
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"environment variable {name} is no setting (ignored); did you mean {meant}?" in r.stderr
    assert world.run("config", "validate", env={"VMUSER_FROZEN_TIME": "x"}).returncode == 0  # unrelated: no word
