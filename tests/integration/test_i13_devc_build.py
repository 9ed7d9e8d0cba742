"""Issue 13, done when: a project with a ``.devcontainer/devcontainer.json`` that builds
``FROM vmuser-busybox:local`` starts with ``vmuser session start P`` (the real CLI, the real
engine): the image's ``ENV`` and the file's ``containerEnv`` are set inside, ``httpd`` on port
8000 answers on the host port ``session show --json`` lists, the ``postCreateCommand`` output
is in ``session logs``. A second start reuses the image; a changed Dockerfile rebuilds; a
failing build leaves nothing; a failing lifecycle command leaves the session running."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from vmuser_tui.core.runtime import LABEL_PROJECT

pytestmark = pytest.mark.docker

DEVCONTAINER = """{
  // built from the workspace; comments and trailing commas are fine
  "name": "web",
  "build": {"dockerfile": "Dockerfile", "context": ".."},
  "containerEnv": {"GREETING": "hello devc"},
  "forwardPorts": [8000],
  "postCreateCommand": "echo post-create-ran-$GREETING",
}
"""
DOCKERFILE = "FROM vmuser-busybox:local\nENV BAKED=from-dockerfile\n"


@pytest.fixture
def cli(cli_env, tmp_path, docker_projects):
    """``cli(*argv) -> CompletedProcess`` against a fresh data dir; ``cli.made`` collects
    project ids whose containers and images are removed afterwards."""
    env = {**cli_env, "VMUSER_DATA_DIR": str(tmp_path / "data")}

    def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "vmuser_tui", *argv], env=env, capture_output=True,
                              text=True, timeout=180)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    run.made = docker_projects[1]  # type: ignore[attr-defined]
    run.client = docker_projects[0]  # type: ignore[attr-defined]
    return run


def _project(cli, name: str, files: dict[str, str]) -> tuple[str, Path]:
    pid = cli("project", "create", name).stdout.strip()
    cli.made.append(pid)
    workspace = Path(json.loads(cli("project", "show", pid, "--json").stdout)["workspace"])
    for rel, text in files.items():
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_text(text)
    return pid, workspace


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


def test_devcontainer_build_env_port_and_post_create_log(cli):
    pid, ws = _project(cli, "Devc", {".devcontainer/devcontainer.json": DEVCONTAINER,
                                     ".devcontainer/Dockerfile": DOCKERFILE, "index.html": "served by httpd\n"})
    first = cli("session", "start", pid)
    sid = first.stdout.strip()
    assert "Step 1/" in first.stderr and "FROM vmuser-busybox:local" in first.stderr  # build output, streamed
    assert "Traceback" not in first.stderr

    env = cli("session", "exec", sid, "--", "sh", "-c", 'printf "%s|%s" "$BAKED" "$GREETING"').stdout
    assert env == "from-dockerfile|hello devc"

    shown = json.loads(cli("session", "show", sid, "--json").stdout)
    [port] = shown["ports"]
    assert port["container"] == 8000 and port["host_ip"] == "127.0.0.1"
    cli("session", "exec", sid, "--", "httpd", "-p", "8000", "-h", "/workspace")
    assert _get(f"http://127.0.0.1:{port['host']}/index.html") == b"served by httpd\n"
    assert "post-create-ran-hello devc" in cli("session", "logs", sid).stdout
    image = shown["image"]
    assert image.startswith(f"vmuser-build-{pid}:")
    labels = cli.client.images.get(image).labels
    assert labels[LABEL_PROJECT] == pid and image.endswith(":" + labels["vmuser.build"][:24])

    # unchanged: the image is reused, nothing is built
    second = cli("session", "start", pid)
    assert "built earlier" in second.stderr and "Step 1/" not in second.stderr
    assert json.loads(cli("session", "show", second.stdout.strip(), "--json").stdout)["image"] == image

    # a changed Dockerfile builds again, under another tag
    (ws / ".devcontainer" / "Dockerfile").write_text(DOCKERFILE + "ENV SECOND=yes\n")
    third = cli("session", "start", pid)
    assert "Step 3/" in third.stderr and "ENV SECOND=yes" in third.stderr
    sid3 = third.stdout.strip()
    assert json.loads(cli("session", "show", sid3, "--json").stdout)["image"] != image
    assert cli("session", "exec", sid3, "--", "sh", "-c", 'printf %s "$SECOND"').stdout == "yes"


def test_a_failing_build_leaves_no_session_and_no_container(cli):
    pid, _ = _project(cli, "Broken build", {
        ".devcontainer/devcontainer.json": '{"build": {"dockerfile": "Dockerfile"}}',
        ".devcontainer/Dockerfile": "FROM vmuser-busybox:local\nRUN echo about to fail && exit 7\n",
    })
    proc = cli("session", "start", pid, check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("vmuser: error: building .devcontainer/Dockerfile (.devcontainer/devcontainer.json) failed")
    assert re.search(r"failed at Step 2/\d+ : RUN echo about to fail && exit 7: .*non-zero code: 7", last)
    assert "about to fail" in proc.stderr  # the step's own output came first
    assert "Traceback" not in proc.stderr
    assert json.loads(cli("session", "list", pid, "--json").stdout) == []
    assert cli.client.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={pid}"}) == []


def test_a_failing_post_create_command_leaves_the_session_running(cli):
    pid, _ = _project(cli, "Hook fails", {".devcontainer.json": json.dumps({
        "image": "vmuser-busybox:local",
        "postCreateCommand": {"first": "echo failing-hook; exit 4", "then": ["sh", "-c", "echo second-hook"]},
    })})
    proc = cli("session", "start", pid)
    sid = proc.stdout.strip()
    notes = [ln for ln in proc.stderr.splitlines() if "failed" in ln]
    assert notes == [(f"vmuser: postCreateCommand.first failed (exit 4); the session is running; its output: "
                     f"vmuser session logs {sid}")]
    assert json.loads(cli("session", "show", sid, "--json").stdout)["status"] == "running"
    logs = cli("session", "logs", sid).stdout
    assert "failing-hook" in logs and "second-hook" in logs  # the next hook still ran
    hooks = json.loads(cli("log", "--session", sid, "--operation", "session.hook", "--json").stdout)
    assert sorted(h["details"]["exit_code"] for h in hooks) == [0, 4]


def test_dockerfile_option_and_no_devcontainer(cli):
    pid, _ = _project(cli, "Plain", {
        "Dockerfile": "FROM vmuser-busybox:local\nCOPY . /ctx/\n", "marker.txt": "from the context\n",
        ".dockerignore": "secret.txt\n", "secret.txt": "never in the image\n",
        ".devcontainer.json": '{"image": "vmuser-busybox:local", "containerEnv": {"FROM_JSON": "1"}}',
    })
    sid = cli("session", "start", pid, "--dockerfile", "Dockerfile", "--no-devcontainer").stdout.strip()
    out = cli("session", "exec", sid, "--", "sh", "-c", 'cat /ctx/marker.txt; ls -A /ctx; printf "[%s]" "$FROM_JSON"')
    # .dockerignore honoured (secret.txt left out); the devcontainer.json ignored
    assert out.stdout.split("\n") == ["from the context", ".devcontainer.json", ".dockerignore", "Dockerfile",
                                      "marker.txt", "[]"]
