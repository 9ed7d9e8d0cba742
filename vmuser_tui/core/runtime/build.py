"""Images built from a workspace's own Dockerfile, cached by content (docker SDK, classic builder).

A session whose devcontainer.json has ``build`` (or that was started with ``--dockerfile``)
runs an image built from the workspace. The workspace is writable from inside every session
container of the project, so the build context is untrusted input:

- the context folder and the Dockerfile are reached from the workspace one name at a time
  with ``O_NOFOLLOW`` (no symlink, no ``..``): a context of ``..`` or a ``.devcontainer``
  swapped for a link to ``/`` is refused, never read;
- vmuser makes the context archive itself with directory descriptors (``os.fwalk`` with
  ``follow_symlinks=False``, files opened ``O_NOFOLLOW``), so a folder swapped for a link
  while the archive is made is not followed; symlinks inside the context go into the archive
  as links (the engine resolves them inside the context, as ``docker build`` does); sockets,
  devices and fifos are left out;
- ``.dockerignore`` (docker's own :class:`docker.utils.build.PatternMatcher`) is honoured;
  the Dockerfile and ``.dockerignore`` are always sent, as ``docker build`` does.

The image is tagged ``vmuser-build-<project id>:<content hash>`` and labelled
``vmuser.project=<id>`` and ``vmuser.build=<hash>`` (``project delete`` removes images
labelled with the project). The hash (SHA-256, first :data:`TAG_HEX` hex digits in the tag)
covers every archived entry (path, type, permission bits, content or link target; not
mtimes), the Dockerfile's path and content, the build args and target: when the tag exists
the build is skipped, so an unchanged project starts without rebuilding and any changed file
rebuilds. The base image (``FROM``) is not part of the hash: a base rebuilt under the same
name is picked up by the next changed build only.

Build output (``Step 2/5 : RUN ...`` and what the step prints) goes line by line to an
``output(line)`` callback while it runs. A failure raises :class:`StateError`, one line naming
the step that failed and the engine's reason. The classic builder (``forcerm``) removes the
intermediate containers, so a failed build leaves no container.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from vmuser_tui.core.errors import StateError, UsageError
from vmuser_tui.core.runtime.base import LABEL_PROJECT
from vmuser_tui.core.runtime.images import one_line

if TYPE_CHECKING:
    from vmuser_tui.core.runtime.docker_runtime import DockerRuntime

LABEL_BUILD = "vmuser.build"
TAG_HEX = 24  # hex digits of the content hash in the tag (96 bits)
# Seconds of silence from the engine after which a build is given up: a long RUN step that
# prints nothing (a compiler) must not be cut at the usual 30 s answer timeout.
BUILD_SILENCE = 1800
# The name a Dockerfile outside the context travels under (docker-py does the same).
OUTSIDE_DOCKERFILE = ".vmuser.Dockerfile"
_CHUNK = 1 << 20

Output = Callable[[str], None]


@dataclass(frozen=True)
class BuildSpec:
    """One image to build from a workspace.

    ``workspace``: absolute host folder; ``context`` and ``dockerfile``: paths relative to it
    ('' is the workspace itself), already checked as workspace-relative text (no ``..``);
    ``args``: build args; ``target``: the stage to build ('' for the last); ``project_id``:
    names the tag and label; ``source``: what asked for it, for messages
    (``.devcontainer/devcontainer.json`` or ``--dockerfile``)."""

    workspace: str
    context: str
    dockerfile: str
    project_id: str
    source: str
    args: dict[str, str] = field(default_factory=dict)
    target: str = ""

    def to_json(self) -> dict:
        """``{"context", "dockerfile", "target", "args": [names]}``: kept with the session;
        arg values are left out (a build arg may hold a token)."""
        return {"context": self.context or ".", "dockerfile": self.dockerfile, "target": self.target,
                "args": sorted(self.args)}


@dataclass(frozen=True)
class BuildResult:
    """``image``: the tag to run; ``digest``: the full content hash (hex); ``built``: False
    when an image with this content was already there (nothing rebuilt)."""

    image: str
    digest: str
    built: bool


def _open_under(top_fd: int, rel: str, *, directory: bool, what: str) -> int:
    """A descriptor of ``rel`` under ``top_fd``, reached one name at a time without following
    any symlink. Raises UsageError naming ``what`` when a part is missing, a link or the
    wrong kind."""
    fd = os.dup(top_fd)
    parts = [p for p in rel.split("/") if p]
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
            if not last or directory:
                flags |= os.O_DIRECTORY
            try:
                nxt = os.open(part, flags, dir_fd=fd)
            except FileNotFoundError:
                raise UsageError(f"{what} {rel!r} does not exist in the workspace") from None
            except OSError as exc:  # ELOOP: a symlink; ENOTDIR: a file where a folder was wanted
                raise UsageError(f"{what} {rel!r} must be a {'folder' if directory else 'file'} inside the "
                                 f"workspace, reached without symlinks ({exc.strerror})") from None
            os.close(fd)
            fd = nxt
        if not directory and not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UsageError(f"{what} {rel!r} is not a regular file")
        return fd
    except BaseException:
        os.close(fd)
        raise


def open_under(workspace: str, rel: str, *, directory: bool, what: str) -> int:
    """A descriptor of ``rel`` (workspace-relative, '' for the workspace) under the folder
    ``workspace``, reached without following any symlink; the caller closes it. Raises
    UsageError naming ``what`` when it is missing, a link, or the wrong kind."""
    top = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return _open_under(top, rel, directory=directory, what=what)
    finally:
        os.close(top)


def _read_fd(fd: int, limit: int = 1 << 20) -> bytes:
    with os.fdopen(os.dup(fd), "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"file is larger than {limit} bytes")
    return data


class _Hashing(io.RawIOBase):
    """A read-only file that feeds what is read through ``digest``."""

    def __init__(self, f: IO[bytes], digest: Any) -> None:
        self.f, self.digest = f, digest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.digest.update(data)
        return data


def _entries(ctx_fd: int, matches: Callable[[str], bool], keep: set[str],
             negated_prefixes: list[str]) -> Iterator[tuple[str, list[str], list[str], int]]:
    """``os.fwalk`` of the context, folders left out when ``.dockerignore`` excludes them
    and no ``!pattern`` reaches inside (docker-py's PatternMatcher.walk rule)."""
    for dirpath, dirnames, filenames, dirfd in os.fwalk(".", dir_fd=ctx_fd, follow_symlinks=False):
        rel_dir = "" if dirpath == "." else dirpath[2:]
        dirnames.sort()
        kept = []
        for d in dirnames:
            path = f"{rel_dir}/{d}" if rel_dir else d
            if (matches(path) and not any(k.startswith(path + "/") for k in keep)
                    and not any(p.startswith(path) for p in negated_prefixes)):
                continue
            kept.append(d)
        dirnames[:] = kept
        yield rel_dir, dirnames, sorted(filenames), dirfd


def make_context(spec: BuildSpec, fileobj: IO[bytes]) -> tuple[str, str]:
    """Write the build context of ``spec`` as a tar to ``fileobj``; return ``(content hash
    hex, the Dockerfile's name inside the archive)``. Raises UsageError for a context or
    Dockerfile that is missing, outside the workspace or reached through a symlink."""
    from docker.utils.build import PatternMatcher

    ws_fd = os.open(spec.workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        df_fd = _open_under(ws_fd, spec.dockerfile, directory=False, what=f"{spec.source}: Dockerfile")
        try:
            dockerfile = _read_fd(df_fd)
        finally:
            os.close(df_fd)
        ctx_fd = _open_under(ws_fd, spec.context, directory=True, what=f"{spec.source}: build context")
    finally:
        os.close(ws_fd)
    try:
        ctx_prefix = f"{spec.context}/" if spec.context else ""
        if spec.dockerfile.startswith(ctx_prefix):
            df_name = spec.dockerfile[len(ctx_prefix):]
            extra = False
        else:
            df_name, extra = OUTSIDE_DOCKERFILE, True
        try:
            ignore_fd = os.open(".dockerignore", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=ctx_fd)
        except OSError:
            patterns: list[str] = []
        else:
            try:
                lines = _read_fd(ignore_fd).decode("utf-8", errors="replace").splitlines()
            finally:
                os.close(ignore_fd)
            patterns = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
        matcher = PatternMatcher(patterns)
        keep = {df_name, ".dockerignore"}
        negated = [p.cleaned_pattern for p in matcher.patterns if p.exclusion]
        digest = hashlib.sha256()
        digest.update(b"vmuser-build-1\0" + df_name.encode() + b"\0" + dockerfile + b"\0")
        for key in sorted(spec.args):
            digest.update(f"arg {key}={spec.args[key]}\0".encode())
        digest.update(f"target {spec.target}\0".encode())
        with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for rel_dir, dirnames, filenames, dirfd in _entries(ctx_fd, matcher.matches, keep, negated):
                for name in dirnames + filenames:
                    path = f"{rel_dir}/{name}" if rel_dir else name
                    if name in filenames and matcher.matches(path) and path not in keep:
                        continue
                    if extra and path == df_name:
                        continue  # our copy of the Dockerfile goes under this name
                    _add(tar, digest, dirfd, name, path)
            if extra:
                info = tarfile.TarInfo(df_name)
                info.size, info.mode = len(dockerfile), 0o644
                tar.addfile(info, io.BytesIO(dockerfile))
                # keep the copy out of COPY . (the engine still reads it as the Dockerfile)
                ignore = ("\n".join([*patterns, df_name]) + "\n").encode()
                info = tarfile.TarInfo(".dockerignore")
                info.size, info.mode = len(ignore), 0o644
                tar.addfile(info, io.BytesIO(ignore))
        fileobj.seek(0)
        return digest.hexdigest(), df_name
    finally:
        os.close(ctx_fd)


def _add(tar: tarfile.TarFile, digest: Any, dirfd: int, name: str, path: str) -> None:
    """Add one entry (found by name under ``dirfd``) to ``tar`` and to the hash."""
    try:
        st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except FileNotFoundError:
        return  # gone since the folder was listed
    info = tarfile.TarInfo(path)
    info.mode, info.mtime = stat.S_IMODE(st.st_mode), int(st.st_mtime)
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        digest.update(f"d {path} {info.mode:o}\0".encode())
        tar.addfile(info)
    elif stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=dirfd)
        digest.update(f"l {path} {info.linkname}\0".encode())
        tar.addfile(info)
    elif stat.S_ISREG(st.st_mode):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dirfd)
        except OSError as exc:
            raise UsageError(f"cannot read {path!r} of the build context: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as f:
            fst = os.fstat(f.fileno())
            if not stat.S_ISREG(fst.st_mode):
                return
            info.size = fst.st_size
            digest.update(f"f {path} {info.mode:o} {info.size}\0".encode())
            try:
                tar.addfile(info, _Hashing(f, digest))
            except OSError as exc:  # the file shrank while it was read
                raise UsageError(f"{path!r} of the build context changed while it was read ({exc}); "
                                 "start again") from None
    # sockets, devices, fifos: not part of a build context


def image_tag(project_id: str, digest: str) -> str:
    """``vmuser-build-<project id>:<first TAG_HEX hex digits>``."""
    return f"vmuser-build-{project_id}:{digest[:TAG_HEX]}"


def build(runtime: DockerRuntime, spec: BuildSpec, output: Output | None = None) -> BuildResult:
    """Build ``spec`` on ``runtime``'s engine unless an image with its content hash exists.

    ``output(line)`` gets each line of build output (without the newline) as it arrives, and
    one line saying an earlier build is reused. Raises UsageError (context/Dockerfile
    refused), StateError (the build failed: one line naming the step), RuntimeUnavailableError
    (engine down)."""
    import docker.errors

    say = output or (lambda _line: None)
    with tempfile.TemporaryFile() as tmp:
        digest, df_name = make_context(spec, tmp)
        tag = image_tag(spec.project_id, digest)
        api = runtime._docker().api
        with runtime._errors(f"look up image {tag}"):
            try:
                api.inspect_image(tag)
                say(f"using image {tag} built earlier (the build context is unchanged)")
                return BuildResult(tag, digest, built=False)
            except docker.errors.ImageNotFound:
                pass
        say(f"building {tag} from {spec.dockerfile} ({spec.source})")
        step = ""
        refused = f"{spec.source}: the engine refused to build {spec.dockerfile}"
        with runtime._errors(f"build {spec.dockerfile}", rejected=lambda why: f"{refused}: {why}"):
            stream = api.build(
                fileobj=tmp, custom_context=True, tag=tag, dockerfile=df_name,
                labels={LABEL_PROJECT: spec.project_id, LABEL_BUILD: digest},
                buildargs=dict(spec.args) or None, target=spec.target or None,
                rm=True, forcerm=True, pull=False, decode=True, timeout=BUILD_SILENCE,
            )
            for chunk in stream:
                if "error" in chunk:
                    why = one_line(chunk.get("error") or "unknown error", 200)
                    where = f" at {one_line(step, 100)}" if step else ""
                    raise StateError(f"building {spec.dockerfile} ({spec.source}) failed{where}: {why}; "
                                     "fix the Dockerfile, or start without it: --no-devcontainer")
                text = chunk.get("stream") or chunk.get("status") or ""
                for line in text.splitlines():
                    line = line.rstrip()
                    if not line:
                        continue
                    if line.startswith("Step "):
                        step = line
                    say(line)
        return BuildResult(tag, digest, built=True)


def build_with(runtime: object, spec: BuildSpec, output: Output | None = None) -> BuildResult:
    """:func:`build` on ``runtime`` when it is a Docker runtime; StateError otherwise (the
    ``none`` runtime has no engine to build with)."""
    from vmuser_tui.core.runtime.docker_runtime import DockerRuntime

    if not isinstance(runtime, DockerRuntime):
        raise StateError(f"runtime {getattr(runtime, 'name', '?')!r} cannot build images: "
                         f"use the docker runtime, or start without the build: --no-devcontainer")
    return build(runtime, spec, output)
