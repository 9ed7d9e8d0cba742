"""The same call on a local project (Vmuser.fs, core/vfs.py) and on an engine workspace
(EngineFiles) gives the same answer: the same entries, and for a bad call the same error
class and message."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helper_stub import helper_stub
from wsutil import mkdir, symlink, write

from vmuser_tui.core.errors import VmuserError
from vmuser_tui.core.store.engine_files import EngineFiles

pytestmark = pytest.mark.docker

# The same tree on both sides: a file, a non-empty folder, an empty one, a link to a file,
# a link to a folder.
SETUP = ("cd /workspace && echo hello > file && mkdir -p dir/sub empty && echo x > dir/sub/f && "
         "ln -s file flink && ln -s dir dlink && chmod 644 file dir/sub/f && chmod 755 dir dir/sub empty")


@pytest.fixture
def both(make_vm, docker_available):
    vm = make_vm(config_text='[limits]\nmax_file_size = "1k"\nmax_entries_per_dir = 8\n')
    p = vm.projects.create("parity")
    ws = Path(p.workspace)
    write(ws, "file", "hello\n")
    write(ws, "dir/sub/f", "x\n")
    mkdir(ws, "empty")
    symlink(ws, "flink", "file")
    symlink(ws, "dlink", "dir")
    with helper_stub("parity") as h:
        h.sh(SETUP)
        yield vm, p.id, EngineFiles.from_config(h, vm.config)


def outcome(call):
    try:
        result = call()
    except VmuserError as exc:
        return type(exc).__name__, str(exc)
    return "ok", result


BAD_CALLS = [
    ("ls", ("nope",), {}),
    ("ls", ("file",), {}),
    ("ls", ("flink",), {}),
    ("ls", ("dlink/sub",), {}),
    ("ls", ("file/x",), {}),
    ("ls", ("nope/x",), {}),
    ("stat", ("nope",), {}),
    ("stat", ("dlink/sub",), {}),
    ("read", ("nope",), {}),
    ("read", ("dir",), {}),
    ("read", ("flink",), {}),
    ("read", ("dlink/sub/f",), {}),
    ("write", ("dir", b"x"), {}),
    ("write", ("dlink/new", b"x"), {}),
    ("write", ("file/new", b"x"), {}),
    ("write", ("big", b"x" * 1025), {}),
    ("write", ("nope/new", b"x"), {"parents": False}),
    ("write", ("../x", b"x"), {}),
    ("write", (".vmuser/x", b"x"), {}),
    ("mkdir", ("file",), {}),
    ("mkdir", ("flink",), {}),
    ("mkdir", ("dlink/x",), {}),
    ("mkdir", ("nope/x",), {"parents": False}),
    ("mkdir", ("file/x",), {}),
    ("mv", ("nope", "x"), {}),
    ("mv", ("file", "dir"), {}),
    ("mv", ("file", "flink"), {}),
    ("mv", ("dir", "dir/sub/in"), {}),
    ("mv", ("dir", "dir"), {}),
    ("mv", ("dlink/sub", "x"), {}),
    ("mv", ("file", "dlink/x"), {}),
    ("mv", ("file", "nope/x"), {}),
    ("rm", ("nope",), {}),
    ("rm", ("dir",), {}),
    ("rm", ("dlink/sub",), {}),
    ("rm", ("",), {}),
]


@pytest.mark.parametrize(("op", "args", "kw"), BAD_CALLS, ids=[f"{o}-{'-'.join(map(str, a))[:30]}-{k}"
                                                               for o, a, k in BAD_CALLS])
def test_the_same_bad_call_gives_the_same_error(both, op, args, kw):
    vm, pid, files = both
    local = outcome(lambda: getattr(vm.fs, op)(pid, *args, **kw))
    engine = outcome(lambda: getattr(files, op)(*args, **kw))
    assert local[0] != "ok", local
    assert engine == local


def test_the_entry_limit_gives_the_same_error(both):
    vm, pid, files = both
    for i in range(8):
        vm.fs.write(pid, f"full/{i}", b"x")
        files.write(f"full/{i}", b"x")
    for op, args in (("write", ("full/new", b"x")), ("mkdir", ("full/new",)), ("mv", ("file", "full/new"))):
        local = outcome(lambda op=op, args=args: getattr(vm.fs, op)(pid, *args))
        engine = outcome(lambda op=op, args=args: getattr(files, op)(*args))
        assert local[0] == "LimitError" and engine == local


def test_the_same_listing_and_stats(both):
    vm, pid, files = both

    def shape(infos):
        return [(f.path, f.name, f.kind, f.size, f.mode, f.hash, f.target) for f in infos]

    for rel in ("", "dir", "dir/sub", "empty"):
        assert shape(files.ls(rel)) == shape(vm.fs.ls(pid, rel))
    for rel in ("file", "dir", "flink", "dlink", "dir/sub/f"):
        assert shape([files.stat(rel)]) == shape([vm.fs.stat(pid, rel)])
    assert files.read("file", limit=3) == vm.fs.read(pid, "file", limit=3) == b"hel"
    made = [files.write("new/deep/f", b"data", 0o600), vm.fs.write(pid, "new/deep/f", b"data", mode=0o600)]
    assert shape(made[:1]) == shape(made[1:])
    moved = [files.mv("new", "renamed"), vm.fs.mv(pid, "new", "renamed")]
    assert shape(moved[:1]) == shape(moved[1:])
    assert shape([files.mkdir("m/n")]) == shape([vm.fs.mkdir(pid, "m/n")])
    files.rm("renamed", recursive=True)
    vm.fs.rm(pid, "renamed", recursive=True)
    assert shape(files.ls()) == shape(vm.fs.ls(pid))
