"""Who a session container runs as (issue 11, case 8): never a way to leave a set-uid or
set-gid root file on the host. Real engine, the busybox image, sessions started through
the service layer and the CLI; the host workspace is walked with os.lstat afterwards."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from vmuser_tui.core.runtime import FALLBACK_IMAGE

pytestmark = pytest.mark.docker

AS_ROOT = os.getuid() == 0
needs_root = pytest.mark.skipif(not AS_ROOT, reason="the case is vmuser run as root")

# What a hostile session tries: make root-owned set-uid and set-gid programs and folders.
ATTACKS = [
    "cp /bin/busybox /workspace/tool && chown 0:0 /workspace/tool; chmod 4755 /workspace/tool",
    "cp /bin/busybox /workspace/tool2 && chown 0:0 /workspace/tool2; chmod 2755 /workspace/tool2",
    "cp /bin/busybox /workspace/sh && chmod u+s /workspace/sh",
    "cp /bin/busybox /workspace/both && chmod 6755 /workspace/both; chown 0:0 /workspace/both; chmod 6755 /workspace/both",
    "mkdir -p /workspace/d && chown 0:0 /workspace/d; chmod 2775 /workspace/d",
    "touch /workspace/d/f && chmod 2755 /workspace/d/f",
]


def root_owned_setid(root: Path) -> list[str]:
    """Every path under ``root`` (not following links) that is set-uid root or set-gid root."""
    bad = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if (st.st_mode & stat.S_ISUID and st.st_uid == 0) or (st.st_mode & stat.S_ISGID and st.st_gid == 0):
                bad.append(f"{os.path.relpath(path, root)} {stat.filemode(st.st_mode)} {st.st_uid}:{st.st_gid}")
    return bad


def expected_user() -> tuple[int, int]:
    """The uid:gid a default session runs as: the host user's, or an unprivileged one as root."""
    return (65534, 65534) if AS_ROOT else (os.getuid(), os.getgid())


def sh(vm, sid: str, script: str):
    result = vm.sessions.exec(sid, ["sh", "-c", script])
    return result.exit_code, result.output.decode(errors="replace")


def test_a_session_leaves_no_setuid_or_setgid_root_file_on_the_host(make_vm, docker_projects):
    client, made = docker_projects
    vm = make_vm()
    project = vm.projects.create("hostile")
    made.append(project.id)
    session = vm.sessions.start(project.id, image=FALLBACK_IMAGE).session
    for script in ATTACKS:
        sh(vm, session.id, script)  # some steps fail as a non-root user: that is the point
    ws = Path(project.workspace)
    # the copies themselves worked: the container could write its workspace
    assert {p.name for p in ws.iterdir()} >= {"tool", "tool2", "sh", "both", "d"}
    assert root_owned_setid(ws) == []
    uid, gid = expected_user()
    attrs = client.api.inspect_container(session.container_id)
    assert attrs["Config"]["User"] == f"{uid}:{gid}"
    assert sh(vm, session.id, "id -u; id -g") == (0, f"{uid}\n{gid}\n")


def test_the_container_user_owns_what_it_writes_and_can_edit_and_delete(make_vm, docker_projects, tmp_path):
    _client, made = docker_projects
    vm = make_vm()
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("print('hi')\n")
    os.chmod(src / "main.py", 0o644)
    project = vm.projects.create("owner", import_dir=str(src))  # copied by vmuser: the host user's files
    made.append(project.id)
    ws = Path(project.workspace)
    imported = "main.py"
    session = vm.sessions.start(project.id, image=FALLBACK_IMAGE).session
    code, out = sh(vm, session.id, "echo one > new.txt && echo two >> new.txt && mkdir -p a/b && echo x > a/b/c "
                                   f"&& echo edited >> {imported} && mv new.txt a/moved.txt && rm -r a/b && ls a")
    assert (code, out) == (0, "moved.txt\n")
    uid, gid = expected_user()
    for rel in ("a", "a/moved.txt", imported, "."):
        st = os.lstat(ws / rel)
        assert (st.st_uid, st.st_gid) == (uid, gid), rel
    assert (ws / "a" / "moved.txt").read_text() == "one\ntwo\n"
    assert (ws / imported).read_text().endswith("edited\n")
    assert sh(vm, session.id, f"rm {imported} a/moved.txt && rmdir a && ls -A")[0] == 0
    # handed over, the managed workspace is still out of other host users' reach
    assert stat.S_IMODE(os.stat(vm.ctx.data_dir).st_mode) & 0o077 == 0


