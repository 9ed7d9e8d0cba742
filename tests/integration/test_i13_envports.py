"""Issue 13, items 2, 3 and 7 (--meta), through the real ``vmuser`` command and the real engine:
variables from the config, an env file and --env reach the container in the documented order;
their values are shown masked when they look secret and are nowhere in the database file;
published ports are loopback unless asked, listed by session show/list, reachable over HTTP;
a taken host port is one line, and leaves no session and no container."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from vmuser_tui.core.runtime import LABEL_PROJECT

pytestmark = pytest.mark.docker

IMAGE = "vmuser-busybox:local"
TOKEN = "ghp_" + "Q7rT" * 9  # a GitHub token shape: masked by its value
FILE_SECRET = "file-secret-8d1c"  # masked by its name (DB_PASSWORD)
CONFIG_SECRET = "config-secret-47aa"  # [session.env] SENTRY_TOKEN
PROJECT_SECRET = "project-secret-9f3e"  # [projects.<name>.env] STRIPE_API_KEY


class Cli:
    def __init__(self, env: dict, data: Path, config: Path) -> None:
        self.env = {**env, "VMUSER_DATA_DIR": str(data), "VMUSER_CONFIG": str(config)}
        self.data = data

    def run(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)

    def ok(self, *args: str, env: dict | None = None) -> str:
        r = self.run(*args, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()


@pytest.fixture
def cli(cli_env, tmp_path, docker_projects):
    config = tmp_path / "config.toml"
    config.write_text(f'[session.env]\nLEVEL = "config"\nFROM_CONFIG = "yes"\nSENTRY_TOKEN = "{CONFIG_SECRET}"\n'
                      f'[projects.webapp.env]\nLEVEL = "project"\nSTRIPE_API_KEY = "{PROJECT_SECRET}"\n')
    c = Cli(cli_env, tmp_path / "data", config)
    c.project = c.ok("project", "create", "webapp")  # type: ignore[attr-defined]
    docker_projects[1].append(c.project)  # type: ignore[attr-defined]
    return c


def _db_bytes(data: Path) -> bytes:
    """Every byte of the database: the file and its write-ahead log."""
    return b"".join(p.read_bytes() for p in sorted(data.glob("vmuser.db*")))


def _get(url: str, wait: float = 10.0) -> bytes:
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_env_layers_secrets_masked_and_never_stored(cli, tmp_path):
    env_file = tmp_path / "dev.env"
    env_file.write_text(f"# local settings\nLEVEL=file\nDB_PASSWORD={FILE_SECRET}\n\nQUOTED=\"as is\"\nFROM_VMUSER\n")
    sid = cli.ok("session", "start", cli.project, "--image", IMAGE, "--env-file", str(env_file),
                 "-e", f"API_TOKEN={TOKEN}", "--env", "GREETING=hello there", "-e", "LEVEL=flag",
                 "--meta", "ticket=OPS-7", "--meta", "branch=main", env={"FROM_VMUSER": "copied"})

    def inside(name: str) -> str:
        return cli.ok("session", "exec", sid, "--", "sh", "-c", f'printf %s "${name}"')

    # the layers, lowest first: [session.env] < [projects.<name>.env] < --env-file < --env
    assert inside("LEVEL") == "flag" and inside("FROM_CONFIG") == "yes"
    assert inside("STRIPE_API_KEY") == PROJECT_SECRET and inside("SENTRY_TOKEN") == CONFIG_SECRET
    assert inside("DB_PASSWORD") == FILE_SECRET and inside("API_TOKEN") == TOKEN
    assert inside("QUOTED") == '"as is"' and inside("FROM_VMUSER") == "copied"

    shown = cli.ok("session", "show", sid)
    assert "API_TOKEN=***" in shown and "DB_PASSWORD=***" in shown and "SENTRY_TOKEN=***" in shown
    assert "STRIPE_API_KEY=***" in shown and "GREETING=hello there" in shown and "LEVEL=flag" in shown
    assert "metadata:      ticket=OPS-7, branch=main" in shown
    doc = json.loads(cli.ok("session", "show", sid, "--json"))
    assert doc["metadata"] == {"ticket": "OPS-7", "branch": "main"}
    assert doc["environment"]["API_TOKEN"] == "***" and doc["environment"]["GREETING"] == "hello there"
    assert "DB_PASSWORD" in doc["env_keys"] and doc["ports"] == []
    listed = json.loads(cli.ok("session", "list", "--json"))
    assert listed[0]["metadata"] == {"ticket": "OPS-7", "branch": "main"}

    # after a checkpoint, a stop and the log: no value anywhere in the database's bytes
    cli.ok("checkpoint", "create", sid, "-m", "with env")
    cli.ok("session", "stop", sid)
    everything = _db_bytes(cli.data) + cli.ok("log", "--json", "--limit", "1000").encode()
    for secret in (TOKEN, FILE_SECRET, CONFIG_SECRET, PROJECT_SECRET, "hello there"):
        assert secret.encode() not in everything, secret
    assert b"API_TOKEN" in _db_bytes(cli.data)  # the names are kept
    # a stopped session's container is gone: the names are still listed, without values
    assert "env:" in cli.ok("session", "show", sid) and "API_TOKEN" in cli.ok("session", "show", sid)


def test_ports_are_loopback_unless_asked_and_reachable(cli, docker_projects):
    client, _ = docker_projects
    workspace = json.loads(cli.ok("project", "show", cli.project, "--json"))["workspace"]
    Path(workspace, "index.html").write_text("served\n")
    sid = cli.ok("session", "start", cli.project, "--image", IMAGE, "-p", "8000", "--publish", "0.0.0.0::9000")
    doc = json.loads(cli.ok("session", "show", sid, "--json"))
    by_port = {p["container"]: p for p in doc["ports"]}
    assert set(by_port) == {8000, 9000}
    assert by_port[8000]["host_ip"] == "127.0.0.1" and by_port[8000]["protocol"] == "tcp"
    assert by_port[9000]["host_ip"] == "0.0.0.0"
    # as the engine itself reports it
    attrs = client.api.inspect_container(doc["container_id"])
    engine = attrs["NetworkSettings"]["Ports"]
    assert {b["HostIp"] for b in engine["8000/tcp"]} == {"127.0.0.1"}
    assert int(engine["8000/tcp"][0]["HostPort"]) == by_port[8000]["host"]
    assert "0.0.0.0" in {b["HostIp"] for b in engine["9000/tcp"]}

    host = by_port[8000]["host"]
    assert f"127.0.0.1:{host}->8000/tcp" in cli.ok("session", "show", sid)
    assert f"127.0.0.1:{host}->8000/tcp" in cli.ok("session", "list")
    assert json.loads(cli.ok("session", "list", "--json"))[0]["ports"] == doc["ports"]
    cli.ok("session", "exec", sid, "--", "httpd", "-p", "8000", "-h", "/workspace")
    assert _get(f"http://127.0.0.1:{host}/index.html") == b"served\n"


def test_a_taken_port_is_one_line_and_leaves_nothing(cli, docker_projects):
    client, _ = docker_projects
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = cli.run("session", "start", cli.project, "--image", IMAGE, "-p", f"{port}:8000", "-e", f"API_TOKEN={TOKEN}")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        (f"vmuser: error: port {port} on 127.0.0.1 is already in use: publish another host port "
        f"(--publish {port + 1}:8000), or leave the host port out for a free one (--publish 8000), "
        "or stop what uses it")]
    assert json.loads(cli.ok("session", "list", "--json")) == []
    assert client.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={cli.project}"}) == []
    assert TOKEN.encode() not in _db_bytes(cli.data)  # the failed attempt's log entry holds no value either

    # taken by another session's container: the engine's other wording, the same line
    first = json.loads(cli.ok("session", "show", cli.ok("session", "start", cli.project, "--image", IMAGE,
                                                         "-p", "8000"), "--json"))
    host = first["ports"][0]["host"]
    r = cli.run("session", "start", cli.project, "--image", IMAGE, "-p", f"{host}:8000")
    assert r.returncode == 1 and f"port {host} on 127.0.0.1 is already in use" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert [s["id"] for s in json.loads(cli.ok("session", "list", "--json"))] == [first["id"]]
    assert len(client.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={cli.project}"})) == 1


def test_a_container_image_checkpoint_keeps_no_secret(cli, docker_projects):
    """With [snapshots] container_image, a checkpoint is a docker commit of the container: its
    image config would carry the variables; secret-looking ones are emptied there."""
    client, _ = docker_projects
    cfg = Path(cli.env["VMUSER_CONFIG"])
    cfg.write_text(cfg.read_text() + "[snapshots]\ncontainer_image = true\n")
    sid = cli.ok("session", "start", cli.project, "--image", IMAGE, "-e", f"API_TOKEN={TOKEN}", "-e", "GREETING=hi")
    cp = json.loads(cli.ok("checkpoint", "show", cli.ok("checkpoint", "create", sid, "-m", "image"), "--json"))
    assert cp["image_id"]
    env = client.api.inspect_image(cp["image_id"])["Config"]["Env"]
    assert "API_TOKEN=" in env and "GREETING=hi" in env and f"SENTRY_TOKEN={CONFIG_SECRET}" not in env
    assert not any(TOKEN in e or CONFIG_SECRET in e or PROJECT_SECRET in e for e in env)
