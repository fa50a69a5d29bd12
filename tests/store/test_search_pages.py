"""A record search finds every match in the guild, newest first, whether the words are common
(the guild's newest records hold the page) or rare and old (PostgreSQL then reads the full-text
index: bot/store/pg.py, `search_records`); both backends answer alike."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.service import Roundtable
from bot.store import pg
from tests.conftest import ManualClock
from tests.store.test_store import GUILD, sealed_quick

OTHER = GUILD + 1


@pytest.fixture
def small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL first checks the guild's newest 100 records; 3 here, so a dozen records cover
    # both steps (SQLite's search has one step and ignores it).
    monkeypatch.setattr(pg, "SEARCH_RECENT_WINDOW", 3)


async def test_rare_old_words_common_words_and_other_guilds(
    settings: Settings, clock: ManualClock, small_window: None
) -> None:
    rt = await Roundtable.open(settings, clock)
    try:
        ids = []
        for n in range(12):
            words = ["everywhere"]
            if n < 2:
                words.append("ancient")  # only in the two oldest records, far outside the window
            if n % 4 == 0:
                words.append("sometimes")  # in one record of four: fewer than a page in the window
            if n % 2 == 0:
                words.append("often")  # common enough for PostgreSQL's longer walk
            ids.append(await sealed_quick(rt, clock, GUILD, f"Question {n}: {' '.join(words)}?"))
        theirs = await sealed_quick(rt, clock, OTHER, "Their question: ancient everywhere?")

        async def found(guild: int, text: str, limit: int = 5) -> list[int]:
            return [r.deliberation_id for r in await rt.store.search_records(guild, text, limit=limit)]

        newest_first = sorted(ids, reverse=True)
        assert await found(GUILD, "ancient") == [ids[1], ids[0]]
        assert await found(GUILD, "everywhere") == newest_first[:5]
        assert await found(GUILD, "sometimes") == [ids[8], ids[4], ids[0]]
        assert await found(GUILD, "often") == [ids[10], ids[8], ids[6], ids[4], ids[2]]
        assert await found(GUILD, "often", limit=20) == [ids[10], ids[8], ids[6], ids[4], ids[2], ids[0]]
        assert await found(GUILD, "sometimes everywhere", limit=2) == [ids[8], ids[4]]
        assert await found(GUILD, "ancient sometimes") == [ids[0]]
        assert await found(GUILD, "nowhere") == []
        # Another guild's matches are never shown, by either step.
        assert await found(OTHER, "ancient") == [theirs]
        assert await found(OTHER, "everywhere", limit=20) == [theirs]
        assert theirs not in await found(GUILD, "ancient everywhere", limit=20)
    finally:
        await rt.close()