def test_the_container_has_no_capability_to_change_users_or_keep_setid_bits(make_vm, docker_projects):
    client, made = docker_projects
    vm = make_vm(config_text='[docker]\nuser = "root"\n')
    project = vm.projects.create("caps")
    made.append(project.id)
    session = vm.sessions.start(project.id, image=FALLBACK_IMAGE).session
    host = client.api.inspect_container(session.container_id)["HostConfig"]
    assert "no-new-privileges" in host["SecurityOpt"] and host["CapDrop"] == ["ALL"]
    assert not {"SETUID", "SETGID", "FSETID", "SETFCAP", "SETPCAP", "MKNOD", "SYS_ADMIN"} & set(host["CapAdd"] or [])
    # root in the container cannot become another user (no SETUID/SETGID): su fails
    code, out = sh(vm, session.id, "echo 'u1:x:1:1::/tmp:/bin/sh' >> /etc/passwd && echo 'g1:x:1:' >> /etc/group "
                                   "&& id -u && su u1 -c 'id -u' 2>&1")
    assert out.splitlines() == ["0", "su: can't set groups: Operation not permitted"], out
    # nor keep a set-gid bit for a group it is not in (no FSETID): the kernel clears it
    code, out = sh(vm, session.id, "touch /workspace/g && chown 0:5 /workspace/g && chmod 2755 /workspace/g "
                                   "&& stat -c %A /workspace/g")
    assert (code, out) == (0, "-rwxr-xr-x\n")
    # still a usable root shell: files of other owners can be re-owned and changed (CHOWN, FOWNER, DAC_OVERRIDE)
    code, out = sh(vm, session.id, "touch h && chown 1:1 h && chmod 600 h && echo x > h && cat h && rm h && echo ok")
    assert (code, out) == (0, "x\nok\n")


def test_an_unprivileged_container_gets_no_capabilities(make_vm, docker_projects):
    client, made = docker_projects
    vm = make_vm()
    project = vm.projects.create("nocaps")
    made.append(project.id)
    session = vm.sessions.start(project.id, image=FALLBACK_IMAGE).session
    host = client.api.inspect_container(session.container_id)["HostConfig"]
    assert not host["CapAdd"] and host["CapDrop"] == ["ALL"]
    assert sh(vm, session.id, "grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status")[1].split() == [
        "CapPrm:", "0000000000000000", "CapEff:", "0000000000000000", "CapBnd:", "0000000000000000"]


@needs_root
def test_a_workspace_of_a_normal_user_is_worked_on_as_that_user(make_vm, docker_projects, tmp_path):
    client, made = docker_projects
    vm = make_vm()
    ws = tmp_path / "alice-code"
    ws.mkdir()
    (ws / "notes.txt").write_text("hers\n")
    for path in (ws, ws / "notes.txt"):
        os.chown(path, 4321, 4322)
    project = vm.projects.create("alice", workspace=str(ws))
    made.append(project.id)
    session = vm.sessions.start(project.id, image=FALLBACK_IMAGE).session
    assert client.api.inspect_container(session.container_id)["Config"]["User"] == "4321:4322"
    for script in ATTACKS:
        sh(vm, session.id, script)
    assert sh(vm, session.id, "echo more >> notes.txt && echo new > new.txt")[0] == 0
    assert root_owned_setid(ws) == []
    st = os.lstat(ws / "new.txt")
    assert (st.st_uid, st.st_gid) == (4321, 4322)
    assert (os.lstat(ws).st_uid, os.lstat(ws / "notes.txt").st_uid) == (4321, 4321)  # nothing of hers was re-owned


