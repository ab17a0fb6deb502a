"""The bounded search of error_message_pattern: Python's `re` answers, in a child process, in time."""

import re
import time

import pytest

from lambda_failure_toolkit.redrive.pattern import PatternSearch, PatternTimeoutError


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("503$", "inventory returned 503"),
        ("503$", "503 then more"),
        ("(?i)TIMED out", "Task timed out"),
        ("é+", "café"),
    ],
)
def test_it_answers_as_re_does(pattern: str, text: str) -> None:
    with PatternSearch(pattern, timeout_s=5) as search:
        assert search.search(text) is bool(re.search(pattern, text))


def test_a_search_that_backtracks_is_stopped_in_time_and_so_is_every_later_one() -> None:
    started = time.monotonic()
    with PatternSearch("(a+)+$", timeout_s=0.3) as search:
        assert search.search("aaa") is True
        with pytest.raises(PatternTimeoutError, match=r"'\(a\+\)\+\$' took more than 0.3 s"):
            search.search("a" * 40 + "!")  # about a day of backtracking
        with pytest.raises(PatternTimeoutError):
            search.search("aaa")
    assert time.monotonic() - started < 3
