"""A session's container, inspected with the docker SDK: what it may do is what the
config says, and nothing more. Real engine; the session is started through the service
layer with limits set in the config file, so the test covers config -> runtime -> engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vmuser_tui.core.redact import MASK
from vmuser_tui.core.runtime import FALLBACK_IMAGE, LABEL_PROJECT
from vmuser_tui.core.runtime.docker_runtime import CAP_ADD

pytestmark = pytest.mark.docker
# the container's user: the host user's uid:gid, or nobody's when vmuser runs as root
USER = (os.getuid(), os.getgid()) if os.getuid() != 0 else (65534, 65534)

CONFIG = """\
[docker]
memory = "96m"
cpus = 0.25
pids_limit = 64
"""


@pytest.fixture
def engine(docker_available):
    import docker

    base_url = os.environ.get("VMUSER_DOCKER_BASE_URL")
    client = docker.DockerClient(base_url=base_url, timeout=60) if base_url else docker.from_env(timeout=60)
    yield client
    client.close()


@pytest.fixture
def started(make_vm, engine):
    """``(vm, project, session, container attrs)`` for one running session; removed after."""
    vm = make_vm(config_text=CONFIG)
    project = vm.projects.create("Confined")
    session = vm.sessions.start(project.id, image=FALLBACK_IMAGE).session
    try:
        yield vm, project, session, engine.api.inspect_container(session.container_id)
    finally:
        import docker.errors

        for c in engine.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={project.id}"}):
            try:
                c.remove(force=True)
            except docker.errors.NotFound:
                pass


def test_container_runs_unprivileged_with_the_configured_limits(started):
    vm, _, _, attrs = started
    host = attrs["HostConfig"]
    assert host["Privileged"] is False
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["PidsLimit"] == vm.config.get("docker", "pids_limit") == 64
    assert host["Memory"] == vm.config.get("docker", "memory") == 96 * 1024 * 1024
    assert host["NanoCpus"] == round(vm.config.get("docker", "cpus") * 1e9) == 250_000_000
    assert host["CapDrop"] == ["ALL"]
    assert not host["CapAdd"]  # an unprivileged container user gets no capability back
    assert not {"SYS_ADMIN", "NET_ADMIN", "MKNOD", "NET_RAW", "SYS_PTRACE", "SETUID", "SETGID", "FSETID"} & set(CAP_ADD)
    assert not host.get("Devices") and not host.get("VolumesFrom") and host.get("PidMode", "") == ""
    assert host.get("NetworkMode") != "host" and host.get("IpcMode") != "host"
    # as the invoking user (uid:gid), so files in /workspace stay theirs; never root (issue 11, case 8)
    assert attrs["Config"]["User"] == "{}:{}".format(*USER) != "0:0"


def test_the_workspace_is_the_only_mount_and_no_docker_socket(started):
    _, project, _, attrs = started
    mounts = attrs["Mounts"]
    assert [(m["Type"], m["Destination"], m["RW"]) for m in mounts] == [("bind", "/workspace", True)]
    assert os.path.realpath(mounts[0]["Source"]) == os.path.realpath(project.workspace)
    binds = attrs["HostConfig"].get("Binds") or []
    everything = " ".join([*binds, *(m["Source"] for m in mounts)])
    assert "docker.sock" not in everything and "/var/run" not in everything
    assert not attrs["HostConfig"].get("Mounts")


def test_a_dev_shell_still_works_with_the_reduced_capabilities(started):
    vm, project, session, _ = started
    ws = Path(project.workspace)
    result = vm.sessions.exec(session.id, ["sh", "-c", "echo hi > /workspace/x && ls /workspace && cat /workspace/x"])
    assert result.exit_code == 0, result.output
    assert result.output == b"x\nhi\n"
    assert (ws / "x").read_text() == "hi\n" and (ws / "x").stat().st_uid == USER[0]
    result = vm.sessions.exec(session.id, ["sh", "-c", "mkdir -p d/e && cp x d/e/y && chmod 600 d/e/y && cat d/e/y"])
    assert result.exit_code == 0 and result.output == b"hi\n", result.output


def test_device_files_cannot_be_made_in_the_workspace(started):
    vm, project, session, _ = started
    result = vm.sessions.exec(session.id, ["sh", "-c", "mknod /workspace/null c 1 3"])
    assert result.exit_code != 0
    assert not os.path.lexists(Path(project.workspace) / "null")


def test_the_pids_limit_holds(started):
    vm, _, session, _ = started
    # 80 sleepers against a limit of 64: some forks must fail
    script = "for i in $(seq 80); do sleep 5 & done; echo started; kill $(jobs -p) 2>/dev/null"
    result = vm.sessions.exec(session.id, ["sh", "-c", script])
    assert b"can't fork" in result.output or b"Resource temporarily unavailable" in result.output, result.output


def test_secret_looking_environment_is_masked_in_the_log_and_session_show(started, data_dir, config_path):
    vm, project, session, _ = started
    result = vm.sessions.exec(session.id, ["env", "API_TOKEN=s3cr3t-value", "LANG=C", "sh", "-c", "echo $API_TOKEN"])
    assert result.output == b"s3cr3t-value\n"  # the command itself gets the value
    entry = vm.log(project=project.id, operation="session.exec", limit=1)[0]
    assert entry["details"]["command"] == ["env", f"API_TOKEN={MASK}", "LANG=C", "sh", "-c", "echo $API_TOKEN"]
    raw = vm.db.conn.execute("SELECT details FROM operation_log WHERE operation = 'session.exec'").fetchall()
    assert all("s3cr3t" not in r[0] for r in raw)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_") or k == "VMUSER_DOCKER_BASE_URL"}
    env.update(VMUSER_DATA_DIR=str(data_dir), VMUSER_CONFIG=str(config_path))
    for argv in (["session", "show", session.id], ["session", "show", session.id, "--json"],
                 ["log", "--project", project.id], ["log", "--project", project.id, "--json"]):
        out = subprocess.run([sys.executable, "-m", "vmuser_tui", *argv], env=env, capture_output=True, text=True,
                             timeout=60, check=False)
        assert out.returncode == 0, out.stderr
        assert "s3cr3t" not in out.stdout + out.stderr, argv
    from vmuser_tui.tui.screens.log import detail_text  # what the TUI's log screen shows

    assert "s3cr3t" not in detail_text(entry["details"]) and MASK in detail_text(entry["details"])
