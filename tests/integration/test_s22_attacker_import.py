"""Session 22: ``project create --import DIR`` judges DIR, then copies it. A folder of DIR
swapped for a link to a host folder in between (DIR may be a folder a running container
writes) must not copy the host's files into the new workspace, where the new project's
sessions read them."""

from __future__ import annotations

import os
import shutil

import pytest

from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.import_dir import copy_import, plan_import

SECRET = b"host secret key\n"


def test_an_import_whose_folder_is_swapped_for_a_link_after_it_was_judged_copies_no_host_file(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "id_key").write_text("the source's own\n")
    host = tmp_path / "host"
    host.mkdir()
    (host / "id_key").write_bytes(SECRET)
    plan = plan_import(src, max_file_size=1 << 20, max_entries_per_dir=100, max_total=1 << 30)
    shutil.rmtree(src / "sub")  # the swap, between the judging and the copy
    os.symlink(host, src / "sub")
    dest = tmp_path / "dest"

    with pytest.raises(UsageError):
        copy_import(src, dest, plan, max_file_size=1 << 20)

    assert not dest.exists()
