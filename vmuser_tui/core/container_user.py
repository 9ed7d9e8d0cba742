"""Who a session container runs as: never a way to leave set-uid root files on the host.

A container whose processes run as uid 0 without a user-namespace mapping is root on
every file of the bind-mounted workspace: ``chmod 4755 /workspace/tool`` leaves a
set-uid root program on the host that any host user who can reach the folder runs as
root (issue 11, case 8). Dropping capabilities does not prevent it: the owner of a file
may always set its set-uid bit. Only a container user that is not root does. So:

- ``[docker] user`` empty (the default): the host user's uid:gid when vmuser does not run
  as root (files in /workspace stay theirs, as before). When vmuser runs as root: the
  owner of a workspace folder given with ``--workspace`` when that owner is not root; a
  managed workspace (``<data dir>/workspaces/<id>``, vmuser's own) is handed to
  :data:`UNPRIVILEGED` (65534:65534, ``nobody:nogroup`` on Debian-like hosts, which by
  convention owns no files) before each start, so the container can write it while the
  0700 data directory keeps it out of other host users' reach; a root-owned folder of the
  user's is refused with the fix (vmuser does not re-own a user's folder behind their back).
- ``"uid:gid"`` (numbers, 0-2147483647, the range Docker accepts): that user. A managed
  workspace is handed to it as above; a user's folder is left as it is.
- ``"root"``: uid 0 as before this change, with a one-line warning at each start. Where the
  engine runs with user-namespace remapping (``dockerd --userns-remap``; ``docker info``
  lists ``name=userns`` under SecurityOptions), uid 0 in the container is an unprivileged
  uid on the host, so "root" is safe there; the default is kept the same everywhere
  rather than depending on how the engine is set up.

Group 0 counts as root too: a user in group 0 can make set-gid root-group programs.
What vmuser itself writes into a workspace while it runs as root (a restore, ``fs put``)
goes to the workspace folder's owner (:func:`workspace_owner`): a restore gives each file,
folder and link to that owner as it makes it, so a running session can still edit it.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from vmuser_tui.core.errors import StateError

# nobody:nogroup. Unprivileged, owns no files by convention, present in most images.
UNPRIVILEGED = (65534, 65534)
# Docker (runc) refuses ids above 2^31 - 1 ("uids and gids must be in range 0-2147483647").
MAX_ID = 2**31 - 1
_USER_RE = re.compile(r"([0-9]{1,10}):([0-9]{1,10})")  # ASCII digits only (\d takes any script's)
SETTING_HELP = 'expected "uid:gid" (numbers 0-2147483647, e.g. "1000:1000") or "root" (empty: the default)'


@dataclass(frozen=True)
class ContainerUser:
    """The uid and gid a session container runs as, and why (for messages).

    ``why``: ``"configured"``, ``"host user"``, ``"workspace owner"`` or ``"unprivileged"``.
    """

    uid: int
    gid: int
    why: str

    @property
    def spec(self) -> str:
        """Docker's ``--user`` value, ``"uid:gid"``."""
        return f"{self.uid}:{self.gid}"

    @property
    def privileged(self) -> bool:
        """True when files it makes can be set-uid or set-gid root on the host (uid or gid 0)."""
        return self.uid == 0 or self.gid == 0


def parse(text: str) -> tuple[int, int] | None:
    """``"root"`` -> ``(0, 0)``; ``"uid:gid"`` -> the two numbers; ``""`` -> None (the default).

    Raises ValueError with :data:`SETTING_HELP`: names (``"alice:staff"``) are refused,
    since Docker would look them up in the image's /etc/passwd, not the host's; so is a
    lone uid (Docker would give it group 0).
    """
    if text == "":
        return None
    if text == "root":
        return (0, 0)
    match = _USER_RE.fullmatch(text)
    if not match or max(int(match.group(1)), int(match.group(2))) > MAX_ID:
        raise ValueError(SETTING_HELP)
    return int(match.group(1)), int(match.group(2))


def check_setting(value: str) -> str | None:
    """For :class:`~vmuser_tui.core.config.Setting`: None when ``value`` is a valid
    ``[docker] user``, else what is expected."""
    try:
        parse(value)
    except ValueError as exc:
        return str(exc)
    return None


