"""Issue 13: the build context vmuser sends to the engine (no engine needed): what is in it,
what a symlink can reach, and when the content hash (the image tag) changes."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.runtime.build import BuildSpec, make_context


def _context(ws: Path, context: str = "", dockerfile: str = "Dockerfile") -> tuple[str, dict[str, tarfile.TarInfo],
                                                                                  tarfile.TarFile]:
    buf = io.BytesIO()
    digest, _name = make_context(BuildSpec(str(ws), context, dockerfile, "p-1", "test"), buf)
    tar = tarfile.open(fileobj=buf)
    return digest, {m.name: m for m in tar.getmembers()}, tar


def test_dockerignore_is_honoured_but_the_dockerfile_always_sent(tmp_path):
    (tmp_path / ".devcontainer").mkdir()
    (tmp_path / ".devcontainer" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("print()\n")
    (tmp_path / "build.log").write_text("noise\n")
    (tmp_path / ".dockerignore").write_text("# comment\n*.log\n.devcontainer\n")
    _, members, _ = _context(tmp_path, "", ".devcontainer/Dockerfile")
    assert sorted(members) == [".devcontainer", ".devcontainer/Dockerfile", ".dockerignore", "src", "src/app.py"]


def test_symlinks_travel_as_links_never_as_what_they_point_to(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    os.symlink("/etc/passwd", tmp_path / "passwd")
    _, members, tar = _context(tmp_path)
    assert members["passwd"].issym() and members["passwd"].linkname == "/etc/passwd"
    assert tar.extractfile("Dockerfile").read() == b"FROM scratch\n"  # type: ignore[union-attr]


@pytest.mark.parametrize("context, dockerfile, words", [
    ("linked", "Dockerfile", "reached without symlinks"),
    ("", "linked/Dockerfile", "reached without symlinks"),
    ("", "missing", "does not exist"),
])
def test_a_context_or_dockerfile_through_a_symlink_is_refused(tmp_path, context, dockerfile, words):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM scratch\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "Dockerfile").write_text("FROM scratch\n")
    os.symlink(outside, ws / "linked")
    with pytest.raises(UsageError, match=words):
        _context(ws, context, dockerfile)


def test_the_hash_follows_content_not_times(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    (tmp_path / "a.txt").write_text("one\n")
    first, _, _ = _context(tmp_path)
    os.utime(tmp_path / "a.txt", (1, 1))
    assert _context(tmp_path)[0] == first
    (tmp_path / "a.txt").write_text("two\n")
    second = _context(tmp_path)[0]
    assert second != first
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY . /app/\n")
    assert _context(tmp_path)[0] not in (first, second)


def test_a_dockerfile_outside_the_context_is_sent_under_its_own_name(tmp_path):
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.c").write_text("int main(){}\n")
    buf = io.BytesIO()
    _, name = make_context(BuildSpec(str(tmp_path), "app", "docker/Dockerfile", "p-1", "test"), buf)
    tar = tarfile.open(fileobj=buf)
    assert name == ".vmuser.Dockerfile"
    assert sorted(tar.getnames()) == [".dockerignore", ".vmuser.Dockerfile", "main.c"]
    assert tar.extractfile(".dockerignore").read() == b".vmuser.Dockerfile\n"  # type: ignore[union-attr]
