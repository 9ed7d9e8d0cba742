"""Bad input for ``session start``'s environment, ports and metadata (issue 13, items 2, 3, 7),
in the style of test_bad_input.py: each row runs the real ``vmuser`` command and asserts one
line on stderr, no traceback, the exit code, the words of the message, and that the database
and workspaces are exactly as they were (no session row, nothing logged). A secret typed on the
command line never comes back in the message.

The world: project ``alpha`` (``{A}``) in a data dir of its own; ``{tmp}`` holds env files.
"""

from __future__ import annotations

import shlex
import socket
from pathlib import Path

import pytest
from test_bad_input import World, _state

from vmuser_tui.core.runtime import LABEL_PROJECT

SECRET = "ghp_" + "Zq9x" * 9


def row(rid, argv, code, message, *, env=None, config=None):
    return pytest.param(argv, code, message, env or {}, config, id=rid)


# fmt: off
ROWS = [
    # --env
    row("env-empty-name", "session start {A} --env =x", 2, "--env =...: the variable name is empty; write NAME=VALUE"),
    row("env-empty", ["session", "start", "{A}", "-e", ""], 2, "the variable name is empty"),
    row("env-digit-first", f"session start {{A}} -e 9TOKEN={SECRET}", 2,
        "--env 9TOKEN=...: '9TOKEN' is not a variable name; use letters, digits, _ . and -, not starting with a digit"),
    row("env-space-in-name", ["session", "start", "{A}", "-e", "MY VAR=1"], 2, "'MY VAR' is not a variable name"),
    row("env-missing-value-option", "session start {A} --env", 2, "argument -e/--env: expected one argument"),
    row("env-without-container", "session start {A} --runtime none -e A=1", 2,
        "environment variables, ports and a Dockerfile need a container: drop --runtime none"),
    # --env-file
    row("env-file-missing", "session start {A} --env-file {tmp}/nope.env", 2,
        "--env-file {tmp}/nope.env: no such file; give the path of an env file of NAME=VALUE lines"),
    row("env-file-folder", "session start {A} --env-file {tmp}", 2, "--env-file {tmp}: is a directory"),
    row("env-file-space", "session start {A} --env-file {tmp}/space.env", 2,
        "--env-file {tmp}/space.env line 3: 'BAD NAME' holds whitespace; write NAME=VALUE"),
    row("env-file-export", "session start {A} --env-file {tmp}/export.env", 2,
        "--env-file {tmp}/export.env line 1: 'export A' holds whitespace"),
    row("env-file-empty-name", "session start {A} --env-file {tmp}/noname.env", 2,
        "--env-file {tmp}/noname.env line 2: the variable name is empty"),
    row("env-file-not-utf8", "session start {A} --env-file {tmp}/latin1.env", 2,
        "--env-file {tmp}/latin1.env line 1: not UTF-8 text; save the file as UTF-8"),
    row("env-file-too-big", "session start {A} --env-file {tmp}/big.env", 2, "larger than 1024 KiB"),
    # --meta
    row("meta-no-equals", "session start {A} --meta ticket", 2,
        "--meta ticket: write KEY=VALUE, e.g. --meta ticket=OPS-7"),
    row("meta-bad-key", "session start {A} --meta =x", 2, "the key must be 1-64 letters, digits, _ . -"),
    row("meta-secret-name", "session start {A} --meta api_token=abc", 2,
        "--meta api_token=...: looks like a secret, and metadata is stored and shown; pass secrets with --env"),
    row("meta-secret-value", f"session start {{A}} --meta note={SECRET}", 2, "looks like a secret"),
    row("meta-too-long", "session start {A} --meta note=" + "x" * 1001, 2, "at most 1000 printable characters"),
    row("meta-newline", ["session", "start", "{A}", "--meta", "note=a\nb"], 2, "printable characters on one line"),
    # --publish
    row("publish-name", "session start {A} -p web", 2, "--publish 'web': container port 'web' is not a port number"),
    row("publish-range", "session start {A} --publish 8000-8010", 2, "is not a port number (1-65535)"),
    row("publish-host-ip", "session start {A} -p localhost:8080:80", 2, "'localhost' is not an IP address"),
    row("publish-proto", "session start {A} -p 53/sctp", 2, "protocol must be tcp or udp"),
    row("publish-without-container", "session start {A} --runtime none -p 8000", 2, "drop --runtime none"),
    # the config's tables
    row("config-env-number", "session start {A}", 1, "[session.env] PORT: expected a string in quotes, got 8000",
        config="[session.env]\nPORT = 8000\n"),
    row("config-env-bad-name", "session start {A}", 1, "[session.env]: '1X' is not a variable name",
        config='[session.env]\n"1X" = "a"\n'),
    row("config-session-unknown-key", "project list", 1, "unknown key [session] envs; known: env",
        config="[session]\nenvs = {}\n"),
    row("config-projects-not-table", "config validate", 1, "[projects.web] must be a table holding env",
        config="[projects]\nweb = 1\n"),
    row("config-projects-unknown-key", "config show", 1, "unknown key [projects.web] image; known: env",
        config='[projects.web]\nimage = "x"\n'),
]
# fmt: on


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("bad-envports"))
    w.ids["A"] = w.ok("project", "create", "alpha")
    (w.root / "space.env").write_text("# ok so far\nA=1\nBAD NAME=2\n")
    (w.root / "export.env").write_text("export A=1\n")
    (w.root / "noname.env").write_text("A=1\n=2\n")
    (w.root / "latin1.env").write_bytes("A=caf\u00e9\n".encode("latin-1"))
    (w.root / "big.env").write_text("A=" + "x" * (1024 * 1024) + "\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        w.ids["taken"] = str(taken.getsockname()[1])
        yield w


@pytest.mark.parametrize("argv, code, message, env, config", ROWS)
def test_bad_envports_input(world, request, argv, code, message, env, config):
    args = [world.fill(a) for a in (shlex.split(argv) if isinstance(argv, str) else argv)]
    extra = dict(env)
    if config is not None:
        path = world.root / f"config-{request.node.callspec.id}.toml"
        path.write_text(config)
        extra["VMUSER_CONFIG"] = str(path)
    before = _state(world.data)
    r = world.run(*args, env=extra)
    after = _state(world.data)
    err = r.stderr.decode()
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, f"expected one line on stderr, got:\n{err}"
    assert r.returncode == code, err
    assert world.fill(message) in err, err
    assert SECRET not in err
    assert before == after, "the command changed the database or a workspace"


@pytest.mark.docker
def test_a_taken_port_leaves_no_session_and_no_container(world, docker_available):
    """A start the engine refuses (a host port somebody holds): one line naming the port and
    the fix; the operation log keeps the attempt (session.create, session.fail: as for any
    failed start), nothing else changes, no container is left."""
    import json

    import docker

    r = world.run("session", "start", world.ids["A"], "--image", "vmuser-busybox:local", "-p",
                  f"{world.ids['taken']}:8000", "-e", f"API_TOKEN={SECRET}")
    err = r.stderr.decode()
    assert r.returncode == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"port {world.ids['taken']} on 127.0.0.1 is already in use: publish another host port" in err
    assert json.loads(world.ok("session", "list", "--json")) == []
    failed = json.loads(world.ok("log", "--operation", "session.fail", "--json"))
    assert failed and "already in use" in failed[0]["details"]["reason"]
    client = docker.from_env()
    try:
        assert client.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={world.ids['A']}"}) == []
    finally:
        client.close()
    assert SECRET.encode() not in b"".join(p.read_bytes() for p in Path(world.data).glob("vmuser.db*"))