def choose(setting: str, workspace: str | os.PathLike[str], *, managed: bool,
           host_uid: int | None = None, host_gid: int | None = None) -> ContainerUser:
    """The user a session container on ``workspace`` runs as (the rules in the module text).

    ``setting`` is ``[docker] user``; ``host_uid``/``host_gid`` default to this process's.
    Raises StateError for a root-owned folder given with ``--workspace`` when vmuser runs
    as root and nothing is configured, and ValueError for a malformed ``setting``.
    """
    host_uid = os.getuid() if host_uid is None else host_uid
    host_gid = os.getgid() if host_gid is None else host_gid
    wanted = parse(setting)
    if wanted is not None:
        return ContainerUser(*wanted, "configured")
    if host_uid != 0:
        return ContainerUser(host_uid, host_gid, "host user")
    if managed:
        return ContainerUser(*UNPRIVILEGED, "unprivileged")
    st = os.stat(workspace)
    if st.st_uid == 0:
        raise StateError(
            f"workspace {workspace} belongs to root, and vmuser (run as root) starts session containers as an "
            f"unprivileged user, which could not write it: give the folder to a user "
            f"(chown -R 1000:1000 {workspace}), or set [docker] user, e.g. \"1000:1000\" "
            f"(\"root\" lets files a session makes be set-uid root on the host)"
        )
    # group 0 would let the container make set-gid root-group files
    return ContainerUser(st.st_uid, st.st_gid or UNPRIVILEGED[1], "workspace owner")


def for_engine(setting: str) -> tuple[ContainerUser, list[str]]:
    """The user of a session on an engine other than ``local`` (issue 14), with the notes
    for the user: ``[docker] user`` when set, else 65534:65534. No folder of this host is
    involved, and this host's uid means nothing on the engine's host."""
    wanted = parse(setting)
    user = ContainerUser(*wanted, "configured") if wanted is not None else ContainerUser(*UNPRIVILEGED, "unprivileged")
    note = warning(setting, user)
    return user, [note] if note else []


def warning(setting: str, user: ContainerUser) -> str | None:
    """One line for the user when ``user`` can make set-uid/set-gid root files; else None."""
    if not user.privileged:
        return None
    bits = "set-uid root" if user.uid == 0 else "set-gid root"
    return (f'warning: [docker] user = "{setting}": files a session makes in its workspace can be {bits} '
            "on the host (safe only where the engine runs with userns-remap); remove the setting to run "
            "the container unprivileged")


def hand_over(workspace: str | os.PathLike[str], uid: int, gid: int) -> int:
    """Give every entry of a managed workspace (the folder too) to ``uid:gid``; return how
    many changed. Only for vmuser's own workspaces, and only when vmuser runs as root.

    Walks with directory file descriptors and never follows a symlink (``os.fwalk`` with
    ``follow_symlinks=False`` checks each directory it enters is the one it listed), so a
    session that swaps a folder for a link while this runs cannot make vmuser re-own a
    file outside. Files with more than one hard link are left alone (one of the other names
    could be outside). chown clears set-uid/set-gid bits of files as it goes. Entries that
    vanish meanwhile are skipped. Raises StateError (one line, with the fix) otherwise.
    """
    changed = 0
    top = Path(workspace)
    try:
        for _dirpath, dirnames, filenames, dirfd in os.fwalk(top, follow_symlinks=False):
            st = os.fstat(dirfd)
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.chown(dirfd, uid, gid)
                changed += 1
            for name in dirnames + filenames:
                try:
                    st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                    if (st.st_uid, st.st_gid) == (uid, gid):
                        continue
                    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                        continue
                    os.chown(name, uid, gid, dir_fd=dirfd, follow_symlinks=False)
                    changed += 1
                except FileNotFoundError:
                    continue
    except OSError as exc:
        raise StateError(
            f"cannot hand workspace {top} to the container user {uid}:{gid} ({exc.strerror or exc}): "
            f"fix it by hand (chown -R {uid}:{gid} {top}), or set [docker] user"
        ) from None
    return changed


def workspace_owner(workspace: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(uid, gid)`` that files vmuser makes in ``workspace`` should get, or None to leave
    them as made: the workspace folder's owner when vmuser runs as root and that owner is
    not root (a managed workspace handed to the container user, or a user's folder), so a
    session running as that user can edit what a restore or ``fs put`` wrote."""
    if os.getuid() != 0:
        return None
    try:
        st = os.stat(workspace)
    except OSError:
        return None
    return (st.st_uid, st.st_gid) if st.st_uid != 0 else None


def prepare(setting: str, workspace: str | os.PathLike[str], *, managed: bool) -> tuple[ContainerUser, list[str]]:
    """:func:`choose` the user, hand a managed workspace to it when vmuser runs as root,
    and return it with the notes for the user (the root warning, at most one line)."""
    user = choose(setting, workspace, managed=managed)
    if managed and os.getuid() == 0 and user.uid != 0:
        hand_over(workspace, user.uid, user.gid)
    note = warning(setting, user)
    return user, [note] if note else []
