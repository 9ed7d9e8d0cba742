"""Bad input for logs and the session lifecycle (issue 13, items 5 and 6), in the style of
tests/test_bad_input.py: each row runs the real ``vmuser`` command in a subprocess and
asserts one line on stderr, no traceback, the exit code, the words of the message, and
that the sessions are as they were (``session list --json`` before and after).

The world: project ``{A}`` with ``{S1}`` running and ``{S2}`` stopped (runtime none);
docker rows add ``{D}`` with ``{SD}`` running, ``{SP}`` paused and ``{SX}`` stopped.
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


def row(rid, argv, code, message, *, config=None, docker=False):
    marks = [pytest.mark.docker] if docker else []
    return pytest.param(argv, code, message, config, docker, id=rid, marks=marks)


# fmt: off
ROWS = [
    # -- logs options --------------------------------------------------------------------------------
    row("logs-since-words", "session logs {S1} --since yesterday", 2,
        "--since: cannot read the time 'yesterday': give an ISO time (2026-11-21T09:30) or an age (30m, 2h, 3d)"),
    row("logs-since-huge", "session logs {S1} --since 99999999999d", 2, "--since: the age '99999999999d' is too long"),
    row("logs-since-bad-date", "session logs {S1} --since 2026-13-45T10:00:00Z", 2, "--since: cannot read the time"),
    row("logs-since-empty", ["session", "logs", "{S1}", "--since", ""], 2, "--since: cannot read the time ''"),
    row("logs-tail-word", "session logs {S1} --tail lots", 2,
        "--tail: expected a number of lines or 'all', got 'lots'"),
    row("logs-tail-negative", "session logs {S1} --tail -1", 2, "--tail must be between 0 and 1000000, got -1"),
    row("logs-follow-runtime-none", "session logs {S1} -f", 1, "session {S1} has no container (runtime 'none')"),
    row("logs-unknown-session", "session logs nope -f", 1, "no session matches 'nope'"),
    # -- pause, resume, rm without a container -------------------------------------------------------
    row("pause-runtime-none", "session pause {S1}", 1,
        "session {S1} has no container (runtime 'none'): there is nothing to pause"),
    row("resume-runtime-none", "session resume {S1}", 1, "there is nothing to resume"),
    row("pause-unknown", "session pause nope", 1, "no session matches 'nope'; list them with: vmuser session list"),
    row("rm-running", "session rm {S1} --yes", 1,
        "session {S1} is running: stop it first with: vmuser session stop {S1}"),
    row("rm-running-no-yes", "session rm {S1}", 1, "session {S1} is running: stop it first"),
    row("rm-needs-yes", "session rm {S2}", 1, "not confirmed: standard input is not a terminal; pass --yes"),
    row("rm-unknown", "session rm nope --yes", 1, "no session matches 'nope'"),
    row("rm-missing-argument", "session rm", 2, "the following arguments are required: session"),
    # -- the new settings ----------------------------------------------------------------------------
    row("config-keep-stopped-text", "project list", 1, "[runtime] keep_stopped: expected true or false, got 'yes'",
        config='[runtime]\nkeep_stopped = "yes"\n'),
    row("config-snapshots-enabled-number", "config validate", 1, "[snapshots] enabled: expected true or false, got 1",
        config="[snapshots]\nenabled = 1\n"),
    row("config-check-interval-small", "project list", 1,
        "[cleanup] check_interval: 5 is below the minimum 60 (allowed: 60 to 2592000)",
        config="[cleanup]\ncheck_interval = 5\n"),
    row("config-check-interval-text", "config validate", 1, "[cleanup] check_interval: expected a whole number",
        config='[cleanup]\ncheck_interval = "hourly"\n'),
    # -- with containers -----------------------------------------------------------------------------
    row("pause-stopped", "session pause {SX}", 1,
        "session {SX} is stopped: only a running session can be paused (start one with: vmuser session start {D})",
        docker=True),
    row("pause-paused", "session pause {SP}", 1,
        "session {SP} is already paused; resume it with: vmuser session resume {SP}", docker=True),
    row("resume-running", "session resume {SD}", 1, "session {SD} is running, not paused: nothing to resume",
        docker=True),
    row("resume-stopped", "session resume {SX}", 1, "session {SX} is stopped, not paused", docker=True),
    row("exec-paused", "session exec {SP} -- true", 1,
        "session {SP} is paused: resume it with: vmuser session resume {SP}", docker=True),
    row("shell-paused", "session shell {SP}", 1, "session {SP} is paused: resume it with", docker=True),
    row("rm-paused", "session rm {SP} --yes", 1, "session {SP} is paused: stop it first", docker=True),
    row("logs-since-bad-docker", "session logs {SD} -f --since 10x", 2, "--since: cannot read the time '10x'",
        docker=True),
    row("logs-stopped-removed", "session logs {SX} -f", 1,
        "session {SX} is stopped: its container was removed, and its output with it (set [runtime] keep_stopped",
        docker=True),
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

    def ok(self, *args: str, env: dict[str, str] | None = None) -> str:
        r = self.run(*args, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = World(tmp_path_factory.mktemp("life-bad-input"))
    a = w.ok("project", "create", "alpha")
    s1 = w.ok("session", "start", a, "--runtime", "none")
    s2 = w.ok("session", "start", a, "--runtime", "none")
    w.ok("session", "stop", s2)
    w.ids.update(A=a, S1=s1, S2=s2)
    return w


@pytest.fixture(scope="module")
def docker_world(world):
    env = {"VMUSER_DATA_DIR": str(world.root / "dock-data"), "VMUSER_DOCKER_IMAGE": "vmuser-busybox:local"}
    d = world.ok("project", "create", "dock", env=env)
    sd, sp, sx = (world.ok("session", "start", d, env=env) for _ in range(3))
    world.ok("session", "pause", sp, env=env)
    world.ok("session", "stop", sx, env=env)
    world.ids.update(D=d, SD=sd, SP=sp, SX=sx)
    yield env
    for sid in (sd, sp):
        world.run("session", "stop", sid, env=env)
    world.run("project", "delete", d, "--yes", env=env)


@pytest.mark.parametrize(("argv", "code", "message", "config", "docker"), ROWS)
def test_bad_input(world, request, argv, code, message, config, docker):
    env: dict[str, str] = dict(request.getfixturevalue("docker_world")) if docker else {}
    if config is not None:
        path = world.root / f"{request.node.callspec.id}.toml"
        path.write_text(config)
        env["VMUSER_CONFIG"] = str(path)
    args = [a.format(**world.ids) for a in (shlex.split(argv) if isinstance(argv, str) else argv)]
    before = world.run("session", "list", "--json", env=env | {"VMUSER_CONFIG": world.env["VMUSER_CONFIG"]}).stdout
    r = world.run(*args, env=env)
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert message.format(**world.ids) in r.stderr, r.stderr
    after = world.run("session", "list", "--json", env=env | {"VMUSER_CONFIG": world.env["VMUSER_CONFIG"]}).stdout
    assert json.loads(after) == json.loads(before)  # nothing changed
