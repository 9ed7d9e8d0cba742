"""Session 22 attacks on captures: code in a session swaps a folder of its workspace for a
symlink to a host folder while a checkpoint is taken. Nothing outside the workspace may
end up in the checkpoint (a restore would then write a host secret where the session
reads it). The races are made deterministic with hooks the capture already has: its
progress callback (called while later files are not yet read, see test_capture_races)
and the scan's ignore callback (called as each folder is found, before it is listed)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from vmuser_tui.core.store import dirscan
from vmuser_tui.core.store import objects as obj
from vmuser_tui.core.store.capture import GROUP_FILES
from vmuser_tui.core.store.scan import scan

SECRET = b"-----BEGIN OPENSSH PRIVATE KEY----- host secret\n"


def _late_files(vm) -> int:
    return (vm.ctx.store.workers * 3 + 2) * GROUP_FILES


def _host_folder(tmp_path: Path, name: str, data: bytes) -> Path:
    host = tmp_path / "host-ssh"
    host.mkdir()
    (host / name).write_bytes(data)
    return host


def _all_bytes(vm, checkpoint) -> list[bytes]:
    store = vm.ctx.store
    return [store.read_blob(e.hash) for _, e in store.walk(checkpoint.root_tree) if e.kind == "file"]


@pytest.mark.parametrize("size", ["small", "big"])
@pytest.mark.parametrize("path", ["standalone", "full scan", "change monitor"])
def test_a_folder_swapped_for_a_link_while_files_are_read_never_brings_host_files_in(vm, tmp_path, path, size):
    vm.ctx.live_enabled = path != "standalone"  # standalone: no monitor (dirscan's walk), as the CLI
    project = vm.projects.create("swap read")
    ws = Path(project.workspace)
    (ws / "keep.txt").write_text("keep\n")
    if path == "change monitor":
        vm.checkpoints.create(project.id)
    late = _late_files(vm)
    (ws / "gen").mkdir()
    for i in range(late + 200):
        (ws / "gen" / f"f{i:05d}").write_bytes(b"x%d" % i)
    pad = b"" if size == "small" else b"\0" * (obj.CHUNK_THRESHOLD + 1)
    secret = SECRET + pad
    (ws / "zz").mkdir()
    (ws / "zz" / "id_key").write_bytes(b"the workspace's own key file\n" + pad)
    host = _host_folder(tmp_path, "id_key", secret)
    fired = []

    def progress(*_):
        if not fired:  # the session swaps its folder for a link to the host's
            fired.append(True)
            shutil.rmtree(ws / "zz")
            os.symlink(host, ws / "zz")

    out = vm.checkpoints.create(project.id, progress=progress)

    assert fired
    assert secret not in _all_bytes(vm, out.checkpoint), "a host file was captured through a swapped folder"
    entry = vm.checkpoints.entry(out.checkpoint.id, "zz/id_key")
    assert entry is None or vm.ctx.store.read_blob(entry.hash).startswith(b"the workspace's own")


def _swapper(ws: Path, host: Path):
    """An ignore callback that, when the scan finds the folder ``sub`` (before listing it),
    swaps it for a link to ``host``: the session's move in the window."""
    fired = []

    def ignore(rel: str, is_dir: bool) -> bool:
        if rel == "sub" and is_dir and not fired:
            fired.append(True)
            shutil.rmtree(ws / "sub")
            os.symlink(host, ws / "sub")
        return False

    return ignore, fired


def test_the_scan_never_lists_a_folder_swapped_for_a_link_to_the_host(tmp_path):
    ws = tmp_path / "ws"
    (ws / "sub").mkdir(parents=True)
    (ws / "sub" / "mine.txt").write_text("mine\n")
    host = _host_folder(tmp_path, "id_key", SECRET)
    (host / "deeper").mkdir()
    (host / "deeper" / "more").write_text("more host files\n")
    ignore, fired = _swapper(ws, host)

    found = scan(ws, {}, ignore=ignore)

    assert fired
    assert not any(p.startswith("sub/") for p in found.flat), sorted(found.flat)


def test_the_standalone_walk_never_lists_a_folder_swapped_for_a_link_to_the_host(tmp_path):
    ws = tmp_path / "ws"
    (ws / "sub").mkdir(parents=True)
    (ws / "sub" / "mine.txt").write_text("mine\n")
    host = _host_folder(tmp_path, "id_key", SECRET)
    (host / "deeper").mkdir()
    ignore, fired = _swapper(ws, host)

    walked = dirscan.walk(ws, ignore)

    assert fired
    listed = {name for rows in (walked.raw.get("sub", []),) for name, *_ in rows}
    assert "id_key" not in listed and "deeper" not in listed
    assert "sub/deeper" not in walked.raw


def test_a_capture_whose_folder_is_swapped_before_it_is_listed_takes_no_host_file(vm, tmp_path, monkeypatch):
    """The same move during a whole capture: the scan's ignore callback stands for the
    moment between the parent's listing and the folder's."""
    project = vm.projects.create("swap list")
    ws = Path(project.workspace)
    (ws / "sub").mkdir()
    (ws / "sub" / "mine.txt").write_text("mine\n")
    host = _host_folder(tmp_path, "id_key", SECRET)
    swap, fired = _swapper(ws, host)
    rules = vm.checkpoints.ignore_rules

    def hostile_rules(*args, **kwargs):
        real = rules(*args, **kwargs)

        def match(rel: str, is_dir: bool) -> bool:
            return swap(rel, is_dir) or (real.match is not None and real.match(rel, is_dir))

        return dataclasses.replace(real, match=match)

    monkeypatch.setattr(vm.checkpoints, "ignore_rules", hostile_rules)
    out = vm.checkpoints.create(project.id)

    assert fired
    assert SECRET not in _all_bytes(vm, out.checkpoint)
    assert vm.checkpoints.entry(out.checkpoint.id, "sub/id_key") is None


