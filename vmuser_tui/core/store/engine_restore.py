"""Restore a checkpoint onto an engine workspace (a volume), and fill an empty one.

:func:`apply_engine` carries out a :class:`~vmuser_tui.core.store.restore.RestorePlan`
(made by the caller from the live listing and the target tree, as locally) in two engine
calls, whatever the number of files:

1. ``put_archive`` of one tar (streamed from the store, :mod:`~vmuser_tui.core.store.tar_stream`)
   into ``/workspace/.vmuser-tmp-<12 hex>/``: the new and changed files as ``<n>`` (mode,
   and owner ``ws.owner``, from the tar headers), the new symlinks, and ``run.sh``; the
   folder is root's and 0700, so a session (never root) cannot touch what waits there.
2. One exec of ``run.sh`` that, in the order of :func:`vmuser_tui.core.store.restore.apply`,
   deletes (deepest first; a folder only when that leaves it empty, else ``kept``), makes
   folders, moves every file and link into place (``mv -T``: a rename, atomic for a file,
   never into a folder or through a link at the end), sets modes, removes created links
   that resolve outside /workspace through other links (``readlink -f``, repeated until
   nothing changes), sets folder modes last (deepest first), removes the temp folder.

Safety, as the local restore's descriptor walk promises it: before each change every folder
above the path is checked with ``[ -L ]``/``[ -d ]`` from /workspace down; a path with a
symlink (or a file) among its folders is not touched and is listed in ``failed``. The
checks run in the helper, which sees only the volume and its own busybox rootfs: a link
swapped in between a check and a ``mv`` can at worst lead into that rootfs, never to this
host. Paths the caller spares (ignored ones) are dropped from the plan again here.

Idempotent in the journal's sense: a crash leaves at most a ``.vmuser-tmp-*`` folder
(removed by the next call, :func:`sweep_engine`) and a partly applied plan; a plan made again
from the live listing lists what still differs, so running again finishes the job.

Raises StoreError (invalid plan, missing or damaged blob: nothing changed; a ``mv`` that
failed for another reason than a race: the caller rolls back) and VmuserError (engine away).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Iterator

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.pathcheck import symlink_stays_inside
from vmuser_tui.core.runtime.engine_workspace import message
from vmuser_tui.core.store import restore as rs
from vmuser_tui.core.store import tar_stream as ts
from vmuser_tui.core.store.objects import ObjectStore
from vmuser_tui.core.store.scan import TMP_PREFIX
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry

Progress = Callable[[int, int, int, int], None]

# Shell functions of run.sh. Paths are given as ./<path> (a name may start with '-').
# par P: 0 when every folder above P is a real folder, 1 when one is a link, 2 missing/not a folder.
# mkp P: as par, making missing folders (0755, owned by $OWN) on the way.
FUNCTIONS = r"""
par() { r=${1#./}; c=.; while :; do case $r in */*) c=$c/${r%%/*}; r=${r#*/};; *) return 0;; esac
  [ -L "$c" ] && return 1; [ -d "$c" ] || return 2; done; }
mkp() { r=${1#./}; c=.; while :; do case $r in */*) c=$c/${r%%/*}; r=${r#*/};; *) return 0;; esac
  [ -L "$c" ] && return 1
  if [ ! -e "$c" ]; then mkdir -m 755 -- "$c" 2>/dev/null && chown -- "$OWN" "$c" || return 2; fi
  [ -d "$c" ] || return 2; done; }
why() { if [ "$1" = 1 ]; then echo "a folder on its path is a symlink; nothing was written through it"
  else echo "a folder on its path is missing or not a folder"; fi; }
room() { if [ -L "$1" ] || { [ -e "$1" ] && [ ! -d "$1" ]; }; then rm -f -- "$1"
  elif [ -d "$1" ]; then rmdir -- "$1" 2>/dev/null || return 1; fi; return 0; }
del() { par "$2"; e=$?; [ $e = 2 ] && return 0; [ $e = 1 ] && { echo "F $1 $(why 1)"; return 0; }
  if [ -L "$2" ] || { [ -e "$2" ] && [ ! -d "$2" ]; }; then rm -f -- "$2" && echo "D $1"
  elif [ -d "$2" ]; then if rmdir -- "$2" 2>/dev/null; then echo "D $1"; else echo "K $1"; fi; fi; }
mkd() { mkp "$2"; e=$?; [ $e = 0 ] || { echo "F $1 $(why $e)"; return 0; }
  if [ -d "$2" ] && [ ! -L "$2" ]; then echo "M $1"; return 0; fi
  rm -f -- "$2"; if mkdir -m 700 -- "$2" && chown -- "$OWN" "$2"; then echo "M $1"
  else echo "E $1 cannot make the folder"; fi; }
put() { mkp "$2"; e=$?; [ $e = 0 ] || { echo "F $1 $(why $e)"; return 0; }
  room "$2" || { echo "F $1 it is a folder holding files the checkpoint does not have;" \
    "move them away and restore again"; return 0; }
  if mv -f -T -- "$3" "$2"; then echo "$4 $1"; eval "c_$1=1"; else echo "E $1 cannot move it into place"; fi; }
chm() { par "$2"; e=$?; [ $e = 0 ] || { echo "F $1 $(why $e)"; return 0; }
  if [ -L "$2" ]; then echo "F $1 a link took its place during the restore; left alone"; return 0; fi
  [ -e "$2" ] || { echo "F $1 it vanished during the restore"; return 0; }
  chmod "$3" "$2" && echo "$4 $1"; }
esc() { eval "[ \"\${c_$1:-}\" = 1 ]" || return 0; [ -L "$2" ] || return 0
  r=$(readlink -f -- "$2"); case $r in /workspace|/workspace/*) return 0;; esac
  eval "c_$1=0"; ch=1; par "$2" || { echo "F $1 its folder changed during the restore"; return 0; }
  rm -f -- "$2"
  if [ -f "$T/a$1" ]; then mv -f -T -- "$T/a$1" "$2" && echo "A $1"; else echo "X $1"; fi; }
"""


def _q(rel: str) -> str:
    """``./rel`` quoted for sh (single quotes; a quote inside as ``'\\''``)."""
    return "'./" + rel.replace("'", "'\\''") + "'"


def sweep_script(keep: str = "") -> str:
    """sh lines removing ``/workspace/.vmuser-tmp-<12 hex>`` folders (not ``keep``)."""
    return (f'for d in ./{TMP_PREFIX}*; do n=${{d#./{TMP_PREFIX}}}; case $n in *[!0-9a-f]*) continue;; esac; '
            f'[ ${{#n}} = 12 ] && [ "$d" != "./{keep}" ] && rm -rf -- "$d"; done\n')


def sweep_engine(ws) -> None:
    """Remove the temp folders an interrupted engine restore left in ``ws``."""
    res = ws.exec(["sh", "-c", "cd /workspace || exit 3\n" + sweep_script()])
    if res.exit_code != 0:
        raise StoreError(f"cannot clean the workspace volume {ws.volume}: {message(res.stderr)}")


def _spared(rel: str, spared: Collection[str]) -> bool:
    if rel in spared:
        return True
    parent = rel.rpartition("/")[0]
    while parent:
        if parent in spared:
            return True
        parent = parent.rpartition("/")[0]
    return False


def apply_engine(store: ObjectStore, ws, plan: rs.RestorePlan, *, progress: Progress | None = None,
                 spared: Collection[str] = (), outside_symlinks: str = rs.REFUSE,
                 checked: bool = False) -> rs.RestoreResult:
    """Carry out ``plan`` on the engine workspace ``ws`` (see the module docstring);
    ``spared``: paths (and what is below them) never touched. ``checked``: the caller ran
    :func:`~vmuser_tui.core.store.restore.check` on it (else paths and blobs are checked
    here first: a refused restore changes nothing). Returns what it did, as
    :func:`vmuser_tui.core.store.restore.apply` counts it."""
    if spared:
        spared = set(spared)
        plan.delete = [p for p in plan.delete if not _spared(p, spared)]
        for name in ("mkdir", "write", "chmod", "symlink"):
            setattr(plan, name, [(p, e) for p, e in getattr(plan, name) if not _spared(p, spared)])
    if not checked:
        rs.validate(plan)
        rs.check_blobs(store, plan)
    result = rs.RestoreResult()
    owner = ts.owner_ids(ws.owner)
    tmp = f"{TMP_PREFIX}{secrets.token_hex(6)}"
    ops: list[tuple[str, str, Entry | None]] = []  # (op, path, entry); the index is the op's name in run.sh
    lines = [f"T=./{tmp}\nOWN={ws.owner}\ncd /workspace || exit 3\n", sweep_script(tmp), FUNCTIONS]
    files: list[tuple[int, Entry, bytes | None]] = []  # (index, entry, literal content or None: the blob)

    def op(kind: str, rel: str, e: Entry | None) -> int:
        ops.append((kind, rel, e))
        return len(ops) - 1

    for rel in plan.delete:
        lines.append(f"del {op('del', rel, None)} {_q(rel)}\n")
    for rel, e in plan.mkdir:
        lines.append(f"mkd {op('mkdir', rel, e)} {_q(rel)}\n")
    for rel, e in plan.write:
        i = op("write", rel, e)
        files.append((i, e, None))
        lines.append(f'put {i} {_q(rel)} "$T/{i}" W\n')
    for rel, e in plan.chmod:
        if e.kind != DIR:
            lines.append(f"chm {op('chmod', rel, e)} {_q(rel)} {e.mode & 0o777:o} C\n")
    links: list[tuple[int, bytes]] = []
    escapes: list[str] = []
    for rel, e in plan.symlink:
        if not 0 < e.size <= rs.MAX_LINK_TARGET:
            result.refused.append((rel, f"symlink target of {e.size:,} bytes is not a valid link target"))
            continue
        target = store.read_blob(e.hash)
        if not symlink_stays_inside(rel, target.decode("utf-8", "surrogateescape")):
            if outside_symlinks == rs.STORE:
                i = op("asfile", rel, e)
                files.append((i, Entry(e.name, FILE, 0o644, e.size, e.hash), target))
                lines.append(f'put {i} {_q(rel)} "$T/{i}" A\n')
            else:
                shown = target.decode("utf-8", "replace")
                result.refused.append((rel, f"symlink target {shown!r} points outside the workspace"))
            continue
        i = op("symlink", rel, e)
        links.append((i, target))
        if outside_symlinks == rs.STORE:
            files.append((-i - 1, Entry(e.name, FILE, 0o644, e.size, e.hash), target))  # a<i>: its as-file
        lines.append(f'put {i} {_q(rel)} "$T/{i}" L\n')
        escapes.append(f"esc {i} {_q(ops[i][1])}; ")
    if escapes:
        lines.append("escall() { ch=0; " + "".join(escapes) + "}\n")
        lines.append("n=0; while [ $n -lt 64 ]; do escall; [ $ch = 1 ] || break; n=$((n+1)); done\n")
    dirs = [(rel, e, "c") for rel, e in plan.mkdir] + [(rel, e, "C") for rel, e in plan.chmod if e.kind == DIR]
    for rel, e, word in sorted(dirs, key=lambda x: -x[0].count("/")):
        i = op("dirmode", rel, e)
        lines.append(f"chm {i} {_q(rel)} {e.mode & 0o777:o} {word}\n")
    lines.append('rm -rf -- "$T"\necho DONE\n')
    script = "".join(lines).encode("utf-8", "surrogateescape")

    total_files = len(plan.write)
    total_bytes = sum(e.size for _, e in plan.write)

    def archive() -> Iterator[bytes]:
        yield ts.folder(tmp, 0o700, (0, 0))
        done = done_bytes = 0
        for i, e, literal in files:
            name = f"{tmp}/a{-i - 1}" if i < 0 else f"{tmp}/{i}"
            pieces = [literal] if literal is not None else store.iter_blob(e.hash)
            yield from ts.regular(name, e.mode, owner, e.size, pieces)
            if literal is None:
                done += 1
                done_bytes += e.size
                if progress:
                    progress(done, total_files, done_bytes, total_bytes)
        for i, target in links:
            yield ts.symlink(f"{tmp}/{i}", target, owner)
        yield from ts.regular(f"{tmp}/run.sh", 0o700, (0, 0), len(script), [script])
        yield ts.end()

    if not ops:
        return result
    ws.put_archive("/workspace", archive())
    res = ws.exec(["sh", f"/workspace/{tmp}/run.sh"])
    if res.exit_code == 3:
        raise StoreError(f"cannot restore into the workspace volume {ws.volume}: /workspace is missing in its helper")
    errors = _count(res.stdout, ops, result)
    if errors:
        rel, why = errors[0]
        raise StoreError(f"restore failed at {rel} in volume {ws.volume}: {why} ({message(res.stderr)})")
    if b"DONE" not in res.stdout.splitlines():
        raise StoreError(f"the restore script in volume {ws.volume} stopped early (exit {res.exit_code}): "
                         f"{message(res.stderr)}; restore again to finish it")
    return result


def _count(stdout: bytes, ops: list[tuple[str, str, Entry | None]], result: rs.RestoreResult) -> list[tuple[str, str]]:
    """Fill ``result`` from run.sh's report lines; returns the hard errors ``(path, why)``."""
    errors = []
    for line in stdout.decode("utf-8", "replace").splitlines():
        word, _, rest = line.partition(" ")
        idx, _, why = rest.partition(" ")
        if not idx.isdigit() or int(idx) >= len(ops):
            continue
        kind, rel, e = ops[int(idx)]
        if word == "W":
            result.written += 1
            result.bytes_written += e.size if e is not None else 0
        elif word == "D":
            result.deleted += 1
        elif word == "M":
            result.dirs += 1
        elif word == "C":
            result.chmods += 1
        elif word == "L":
            result.symlinks += 1
        elif word == "A":
            if kind == "symlink":  # created, then found to resolve outside: a file took its place
                result.symlinks -= 1
            result.as_files.append(rel)
            result.bytes_written += e.size if e is not None else 0
        elif word == "X":
            result.symlinks -= 1
            result.refused.append((rel, "symlink resolves outside the workspace through other links"))
        elif word == "K":
            result.kept.append(rel)
        elif word == "F":
            result.failed.append((rel, why))
        elif word == "E":
            errors.append((rel, why))
    return errors


def materialize_engine(store: ObjectStore, ws, root_tree: str) -> int:
    """Fill the empty workspace volume of ``ws`` from tree ``root_tree`` with one
    ``put_archive`` (streamed: parents before children, owner ``ws.owner``); returns the
    files written. Symlinks pointing outside the workspace are left out (as a restore
    refuses them), and links that resolve outside through other links are removed after."""
    owner = ts.owner_ids(ws.owner)
    links: list[str] = []
    count = 0

    def archive() -> Iterator[bytes]:
        nonlocal count
        for rel, e in store.walk(root_tree):
            if e.kind == DIR:
                yield ts.folder(rel, e.mode | 0o700, owner)  # owner-writable while filled; modes below
            elif e.kind == FILE:
                yield from ts.regular(rel, e.mode, owner, e.size, store.iter_blob(e.hash))
                count += 1
            elif e.kind == SYMLINK and 0 < e.size <= rs.MAX_LINK_TARGET:
                target = store.read_blob(e.hash)
                if symlink_stays_inside(rel, target.decode("utf-8", "surrogateescape")):
                    yield ts.symlink(rel, target, owner)
                    links.append(rel)
        yield ts.end()

    ws.put_archive("/workspace", archive())
    fix = ["cd /workspace || exit 3\nT=/nonexistent\n", FUNCTIONS]
    for rel, e in store.walk(root_tree):
        if e.kind == DIR and e.mode | 0o700 != e.mode:
            fix.append(f"chmod {e.mode & 0o777:o} {_q(rel)}\n")
    if links:
        fix.append("escall() { ch=0; " + "".join(f"c_{i}=1; esc {i} {_q(rel)}; " for i, rel in enumerate(links))
                   + "}\nn=0; while [ $n -lt 64 ]; do escall; [ $ch = 1 ] || break; n=$((n+1)); done\n")
    if len(fix) > 2:
        res = ws.exec(["sh", "-s"], stdin="".join(fix).encode("utf-8", "surrogateescape"))
        if res.exit_code != 0:
            raise StoreError(f"cannot finish filling the workspace volume {ws.volume}: {message(res.stderr)}")
    return count
