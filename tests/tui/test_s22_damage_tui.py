"""Session 22 (damage): a row of vmuser.db whose text is no longer UTF-8 (a bad disk, a
stray tool). The TUI says in one notification that the database is damaged and names
``vmuser check``, as the CLI does; before, it showed "unexpected OperationalError: Could not
decode to UTF-8 ..." as an internal error."""

from __future__ import annotations

from tests.tui.conftest import go, run_app


async def test_a_damaged_checkpoint_row_is_named_and_the_tool_too(world):
    with world.vm.db.write() as conn:  # SQLite stores the bytes as text without a look
        conn.execute("UPDATE checkpoints SET description = CAST(x'66ff6f' AS TEXT) WHERE id = ?",
                     (world.checkpoints[0],))
    async with run_app(world.vm, notifications=True) as pilot:
        await go(pilot, "project")
        said = [(n.title, n.text) for n in pilot.app.history]  # in full, as the messages view (m) shows
        assert any("the database is damaged" in text and "vmuser check" in text for _, text in said), said
        assert not any("unexpected" in text or title == "Internal error" for title, text in said), said
