"""A command's output over an SSH tunnel arrives whole (issue 14).

Through ``ssh -L`` the engine's answer to ``exec_start`` often comes in one piece with the
HTTP headers; the HTTP client's buffer then holds the command's first output, and reading
only the raw socket (as docker-py's hijacked streams do) lost it: 17 of 200 ``echo hello``
came back empty here before the fix. Over a local socket it is rarer, but not impossible.
"""

from __future__ import annotations

import pytest

from vmuser_tui.core.runtime.docker_runtime import DockerRuntime
from vmuser_tui.core.runtime.images import FALLBACK_IMAGE
from vmuser_tui.core.runtime.ssh_tunnel import SshTunnel

pytestmark = pytest.mark.docker


def test_exec_output_over_an_ssh_tunnel_is_never_lost(ssh_engine, tmp_path_factory, docker_available):
    runtime_dir = tmp_path_factory.mktemp("t", numbered=True)
    tunnel = SshTunnel("exec-ssh", f"{ssh_engine.target}:{ssh_engine.port}", ssh_engine.remote_socket,
                       runtime_dir=runtime_dir, ssh_options=ssh_engine.ssh_options)
    rt = DockerRuntime(base_url="unix://" + tunnel.ensure(), timeout=60)
    try:
        rt.ensure_image(FALLBACK_IMAGE)
        api = rt._docker().api
        cid = api.create_container(FALLBACK_IMAGE, ["sleep", "1000"],
                                   host_config=api.create_host_config(network_mode="none"))["Id"]
        api.start(cid)
        try:
            outputs = [rt.exec(cid, ["echo", f"hello {i}"], workdir="/").output for i in range(150)]
            assert [o for i, o in enumerate(outputs) if o != f"hello {i}\n".encode()] == []
        finally:
            api.remove_container(cid, force=True)
    finally:
        rt.close()
        tunnel.close()