@needs_root
def test_a_root_owned_folder_of_the_user_is_refused_with_the_fix(make_vm, docker_projects, tmp_path):
    _client, made = docker_projects
    vm = make_vm()
    ws = tmp_path / "rootcode"
    ws.mkdir()
    project = vm.projects.create("rooted", workspace=str(ws))
    made.append(project.id)
    from vmuser_tui.core.errors import StateError

    with pytest.raises(StateError) as err:
        vm.sessions.start(project.id, image=FALLBACK_IMAGE)
    message = str(err.value)
    assert f"{ws} belongs to root" in message and "chown -R" in message and '[docker] user' in message
    assert "\n" not in message
    assert vm.sessions.list(project.id) == []  # no failed session row left behind
    assert os.lstat(ws).st_uid == 0  # not re-owned behind the user's back


def test_user_root_in_the_config_warns_once_at_each_start(make_vm, docker_projects, data_dir, config_path):
    client, made = docker_projects
    vm = make_vm(config_text='[docker]\nuser = "root"\n')
    project = vm.projects.create("rootly")
    made.append(project.id)
    outcome = vm.sessions.start(project.id, image=FALLBACK_IMAGE)
    warnings = [n for n in outcome.notes if "[docker] user" in n]
    assert len(warnings) == 1 and "set-uid root" in warnings[0], outcome.notes
    assert client.api.inspect_container(outcome.session.container_id)["Config"]["User"] == "0:0"
    # the CLI prints it, once, on stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_") or k == "VMUSER_DOCKER_BASE_URL"}
    env.update(VMUSER_DATA_DIR=str(data_dir), VMUSER_CONFIG=str(config_path))
    out = subprocess.run([sys.executable, "-m", "vmuser_tui", "session", "start", project.id, "--image", FALLBACK_IMAGE],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "[docker] user" in line]
    assert len(lines) == 1 and lines[0].startswith("vmuser: warning:"), out.stderr
    # an unprivileged user set explicitly: no warning, and that user
    vm2 = make_vm(config_text='[docker]\nuser = "2345:2346"\n')
    outcome = vm2.sessions.start(project.id, image=FALLBACK_IMAGE)
    assert not [n for n in outcome.notes if "[docker] user" in n]
    assert client.api.inspect_container(outcome.session.container_id)["Config"]["User"] == "2345:2346"


def test_what_a_restore_or_fs_put_writes_stays_editable_by_the_running_session(make_vm, docker_projects):
    _client, made = docker_projects
    vm = make_vm()
    project = vm.projects.create("restored")
    made.append(project.id)
    session = vm.sessions.start(project.id, image=FALLBACK_IMAGE).session
    assert sh(vm, session.id, "mkdir -p src && echo v1 > src/notes.txt && echo keep > gone.txt")[0] == 0
    first = vm.checkpoints.create(project.id, description="v1").checkpoint
    assert sh(vm, session.id, "echo v2 > src/notes.txt && rm -r gone.txt src")[0] == 0
    vm.restores.restore(first.id)
    vm.fs.write(project.id, "put/by/host.txt", b"from the host\n")
    code, out = sh(vm, session.id, "echo v3 >> src/notes.txt && echo more >> gone.txt && echo x >> put/by/host.txt "
                                   "&& touch src/new put/by/new && cat src/notes.txt")
    assert (code, out) == (0, "v1\nv3\n")
    uid, gid = expected_user()
    ws = Path(project.workspace)
    for rel in ("src", "src/notes.txt", "gone.txt", "put", "put/by", "put/by/host.txt"):
        assert (os.lstat(ws / rel).st_uid, os.lstat(ws / rel).st_gid) == (uid, gid), rel
