"""The pieces of the streaming exec that need no engine: Docker's frame format read
incrementally, the -e/-w rules, the cancel/resize control, and output lines made safe for
the TUI's log."""

from __future__ import annotations

import os
import struct

import pytest

from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.exec_options import check_workdir, parse_env
from vmuser_tui.core.runtime.exec_control import ExecControl
from vmuser_tui.core.runtime.exec_stream import FrameParser


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_frames_split_anywhere_give_the_same_streams():
    raw = frame(1, b"first\n") + frame(2, b"oops\n") + frame(1, b"") + frame(1, b"second\n" * 50)
    want = [("stdout", b"first\n"), ("stderr", b"oops\n"), ("stdout", b"second\n" * 50)]
    for size in (1, 2, 3, 7, 8, 9, 13, len(raw)):
        parser = FrameParser()
        got: list[tuple[str, bytes]] = []
        for i in range(0, len(raw), size):
            for stream, piece in parser.feed(raw[i:i + size]):
                if got and got[-1][0] == stream:
                    got[-1] = (stream, got[-1][1] + piece)
                else:
                    got.append((stream, piece))
        assert got == want, size
        assert not parser.partial


def test_a_payload_is_handed_on_before_its_frame_is_complete():
    parser = FrameParser()
    whole = frame(1, b"a long line printed slowly\n")
    assert parser.feed(whole[:12]) == [("stdout", b"a lo")]  # at once, not at the frame's end
    assert parser.partial
    assert parser.feed(whole[12:]) == [("stdout", b"ng line printed slowly\n")]


def test_env_pairs():
    assert parse_env(["A=1", "B=", "C=x=y", "A=2"]) == {"A": "2", "B": "", "C": "x=y"}
    with pytest.raises(UsageError, match="has no '='"):
        parse_env(["NOVALUE"])
    with pytest.raises(UsageError, match="not a variable name"):
        parse_env(["1X=a"])
    with pytest.raises(UsageError, match="not a variable name"):
        parse_env(["=a"])


def test_workdir_must_be_absolute():
    assert check_workdir(None) == "/workspace"
    assert check_workdir("/workspace/src/../lib") == "/workspace/lib"
    with pytest.raises(UsageError, match="relative.*-w /workspace/src"):
        check_workdir("src")


def test_control_requests_wake_the_pump_and_survive_close():
    control = ExecControl()
    control.interrupt()
    control.resize(30, 100)
    control.cancel()
    assert os.read(control.fileno(), 10)  # something woke it
    control.drain()
    assert (control.interrupts, control.size, control.cancelled) == (1, (30, 100), True)
    control.close()
    control.cancel()  # after the exec ended: ignored, no error
    assert control.fileno() == -1


def test_output_lines_keep_colours_and_drop_what_steers_a_terminal():
    from vmuser_tui.tui.widgets.ansi_lines import LineAssembler, ansi_line

    red = ansi_line("\x1b[31mred\x1b[0m plain")
    assert red.plain == "red plain" and red.spans and red.spans[0].end == 3
    assert ansi_line("\x1b]0;title\x07after").plain == "after"  # OSC title: dropped
    assert ansi_line("\x1b[2J\x1b[Hclear").plain == "clear"  # cursor moves: dropped
    assert ansi_line("10%\r55%\r100%").plain == "100%"  # a progress bar: its last state
    assert ansi_line("ok\r").plain == "ok"  # a TTY's CR LF
    assert ansi_line("bidi\u202eevil").plain == "bidi\\u202eevil"  # shown, not obeyed
    assert ansi_line("bell\x07").plain == "bell\\x07"
    lines = LineAssembler()
    data = "héllo\nwörld".encode()
    assert lines.feed(data[:2]) == [] and lines.feed(data[2:]) == ["héllo"]  # é split across chunks
    assert lines.partial == "wörld" and lines.finish() == ["wörld"]
