"""The Docker runtime against a real engine: no mocks.

No registry is assumed: images come from the locally built busybox fallback. Tests that
need the engine skip (with the reason) when it is unreachable; CI starts one
(.ci/start-docker.sh), so there they run. Names carry a per-run suffix so parallel runs
don't collide, and every container this module creates is removed at the end.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest

from vmuser_tui.core.errors import NotFoundError, RuntimeUnavailableError, StateError, UsageError
from vmuser_tui.core.runtime import FALLBACK_IMAGE, LABEL_PROJECT, LABEL_SESSION, ContainerSpec, get_runtime
from vmuser_tui.core.runtime.docker_runtime import DockerRuntime
from vmuser_tui.core.runtime.images import build_busybox_image

pytestmark = pytest.mark.docker

RUN_ID = secrets.token_hex(4)
TEST_LABEL = "vmuser.test-run"
MEMORY = 64 * 1024 * 1024
PIDS = 128
# who a container without an explicit user runs as: the host user, or nobody when that is root
USER = (os.getuid(), os.getgid()) if os.getuid() != 0 else (65534, 65534)


@pytest.fixture(scope="module")
def runtime():
    rt = DockerRuntime(timeout=60)
    try:
        rt.ping()
    except RuntimeUnavailableError as err:
        pytest.skip(f"no reachable Docker engine ({err})")
    yield rt
    # Whatever a failed test left behind, by this run's label.
    for info in rt.list_managed():
        if info.labels.get(TEST_LABEL) == RUN_ID:
            rt.remove(info.id)


@pytest.fixture(scope="module")
def image(runtime):
    return runtime.ensure_image(FALLBACK_IMAGE).image


@pytest.fixture(scope="module")
def engine(runtime):
    """The raw docker client, to check what the runtime asked the engine for."""
    import docker

    client = docker.from_env()
    yield client
    client.close()


def make_spec(image: str, workspace: Path, **overrides) -> ContainerSpec:
    session = secrets.token_hex(4)
    fields = dict(
        image=image,
        name=f"vmuser-test-{RUN_ID}-{session}",
        workspace=str(workspace),
        labels={LABEL_PROJECT: f"test-{RUN_ID}", LABEL_SESSION: session, TEST_LABEL: RUN_ID},
        memory=MEMORY,
        cpus=0.5,
        pids_limit=PIDS,
    )
    fields.update(overrides)
    return ContainerSpec(**fields)


@pytest.fixture
def session(runtime, image, tmp_path):
    """A started container; yields (spec, info) and removes it afterwards."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    os.chown(workspace, *USER)  # the container's user (not root, even when the tests run as root) writes it
    spec = make_spec(image, workspace)
    info = runtime.start(spec)
    yield spec, info
    runtime.remove(info.id)


# -- images -------------------------------------------------------------------------


def test_build_busybox_image_builds_a_runnable_image(runtime, engine):
    tag = f"vmuser-test-busybox-{RUN_ID}:local"
    try:
        assert build_busybox_image(runtime._docker(), tag) == tag
        output = engine.containers.run(tag, ["sh", "-c", "busybox true && ls -d /tmp /workspace"], remove=True)
        assert output.split() == [b"/tmp", b"/workspace"]
    finally:
        engine.images.remove(tag, force=True)


def test_ensure_image_falls_back_to_busybox_when_missing(runtime):
    started = time.monotonic()
    choice = runtime.ensure_image(f"vmuser-test-missing-{RUN_ID}:none")
    assert choice.fallback is True
    assert choice.image == FALLBACK_IMAGE
    assert "cannot be pulled" in choice.message and FALLBACK_IMAGE in choice.message
    assert "\n" not in choice.message
    assert time.monotonic() - started < 60


def test_ensure_image_uses_local_image(runtime, image):
    choice = runtime.ensure_image(image)
    assert (choice.image, choice.fallback) == (image, False)


def test_ensure_image_rejects_malformed_name(runtime):
    with pytest.raises(UsageError, match="invalid image name"):
        runtime.ensure_image("Not A Valid Name!")


# -- lifecycle ----------------------------------------------------------------------


def test_start_runs_with_labels(runtime, session):
    spec, info = session
    assert info.status == "running"
    assert len(info.id) == 64
    assert info.name == spec.name
    assert info.image == spec.image
    again = runtime.inspect(info.id)
    assert again is not None and again.status == "running"
    assert again.labels[LABEL_SESSION] == spec.labels[LABEL_SESSION]
    assert again.labels[LABEL_PROJECT] == spec.labels[LABEL_PROJECT]


