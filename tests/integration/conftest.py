"""Fixtures shared by the integration tests that use the real Docker engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vmuser_tui.core.runtime import LABEL_PROJECT


@pytest.fixture
def docker_projects(docker_available):
    """``(client, project_ids)``: a docker SDK client on the engine the suite uses, and a list
    the test appends its project ids to; their containers and committed images are removed
    after the test, pass or fail."""
    import docker
    import docker.errors

    base_url = os.environ.get("VMUSER_DOCKER_BASE_URL")
    client = docker.DockerClient(base_url=base_url, timeout=60) if base_url else docker.from_env(timeout=60)
    made: list[str] = []
    yield client, made
    for pid in made:
        for c in client.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={pid}"}):
            try:
                c.remove(force=True)
            except docker.errors.NotFound:
                pass
        for img in client.images.list(filters={"label": f"{LABEL_PROJECT}={pid}"}):
            try:
                client.images.remove(img.id, force=True)
            except docker.errors.NotFound:
                pass
    client.close()


@pytest.fixture
def cli_env(clean_env, tmp_path):
    """Environment for running ``python -m vmuser_tui`` from this checkout: no VMUSER_*
    settings of the caller's, a config path that does not exist."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env["VMUSER_CONFIG"] = str(tmp_path / "no-config.toml")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env
