"""Who a session container runs as (issue 11, case 8), without the engine: the
``[docker] user`` setting, the choice for each kind of workspace, the warning, and the
hand-over of a managed workspace (real files, real chown; the hand-over cases need root)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest

from vmuser_tui.core import config as cfg
from vmuser_tui.core import container_user as cu
from vmuser_tui.core.errors import ConfigError, StateError

needs_root = pytest.mark.skipif(os.getuid() != 0, reason="re-owning files to another uid needs root")


@pytest.mark.parametrize(("text", "expected"), [
    ("", None), ("root", (0, 0)), ("0:0", (0, 0)), ("1000:1000", (1000, 1000)), ("65534:65534", (65534, 65534)),
    ("2147483647:2147483647", (2147483647, 2147483647)),
])
def test_valid_user_settings(text, expected):
    assert cu.parse(text) == expected
    assert cfg.parse_text("docker", "user", text) == text


@pytest.mark.parametrize("text", [
    "x:y", "alice:staff", "-1", "-1:-1", "1000", "1000:", ":1000", "99999999999:0", "2147483648:0", "0:2147483648",
    " 1000:1000", "1000:1000 ", "1000:1000:1", "ROOT", "1e3:1", "+1:1", "１:１",
])
def test_bad_user_settings_are_refused_naming_the_key_and_the_form(text):
    with pytest.raises(ConfigError) as err:
        cfg.parse_text("docker", "user", text)
    assert str(err.value) == f'[docker] user: {cu.SETTING_HELP}, got {text!r}'


def test_a_bad_user_in_the_file_or_the_environment_fails_the_load(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[docker]\nuser = "x:y"\n')
    with pytest.raises(ConfigError, match=r"config.toml: \[docker\] user: expected \"uid:gid\""):
        cfg.load(path, environ={})
    with pytest.raises(ConfigError, match=r"VMUSER_DOCKER_USER: \[docker\] user: expected"):
        cfg.load(tmp_path / "none.toml", environ={"VMUSER_DOCKER_USER": "-1"})
    path.write_text('[docker]\nuser = 1000\n')
    with pytest.raises(ConfigError, match=r"\[docker\] user: expected a string"):
        cfg.load(path, environ={})
    assert cfg.load(tmp_path / "none.toml", environ={"VMUSER_DOCKER_USER": "1000:1000"}).get("docker", "user") == "1000:1000"


def test_a_user_who_is_not_root_runs_containers_as_themselves(tmp_path):
    user = cu.choose("", tmp_path, managed=True, host_uid=1000, host_gid=1001)
    assert (user.spec, user.why, user.privileged) == ("1000:1001", "host user", False)
    assert cu.choose("", tmp_path, managed=False, host_uid=1000, host_gid=1001).spec == "1000:1001"
    assert cu.warning("", user) is None


def test_as_root_a_managed_workspace_gets_the_unprivileged_user(tmp_path):
    user = cu.choose("", tmp_path, managed=True, host_uid=0, host_gid=0)
    assert (user.uid, user.gid, user.why) == (65534, 65534, "unprivileged")


@needs_root
def test_as_root_a_users_folder_is_worked_on_as_its_owner(tmp_path):
    os.chown(tmp_path, 4321, 4322)
    assert cu.choose("", tmp_path, managed=False, host_uid=0, host_gid=0).spec == "4321:4322"
    os.chown(tmp_path, 4321, 0)  # never group root: that group could own set-gid programs
    assert cu.choose("", tmp_path, managed=False, host_uid=0, host_gid=0).spec == "4321:65534"


def test_as_root_a_root_owned_folder_of_the_users_is_refused(tmp_path):
    if os.stat(tmp_path).st_uid != 0:
        pytest.skip("needs a root-owned folder")
    with pytest.raises(StateError) as err:
        cu.choose("", tmp_path, managed=False, host_uid=0, host_gid=0)
    assert f"workspace {tmp_path} belongs to root" in str(err.value)
    assert f"chown -R 1000:1000 {tmp_path}" in str(err.value) and "[docker] user" in str(err.value)


def test_a_configured_user_wins_and_root_warns(tmp_path):
    for host in (0, 1000):
        assert cu.choose("2000:2001", tmp_path, managed=False, host_uid=host, host_gid=host).spec == "2000:2001"
        root = cu.choose("root", tmp_path, managed=True, host_uid=host, host_gid=host)
        assert (root.spec, root.privileged) == ("0:0", True)
    assert cu.warning("root", cu.ContainerUser(0, 0, "configured")) == (
        'warning: [docker] user = "root": files a session makes in its workspace can be set-uid root on the host '
        "(safe only where the engine runs with userns-remap); remove the setting to run the container unprivileged")
    assert "set-gid root" in cu.warning("1000:0", cu.ContainerUser(1000, 0, "configured"))
    assert cu.warning("1000:1000", cu.ContainerUser(1000, 1000, "configured")) is None


@needs_root
def test_hand_over_reowns_the_workspace_and_nothing_outside(tmp_path):
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    (ws / "d" / "e").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("root's")
    (ws / "a.txt").write_text("a")
    (ws / "d" / "e" / "b.txt").write_text("b")
    (ws / "tool").write_bytes(b"\x7fELF")
    os.chmod(ws / "tool", 0o4755)  # a set-uid root file left by an older version
    os.symlink(outside, ws / "link-dir")
    os.symlink(outside / "secret", ws / "link-file")
    os.link(outside / "secret", ws / "hardlink")  # another name of a file outside
    assert cu.hand_over(ws, 4321, 4322) == 8  # all but the hard link
    for rel in (".", "a.txt", "d", "d/e", "d/e/b.txt", "tool", "link-dir", "link-file"):
        st = os.lstat(ws / rel)
        assert (st.st_uid, st.st_gid) == (4321, 4322), rel
    assert not os.lstat(ws / "tool").st_mode & (stat.S_ISUID | stat.S_ISGID)
    for path in (outside, outside / "secret"):
        assert (os.lstat(path).st_uid, os.lstat(path).st_gid) == (0, 0)
    assert cu.hand_over(ws, 4321, 4322) == 0  # nothing left to change


@needs_root
def test_hand_over_never_follows_a_folder_swapped_for_a_link_while_it_runs(tmp_path):
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    ws.mkdir()
    outside.mkdir()
    for i in range(50):
        (outside / f"o{i}").write_text("x")
    d, real, link = ws / "d", ws / "real", ws / "link"
    real.mkdir()
    for i in range(20):
        (real / f"f{i}").write_text("y")
    os.symlink(outside, link)
    # what a hostile session does, in its own process (a thread would wait for the GIL): d is a
    # folder, then a link to the outside folder, again and again
    swap = ("import os, sys\nd, real, link = sys.argv[1:]\nwhile True:\n"
            "    for a, b in ((real, d), (d, real), (link, d), (d, link)):\n"
            "        try:\n            os.rename(a, b)\n        except OSError:\n            pass\n")
    swapper = subprocess.Popen([sys.executable, "-c", swap, str(d), str(real), str(link)])
    try:
        time.sleep(0.2)
        for _ in range(300):
            cu.hand_over(ws, 4321, 4322)
    finally:
        swapper.kill()
        swapper.wait()
    assert all(os.lstat(p).st_uid == 0 for p in [outside, *outside.iterdir()])