def test_container_is_confined(session, engine):
    spec, info = session
    attrs = engine.api.inspect_container(info.id)
    host = attrs["HostConfig"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["PidsLimit"] == PIDS
    assert host["Memory"] == MEMORY
    assert host["NanoCpus"] == 500_000_000
    assert attrs["Config"]["User"] == f"{USER[0]}:{USER[1]}" != "0:0"
    assert not host.get("CapAdd") and host["CapDrop"] == ["ALL"]  # an unprivileged user needs none
    assert not host.get("Privileged")
    mounts = attrs["Mounts"]
    assert len(mounts) == 1, mounts  # the workspace only: no docker socket, no volumes
    assert mounts[0]["Source"] == spec.workspace
    assert mounts[0]["Destination"] == "/workspace"
    assert mounts[0]["RW"] is True


def test_exec_writes_workspace_as_the_container_user(runtime, session):
    spec, info = session
    result = runtime.exec(info.id, ["sh", "-c", "echo hi > /workspace/f && id -u"])
    assert result.exit_code == 0
    assert result.output == f"{USER[0]}\n".encode()
    assert result.duration > 0
    written = Path(spec.workspace) / "f"
    assert written.read_text() == "hi\n"
    assert (written.stat().st_uid, written.stat().st_gid) == USER


def test_exec_defaults_and_environment(runtime, session):
    _, info = session
    result = runtime.exec(info.id, ["sh", "-c", 'echo "$PWD $HOME $GREETING"'], environment={"GREETING": "hello"})
    assert result.output == b"/workspace /tmp hello\n"
    result = runtime.exec(info.id, ["pwd"], workdir="/tmp")
    assert result.output == b"/tmp\n"


def test_exec_returns_nonzero_exit_code_and_interleaved_output(runtime, session):
    _, info = session
    result = runtime.exec(info.id, ["sh", "-c", "echo out; sleep 0.1; echo err >&2; sleep 0.1; echo out2; exit 3"])
    assert result.exit_code == 3
    assert result.output == b"out\nerr\nout2\n"


def test_exec_unknown_program_is_an_exit_code(runtime, session):
    _, info = session
    result = runtime.exec(info.id, ["no-such-program-here"])
    assert result.exit_code in (126, 127)


def test_exec_timeout_raises_state_error(runtime, session):
    _, info = session
    started = time.monotonic()
    with pytest.raises(StateError, match="still running after"):
        runtime.exec(info.id, ["sleep", "30"], timeout=0.5)
    assert time.monotonic() - started < 5


def test_exec_empty_argv_is_usage_error(runtime, session):
    _, info = session
    with pytest.raises(UsageError):
        runtime.exec(info.id, [])


def test_pause_blocks_exec_until_unpaused(runtime, session):
    _, info = session
    runtime.pause(info.id)
    assert runtime.inspect(info.id).status == "paused"
    with pytest.raises(StateError, match="paused"):
        runtime.exec(info.id, ["true"])
    with pytest.raises(StateError):
        runtime.pause(info.id)
    runtime.unpause(info.id)
    assert runtime.inspect(info.id).status == "running"
    assert runtime.exec(info.id, ["true"]).exit_code == 0


def test_stop_is_prompt_and_exec_then_refused(runtime, session):
    _, info = session
    started = time.monotonic()
    runtime.stop(info.id)
    assert time.monotonic() - started < 4  # PID 1 exits on SIGTERM, no kill timeout
    assert runtime.inspect(info.id).status == "exited"
    with pytest.raises(StateError, match="vmuser session start"):
        runtime.exec(info.id, ["true"])
    runtime.stop(info.id)  # stopping a stopped container is fine


def test_list_managed_finds_container_by_label(runtime, session):
    spec, info = session
    found = {c.id: c for c in runtime.list_managed()}
    assert info.id in found
    assert found[info.id].name == spec.name
    assert found[info.id].status == "running"
    assert found[info.id].labels[LABEL_SESSION] == spec.labels[LABEL_SESSION]


def test_remove_then_inspect_returns_none(runtime, session):
    _, info = session
    runtime.remove(info.id)
    assert runtime.inspect(info.id) is None
    runtime.remove(info.id)  # already gone: not an error
    assert info.id not in {c.id for c in runtime.list_managed()}
    with pytest.raises(NotFoundError):
        runtime.exec(info.id, ["true"])


def test_logs_and_stats(runtime, session):
    _, info = session
    assert isinstance(runtime.logs(info.id), str)
    runtime.exec(info.id, ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
    stats = runtime.stats(info.id)
    assert set(stats) == {"cpu_percent", "memory_bytes", "memory_limit"}
    assert stats["memory_limit"] == MEMORY
    assert 0 < stats["memory_bytes"] <= MEMORY
    assert stats["cpu_percent"] >= 0.0


def test_shell_argv_targets_the_container(runtime, session):
    _, info = session
    argv = runtime.shell_argv(info.id)
    assert argv[:2] == ["docker", "exec"]
    assert "-it" in argv and info.id in argv
    custom = DockerRuntime(base_url="unix:///var/run/docker.sock").shell_argv(info.id)
    assert custom[:3] == ["docker", "-H", "unix:///var/run/docker.sock"]


def test_start_with_taken_name_is_state_error(runtime, session, tmp_path):
    spec, _ = session
    with pytest.raises(StateError, match="already exists"):
        runtime.start(make_spec(spec.image, Path(spec.workspace), name=spec.name))


def test_start_with_missing_image_is_not_found(runtime, tmp_path):
    with pytest.raises(NotFoundError, match="not available locally"):
        runtime.start(make_spec(f"vmuser-test-missing-{RUN_ID}:none", tmp_path))


def test_start_with_missing_workspace_is_not_found(runtime, image, tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        runtime.start(make_spec(image, tmp_path / "absent"))


# -- without an engine --------------------------------------------------------------


def test_unreachable_engine_fails_fast():
    rt = get_runtime("docker", base_url="unix:///nonexistent.sock")
    started = time.monotonic()
    with pytest.raises(RuntimeUnavailableError, match="cannot reach the Docker engine") as caught:
        rt.ping()
    assert time.monotonic() - started < 5
    assert "\n" not in str(caught.value)


def test_runtime_none_refuses_processes(tmp_path):
    rt = get_runtime("none")
    info = rt.start(make_spec("ignored", tmp_path))
    assert (info.id, info.status) == ("", "none")
    for call in (lambda: rt.exec(info.id, ["true"]), lambda: rt.shell_argv(info.id), lambda: rt.logs(info.id), lambda: rt.stats(info.id)):
        with pytest.raises(StateError, match="runtime 'none'"):
            call()
    rt.stop(info.id)
    rt.remove(info.id)


def test_unknown_runtime_is_usage_error():
    with pytest.raises(UsageError, match="'docker' or 'none'"):
        get_runtime("podman")
