"""``vmuser fs ...``: the virtual filesystem from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import emit_json, human_size, table
from vmuser_tui.core.errors import LimitError, UsageError

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import Namespace

    from vmuser_tui.core.service import Vmuser


def cmd_ls(args: Namespace, vm: Vmuser) -> int:
    entries = vm.fs.ls(args.project, args.path, at=args.at)
    if args.json:
        emit_json([e.to_json() for e in entries])
        return 0
    table(
        ["MODE", "SIZE", "MODIFIED", "NAME"],
        [[f"{'d' if e.kind == 'dir' else 'l' if e.kind == 'symlink' else '-'}{e.mode:03o}",
          "-" if e.kind == "dir" else human_size(e.size), (e.mtime or "")[:19].replace("T", " ") or "-",
          e.name + ("/" if e.kind == "dir" else f" -> {e.target}" if e.target else "")] for e in entries],
        empty="(empty directory)", fmt=args.format,
    )
    return 0


def cmd_cat(args: Namespace, vm: Vmuser) -> int:
    sys.stdout.buffer.write(vm.fs.read(args.project, args.path, at=args.at))
    sys.stdout.flush()
    return 0


def cmd_put(args: Namespace, vm: Vmuser) -> int:
    if args.source == "-":
        if sys.stdin.isatty():
            print("vmuser: reading the file from standard input; end it with Ctrl-D "
                  "(or give a FILE: vmuser fs put PROJECT PATH FILE)", file=sys.stderr)
        data = _read_stdin(args.path, vm.config.get("limits", "max_file_size"))
    else:
        src = Path(args.source)
        if not src.is_file():
            what = "is a directory; put one file at a time" if src.is_dir() else "no such file to put"
            if src.exists() and not src.is_dir():  # a device, pipe or socket: "no such file" would be wrong
                what = (f"is {_kind(src)}, not a file; to store a stream: vmuser fs put PROJECT PATH - "
                        f"< {args.source}")
            raise UsageError(f"{args.source}: {what}")
        limit = vm.config.get("limits", "max_file_size")
        if src.stat().st_size > limit:
            # checked before reading, so a huge file is refused without loading it (same words as core)
            raise LimitError(f"{args.source}: {src.stat().st_size:,} bytes is over [limits] max_file_size "
                             f"({limit:,} bytes)")
        data = src.read_bytes()
    info = vm.fs.write(args.project, args.path, data)
    print(f"{info.path}: {human_size(info.size)} written", file=sys.stderr)
    return 0


#: read past [limits] max_file_size before refusing, so a small excess is reported exactly (by core)
_STDIN_SLACK = 1024 * 1024


def _read_stdin(path: str, limit: int) -> bytes:
    """Standard input, at most ``limit`` + :data:`_STDIN_SLACK` bytes: an endless stream
    (``yes |``, ``< /dev/zero``) is refused there instead of read until memory runs out."""
    data = sys.stdin.buffer.read(limit + _STDIN_SLACK + 1)
    if len(data) > limit + _STDIN_SLACK:
        raise LimitError(f"{path}: more than {limit + _STDIN_SLACK:,} bytes is over [limits] max_file_size "
                         f"({limit:,} bytes)")
    return data


def _kind(src: Path) -> str:
    """'a character device', 'a named pipe', ... for a path that exists and is no file or folder."""
    import stat

    mode = src.stat().st_mode
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def cmd_mkdir(args: Namespace, vm: Vmuser) -> int:
    vm.fs.mkdir(args.project, args.path)
    return 0


def cmd_rm(args: Namespace, vm: Vmuser) -> int:
    vm.fs.rm(args.project, args.path, recursive=args.recursive)
    return 0


def cmd_mv(args: Namespace, vm: Vmuser) -> int:
    vm.fs.mv(args.project, args.src, args.dst)
    return 0
