"""A small file is read whole even when it grew or shrank after the scan saw its size."""

from vmuser_tui.core.store.capture import _read_piece


def test_read_whole_file_whatever_the_size_hint(tmp_path):
    f = tmp_path / "f"
    data = bytes(range(256)) * 20_000  # 5 MB: more than one 1 MiB read after the hint
    f.write_bytes(data)
    for hint in (0, 1, 100, len(data) - 1, len(data), len(data) + 1, 10 * len(data)):
        assert _read_piece(str(f), 0, -1, hint) == data, hint
    f.write_bytes(b"")
    assert _read_piece(str(f), 0, -1, 10) == b""
