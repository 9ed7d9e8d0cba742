"""A small file is read whole even when it grew or shrank after the scan saw its size."""

import os

from vmuser_tui.core.store.capture import GONE, _read_file
from vmuser_tui.core.store.scan import StatInfo


def test_read_whole_file_whatever_the_size_the_scan_saw(tmp_path):
    f = tmp_path / "f"
    data = bytes(range(256)) * 20_000  # 5 MB: more than one 1 MiB read after the hint
    f.write_bytes(data)
    now = StatInfo.of(os.stat(f))
    assert _read_file(str(f), now) == (data, now)
    for hint in (0, 1, 100, len(data) - 1, len(data) + 1, 10 * len(data)):
        raw, info = _read_file(str(f), now._replace(size=hint))  # a stat from before a change
        assert (raw, info) == (data, now), hint
    f.write_bytes(b"")
    assert _read_file(str(f), now) == (b"", StatInfo.of(os.stat(f)))
    f.unlink()
    assert _read_file(str(f), now) == (b"", GONE)
