"""Shared fixtures: a throwaway data dir, a config path that does not exist, a `vm`, Docker.

`vm` is a real :class:`~vmuser_tui.core.service.Vmuser` on a real SQLite file in a tmp
dir; `make_vm` opens more of them (same data dir: "restart the TUI"; `config_text`: write
the config file first). Docker-marked tests run against the real engine; they are skipped
only when the engine truly does not answer, and never on CI (``CI`` set), which starts
one: there an unreachable engine is a failure, not a skip.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from engines import disposable_engine, second_engine, ssh_engine  # noqa: F401  (fixtures: tests/engines.py)

from vmuser_tui.core.service import Vmuser

# Settings a developer's shell may carry; tests must not inherit them. The engine address
# is kept, so the suite talks to the same engine as the developer's docker CLI.
_KEEP_ENV = {"VMUSER_DOCKER_BASE_URL", "VMUSER_DOCKER_TIMEOUT"}


@pytest.fixture
def clean_env(monkeypatch):
    """Remove VMUSER_* settings from the environment for this test."""
    for name in list(os.environ):
        if name.startswith("VMUSER_") and name not in _KEEP_ENV:
            monkeypatch.delenv(name)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A data directory that does not exist yet (Vmuser.open creates it)."""
    return tmp_path / "data"


@pytest.fixture
def config_path(tmp_path) -> Path:
    """A config path whose file does not exist: built-in defaults apply."""
    path = tmp_path / "config" / "config.toml"
    assert not path.exists()
    return path


@pytest.fixture
def make_vm(clean_env, data_dir, config_path):
    """Open a Vmuser on the test's data dir: ``make_vm(config_text=None, reconcile=True)``.

    ``config_text`` is written to the config path first. Every Vmuser opened is closed
    at the end of the test.
    """
    opened: list[Vmuser] = []

    def _open(*, config_text: str | None = None, reconcile: bool = True) -> Vmuser:
        if config_text is not None:
            config_path.parent.mkdir(parents=True, exist_ok=True)
            config_path.write_text(config_text, encoding="utf-8")
        vm = Vmuser.open(data_dir=str(data_dir), config_path=config_path, reconcile=reconcile)
        opened.append(vm)
        return vm

    yield _open
    for vm in opened:
        vm.close()


@pytest.fixture
def vm(make_vm) -> Vmuser:
    """A Vmuser on a fresh data dir with default settings; closed after the test."""
    return make_vm()


# -- Docker ---------------------------------------------------------------------------

_docker_state: dict[str, object] = {}


def _probe_docker() -> tuple[bool, str]:
    """Ping the engine with the docker SDK itself (not vmuser's runtime, so a bug there
    cannot turn into a silent skip). On CI, retry for a while: the engine may be starting."""
    if "result" in _docker_state:
        return _docker_state["result"]  # type: ignore[return-value]
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - docker is a dependency
        result = (False, f"docker SDK missing: {exc}")
    else:
        deadline = time.monotonic() + (30 if os.environ.get("CI") else 0)
        reason = ""
        while True:
            try:
                base_url = os.environ.get("VMUSER_DOCKER_BASE_URL")
                client = docker.DockerClient(base_url=base_url, timeout=5) if base_url else docker.from_env(timeout=5)
                try:
                    client.ping()
                finally:
                    client.close()
                result = (True, "")
                break
            except Exception as exc:  # any failure to connect means unreachable
                reason = " ".join(str(exc).split())[:200]
            if time.monotonic() >= deadline:
                result = (False, reason)
                break
            time.sleep(1)
    _docker_state["result"] = result
    return result


@pytest.fixture(scope="session")
def docker_available() -> bool:
    """True when the Docker engine answers; skips the test otherwise (fails it on CI)."""
    ok, reason = _probe_docker()
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide a Docker engine, but it is unreachable: {reason}")
        pytest.skip(f"no reachable Docker engine: {reason}")
    return True


def pytest_runtest_setup(item):
    """Every test marked ``docker`` needs the engine (see ``docker_available``)."""
    if item.get_closest_marker("docker") is not None:
        ok, reason = _probe_docker()
        if not ok:
            if os.environ.get("CI"):
                pytest.fail(f"CI must provide a Docker engine, but it is unreachable: {reason}")
            pytest.skip(f"no reachable Docker engine: {reason}")
