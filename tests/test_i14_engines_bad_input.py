"""Bad input for engines (issue 14), in the style of tests/test_bad_input.py: each row runs
the real ``vmuser`` command in a subprocess and asserts one line on stderr, no traceback,
the exit code, the words of the message, and that nothing changed (``session list --json``
and ``project list --json`` before and after).

The world: project ``{A}`` with ``{S1}`` running (runtime none); the config names an
engine ``dead`` whose socket does not exist and an engine ``box`` that is this host's
engine under another name.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

PY = [sys.executable, "-m", "vmuser_tui"]
ENGINES = '[engines.dead]\nurl = "unix:///tmp/vmuser-no-such-engine.sock"\n' \
          '[engines.box]\nurl = "unix:///var/run/docker.sock"\n'


def row(rid, argv, code, message, *, config=None):
    return pytest.param(argv, code, message, config, id=rid)


# fmt: off
ROWS = [
    # -- config ---------------------------------------------------------------------------------------
    row("config-local-redefined", "project list", 1, "[engines.local]: 'local' is the built-in engine",
        config='[engines.local]\nurl = "unix:///x.sock"\n'),
    row("config-bad-name", "project list", 1, "an engine name is 1-40 lowercase letters",
        config='[engines."Big Box"]\nurl = "unix:///x.sock"\n'),
    row("config-no-url", "project list", 1, "[engines.b]: give exactly one of url (ssh://, tcp://, unix://) or context",
        config="[engines.b]\ntimeout = 5\n"),
    row("config-both", "project list", 1, "give exactly one of url",
        config='[engines.b]\nurl = "unix:///x.sock"\ncontext = "c"\n'),
    row("config-scheme", "project list", 1, "[engines.b] url: unknown scheme 'http'; use one of: ssh, tcp, unix",
        config='[engines.b]\nurl = "http://host:2375"\n'),
    row("config-not-url", "project list", 1, "[engines.b] url must look like ssh://user@host",
        config='[engines.b]\nurl = "build-box"\n'),
    row("config-unix-relative", "project list", 1, "a unix socket path must be absolute",
        config='[engines.b]\nurl = "unix://run/docker.sock"\n'),
    row("config-ssh-option-host", "project list", 1, "has no valid host: use ssh://user@host[:port]",
        config='[engines.b]\nurl = "ssh://-oProxyCommand=x"\n'),
    row("config-ssh-port", "project list", 1, "port",
        config='[engines.b]\nurl = "ssh://me@host:99999"\n'),
    row("config-ssh-path", "project list", 1, "ssh://",
        config='[engines.b]\nurl = "ssh://me@host/var/run/docker.sock"\n'),
    row("config-timeout", "project list", 1, "[engines.b] timeout must be a whole number of seconds from 1 to 3600",
        config='[engines.b]\nurl = "unix:///x.sock"\ntimeout = 0\n'),
    row("config-unknown-key", "project list", 1, "[engines.b]: unknown key port; known: url, context",
        config='[engines.b]\nurl = "unix:///x.sock"\nport = 22\n'),
    row("config-ssh-options", "project list", 1, "[engines.b] ssh_options must be a list of strings",
        config='[engines.b]\nurl = "ssh://me@host"\nssh_options = "-i key"\n'),
    row("config-remote-socket", "project list", 1, "[engines.b] remote_socket must be an absolute path",
        config='[engines.b]\nurl = "ssh://me@host"\nremote_socket = "docker.sock"\n'),
    row("config-project-engine-unknown", "project list", 1,
        "[projects.web] engine = 'nowhere' names no engine; known: local",
        config='[projects.web]\nengine = "nowhere"\n'),
    row("config-engines-not-table", "project list", 1, "[engines] must hold one table per engine",
        config='engines = "box"\n'),
    # -- commands -------------------------------------------------------------------------------------
    row("engine-check-unknown", "engine check nowhere", 2,
        "unknown engine 'nowhere'; known: local, dead, box (add one as [engines.nowhere] in config", config=ENGINES),
    row("engine-check-missing-arg", "engine check", 2, "the following arguments are required: NAME"),
    row("engine-list-format", "engine list --format xml", 2, "invalid choice: 'xml'"),
    row("start-unknown-engine", "session start {A} --engine nowhere", 2, "unknown engine 'nowhere'; known: local",
        config=ENGINES),
    row("start-none-on-engine", "session start {A} --runtime none --engine box", 2,
        "a session without a container (--runtime none) works on this host's folder; drop --engine box",
        config=ENGINES),
    row("start-moving-while-active", "session start {A} --engine box", 1,
        "session {S1} of project alpha is running on engine local: stop it first, or move it with: "
        "vmuser session move {S1} --engine box", config=ENGINES),
    row("start-dead-engine", "session start {B} --engine dead", 1,
        "cannot reach the Docker engine at unix:///tmp/vmuser-no-such-engine.sock: no such socket", config=ENGINES),
    row("move-unknown-session", "session move nope --engine box", 1, "no session matches 'nope'", config=ENGINES),
    row("move-unknown-engine", "session move {S1} --engine nowhere", 2, "unknown engine 'nowhere'", config=ENGINES),
    row("move-no-engine", "session move {S1}", 2, "the following arguments are required: --engine"),
    row("move-to-dead-engine", "session move {S2} --engine dead", 1,
        "cannot reach the Docker engine at unix:///tmp/vmuser-no-such-engine.sock", config=ENGINES),
]
# fmt: on


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("VMUSER_") or k in ("VMUSER_DOCKER_BASE_URL", "VMUSER_DOCKER_TIMEOUT")}
        self.env.update(VMUSER_DATA_DIR=str(root / "data"), VMUSER_CONFIG=str(root / "no-config.toml"),
                        PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        self.ids: dict[str, str] = {}

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*PY, *args], env={**self.env, **(env or {})}, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120, check=False)

    def ok(self, *args: str) -> str:
        r = self.run(*args)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = World(tmp_path_factory.mktemp("engines-bad-input"))
    a = w.ok("project", "create", "alpha")
    s1 = w.ok("session", "start", a, "--runtime", "none")
    b = w.ok("project", "create", "beta")
    s2 = w.ok("session", "start", b, "--runtime", "none")
    w.ok("session", "stop", s2)
    w.ids.update(A=a, S1=s1, B=b, S2=s2)
    return w


@pytest.mark.parametrize(("argv", "code", "message", "config"), ROWS)
def test_bad_input(world, request, argv, code, message, config):
    env: dict[str, str] = {}
    if config is not None:
        path = world.root / f"{request.node.callspec.id}.toml"
        path.write_text(config)
        env["VMUSER_CONFIG"] = str(path)
    args = [a.format(**world.ids) for a in shlex.split(argv)]
    plain = {"VMUSER_CONFIG": world.env["VMUSER_CONFIG"]}
    before = [world.run(*what, "--json", env=plain).stdout for what in (("session", "list"), ("project", "list"))]
    r = world.run(*args, env=env)
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert message.format(**world.ids) in r.stderr, r.stderr
    after = [world.run(*what, "--json", env=plain).stdout for what in (("session", "list"), ("project", "list"))]
    assert [json.loads(x) for x in after] == [json.loads(x) for x in before]  # nothing changed