def test_a_change_the_monitor_reported_never_reads_through_a_folder_swapped_since(vm, tmp_path, monkeypatch):
    """The change monitor reported ``sub/id_key`` changed; the session swaps ``sub`` for a
    link to a host folder after the capture took the events and before it looks at the
    path. The capture must not stat, read or readlink through the link."""
    project = vm.projects.create("swap monitor")
    ws = Path(project.workspace)
    (ws / "sub").mkdir()
    (ws / "sub" / "id_key").write_text("mine\n")
    vm.checkpoints.create(project.id)
    state = vm.ctx._live[project.id]
    assert state.valid
    host = _host_folder(tmp_path, "id_key", SECRET)
    (host / "link").symlink_to("/host/secret/path")
    (ws / "sub" / "id_key").write_text("mine, changed\n")
    (ws / "sub" / "link").symlink_to("id_key")
    drained = state.changed

    def changed():
        out = drained()
        shutil.rmtree(ws / "sub")  # after the events were taken: the next batch would tell
        os.symlink(host, ws / "sub")
        return out

    monkeypatch.setattr(state, "changed", changed)
    out = vm.checkpoints.create(project.id)

    assert SECRET not in _all_bytes(vm, out.checkpoint)
    link = vm.checkpoints.entry(out.checkpoint.id, "sub/link")
    assert link is None or vm.ctx.store.read_blob(link.hash) == b"id_key"


# busybox sh in a container with the workspace at /workspace: swap the real folder d and
# the link s (to the host folder) as fast as it can until told to stop
_SWAPPER = "cd /workspace; while [ ! -e .stop ]; do mv d t; mv s d; mv t s; done 2>/dev/null"


@pytest.mark.docker
def test_captures_raced_from_inside_a_container_never_take_a_host_file(vm, tmp_path, docker_projects):
    """The real attack: code in a container swaps a folder of its workspace for a symlink
    to a host folder, over and over, while vmuser takes checkpoints. No checkpoint may
    hold the host file (a later restore would hand it to the container)."""
    from vmuser_tui.core.runtime import FALLBACK_IMAGE
    from vmuser_tui.core.runtime.docker_runtime import DockerRuntime

    client, _ = docker_projects
    image = DockerRuntime(timeout=60).ensure_image(FALLBACK_IMAGE).image
    vm.ctx.live_enabled = False  # the CLI's capture: a whole scan every time
    ws = tmp_path / "ws"
    (ws / "d").mkdir(parents=True)
    for i in range(300):
        (ws / "d" / f"id_key{i:03}").write_text(f"the workspace's own {i}\n")
    host = tmp_path / "host-ssh"
    host.mkdir()
    for i in range(300):
        (host / f"id_key{i:03}").write_bytes(SECRET + b"%d\n" % i)
    os.symlink(host, ws / "s")
    project = vm.projects.create("race capture", workspace=ws)
    container = client.containers.run(image, ["sh", "-c", _SWAPPER], detach=True,
                                      volumes={str(ws): {"bind": "/workspace", "mode": "rw"}},
                                      labels={"vmuser.test": "s22-capture-race"})
    leaked: list[str] = []
    try:
        for _ in range(25):
            out = vm.checkpoints.create(project.id, allow_empty=True)
            for rel, e in vm.ctx.store.walk(out.checkpoint.root_tree):
                if e.kind == "file" and vm.ctx.store.read_blob(e.hash).startswith(SECRET):
                    leaked.append(rel)
    finally:
        (ws / ".stop").touch()
        try:
            container.wait(timeout=30)
        finally:
            container.remove(force=True)
    assert not leaked, f"host files captured: {leaked[:5]} ({len(leaked)} in all)"


def test_the_change_monitor_never_walks_into_a_host_folder_swapped_in(tmp_path):
    """The change monitor watches every folder of the workspace (inotify, one watch each):
    a folder swapped for a link to a host tree between its parent's listing and its own
    must not make vmuser walk and watch the host tree (names of host files as events, and
    every watch of the user's inotify budget spent)."""
    from vmuser_tui.core.store.live import Monitor, MonitorHub

    ws = tmp_path / "ws"
    (ws / "sub").mkdir(parents=True)
    host = tmp_path / "host"
    for i in range(30):
        (host / f"d{i:02}" / "deeper").mkdir(parents=True)
    fired: list = []

    def ignore(rel: str, is_dir: bool) -> bool:  # asked as each folder is found, before it is listed
        if rel == "sub" and not fired:
            fired.append(True)
            (ws / "sub").rmdir()
            os.symlink(host, ws / "sub")
        return False

    try:
        hub = MonitorHub()
    except (ImportError, OSError):
        pytest.skip("no inotify here")
    try:
        monitor = Monitor(hub, str(ws), ignore=ignore)
        monitor.watch_tree()
        assert fired
        assert not [rel for rel in monitor._wds if rel.startswith("sub/")], sorted(monitor._wds)[:5]
    finally:
        hub.close()
