"""`/decisions search` takes words, never query syntax: no input reaches SQLite as FTS5 syntax."""

from __future__ import annotations

import asyncio
import re

from hypothesis import given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.engine import errors
from bot.service import Roundtable
from tests.conftest import ManualClock
from tests.store.test_store import GUILD, sealed_quick

# What FTS5 would read as syntax, and what SQLite cannot take at all.
SYNTAX = [
    '"',
    "'",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "NEAR(",
    "*",
    ":",
    "^",
    "(",
    ")",
    "+",
    "-",
    "{",
    "}",
    "\x00",
    "question:",
    "guild_id:",
    "\ud800",
    "\udfff",
    "\\",
    "%",
    "_",
    "fridays",
    "weekend",
]
QUERY = (
    st.lists(st.sampled_from(SYNTAX) | st.text(max_size=8), max_size=8).map(lambda parts: "".join(parts)) | st.text()
)


def test_any_search_input_is_words_and_never_raises(settings: Settings, clock: ManualClock) -> None:
    loop = asyncio.new_event_loop()
    rt = loop.run_until_complete(Roundtable.open(settings, clock))
    try:
        loop.run_until_complete(sealed_quick(rt, clock, GUILD, "Fridays for the weekend?"))

        @settings_for_fuzz
        @given(QUERY)
        def search(query: str) -> None:
            try:
                found = loop.run_until_complete(rt.store.search_records(GUILD, query))
            except errors.EmptyText:
                # Refused (in words) only when nothing in it is a word.
                assert not re.search(r"[^\W_]", query)
                return
            assert [r.deliberation_id for r in found] in ([], [1])

        search()
        # The words of a syntax-laden query still find the record.
        assert loop.run_until_complete(rt.store.search_records(GUILD, '"fridays* weekend:'))
        assert loop.run_until_complete(rt.store.search_records(GUILD, "fridays\x00 (weekend\ud800"))
    finally:
        loop.run_until_complete(rt.close())
        loop.close()


settings_for_fuzz = fuzz_settings(max_examples=300, deadline=None)
