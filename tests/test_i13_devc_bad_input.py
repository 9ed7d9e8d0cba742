"""Bad input of ``session start`` on a workspace's devcontainer.json or ``--dockerfile``, as one
table (the style of tests/test_bad_input.py): the real ``vmuser`` command in a subprocess;
exactly one line on stderr, no traceback, the exit code, the words of the message, and no
session, no container and no image left behind. Everything is refused while the launch plan
is made, before the engine is contacted, so most rows need no Docker; the rows that build do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PY = [sys.executable, "-m", "vmuser_tui"]
DC = ".devcontainer/devcontainer.json"


def row(rid, files, code, message, *, args=(), docker=False):
    marks = [pytest.mark.docker] if docker else []
    return pytest.param(files, list(args), code, message, id=rid, marks=marks)


# fmt: off
ROWS = [
    row("broken-json", {DC: '{\n  "image": "x"\n  "containerEnv": {}\n}'}, 1,
        f"{DC}: line 3, column 3: unexpected "),
    row("broken-json-top-file", {".devcontainer.json": '{"image": x}'}, 1,
        '.devcontainer.json: line 1, column 11: unexpected "x": not valid JSON'),
    row("not-an-object", {DC: '"image"'}, 1, f"{DC}: expected an object"),
    row("bind-mount-refused", {DC: '{"image": "x", "mounts": ["source=/,target=/host,type=bind"]}'}, 1,
        "bind mounts of host folders are refused; use a named volume (type=volume), or allow them: "
        "[devcontainer] allow_bind_mounts = true"),
    row("run-arg-privileged", {DC: '{"image": "x", "runArgs": ["--privileged"]}'}, 1,
        f"{DC} runArgs: '--privileged' is not allowed; allowed: --init, --shm-size, --ulimit, --tmpfs, "
        "--add-host, -e/--env"),
    row("run-arg-network-host", {DC: '{"image": "x", "runArgs": ["--network", "host"]}'}, 1,
        "runArgs: '--network' is not allowed"),
    row("context-outside", {DC: '{"build": {"dockerfile": "Dockerfile", "context": "../.."}}'}, 1,
        "build.context: '../..' is outside the workspace"),
    row("workspace-folder-root", {DC: '{"image": "x", "workspaceFolder": "/"}'}, 1,
        "workspaceFolder: '/' must be an absolute path"),
    row("bad-forward-port", {DC: '{"image": "x", "appPort": "99999"}'}, 1, "appPort: '99999:99999'"),
    row("bad-hook", {DC: '{"image": "x", "postStartCommand": [1]}'}, 1,
        "postStartCommand: expected a command string or a non-empty array"),
    row("dockerfile-outside", {}, 2, "--dockerfile path: '../Dockerfile' is outside the workspace",
        args=["--dockerfile", "../Dockerfile"]),
    row("dockerfile-missing", {}, 2, "--dockerfile: Dockerfile 'nope/Dockerfile' does not exist in the workspace",
        args=["--dockerfile", "nope/Dockerfile"], docker=True),
    row("dockerfile-symlink", {"real": "FROM vmuser-busybox:local\n", "Dockerfile": "->/etc/passwd"}, 2,
        "--dockerfile: Dockerfile 'Dockerfile' must be a file inside the workspace, reached without symlinks",
        args=["--dockerfile", "Dockerfile"], docker=True),
    row("from-missing-image", {"Dockerfile": "FROM vmuser-no-such-image:local\n"}, 1,
        "building Dockerfile (--dockerfile) failed at Step 1/", args=["--dockerfile", "Dockerfile"], docker=True),
]
# fmt: on


@pytest.mark.parametrize("files, args, code, message", ROWS)
def test_bad_devcontainer_input(files, args, code, message, clean_env, tmp_path, request):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_CONFIG=str(tmp_path / "no-config.toml"), VMUSER_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))

    def vmuser(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*PY, *argv], env=env, capture_output=True, text=True, timeout=120)

    pid = vmuser("project", "create", "bad input").stdout.strip()
    workspace = Path(json.loads(vmuser("project", "show", pid, "--json").stdout)["workspace"])
    for rel, text in files.items():
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        if text.startswith("->"):
            os.symlink(text[2:], workspace / rel)
        else:
            (workspace / rel).write_text(text)
    try:
        proc = vmuser("session", "start", pid, *args)
        lines = proc.stderr.strip().splitlines()
        # build output may precede the error (a failing build streams its steps first)
        error = [ln for ln in lines if ln.startswith("vmuser: error: ")]
        assert proc.returncode == code, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""
        assert message in lines[-1], proc.stderr
        if "from-missing-image" not in request.node.name:
            assert len(lines) == 1 and error == lines, proc.stderr
        assert json.loads(vmuser("session", "list", pid, "--json").stdout) == []
    finally:
        if any(m.name == "docker" for m in request.node.iter_markers()):
            import docker

            client = docker.from_env()
            for c in client.containers.list(all=True, filters={"label": f"vmuser.project={pid}"}):
                c.remove(force=True)
            assert not client.images.list(filters={"label": f"vmuser.project={pid}"})
            client.close()
