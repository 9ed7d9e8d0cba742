"""Ages and durations a user types stop at 100 years (issue 11, case 13): one clear
UsageError instead of an OverflowError from timedelta or datetime."""

from __future__ import annotations

import pytest

from vmuser_tui.core import bounds, clock
from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.retention import parse_duration


@pytest.mark.parametrize("text", ["100y", "1200m", "36500d", "876000h", "99y12m", "0d", "1m15d12h"])
def test_durations_up_to_100_years_are_read(text):
    assert str(parse_duration(text)) in (text, "")


@pytest.mark.parametrize("text", ["101y", "1201m", "36501d", "876025h", "1y36200d", "99999999999d", "9" * 5000 + "y"])
def test_longer_durations_are_refused_with_the_limit(text):
    with pytest.raises(UsageError) as err:
        parse_duration(text)
    assert "at most 100 years" in str(err.value) and len(str(err.value)) < 200


@pytest.mark.parametrize("text", ["36500d", "5214w", "876000h", "3153600000s", "0s"])
def test_ages_up_to_100_years_are_read(text):
    assert clock.parse_when(text) <= clock.now_iso()


@pytest.mark.parametrize("text", ["36501d", "5215w", "3153600001s", "99999999999d", "9" * 5000 + "h"])
def test_longer_ages_are_refused_with_the_limit(text):
    with pytest.raises(UsageError) as err:
        clock.parse_when(text)
    assert "at most 36500 days (100 years)" in str(err.value) and len(str(err.value)) < 200


@pytest.mark.parametrize(
    "value, lo, hi, ok",
    [(0, 0, 10, True), (10, 0, 10, True), (11, 0, 10, False), (-1, 0, 10, False), (10**30, 0, 10, False),
     (True, 0, 10, False), (1.0, 0, 10, False)],
)
def test_in_range(value, lo, hi, ok):
    if ok:
        assert bounds.in_range("--n", value, lo, hi) == value
    else:
        with pytest.raises(UsageError, match=f"^--n must be between {lo} and {hi}, got "):
            bounds.in_range("--n", value, lo, hi)


@pytest.mark.parametrize("n, text", [(4 * 1024**4, "4t"), (4 * 1024**2, "4m"), (1536, "1536"), (0, "0"), (2048, "2k")])
def test_show_size(n, text):
    assert bounds.show_size(n) == text
