"""Several processes against one SQLite file: shard settings, and a deadline that fires once.

Two `Roundtable` services, each with its own connection to the same file, stand for two bot
processes (a rolling deploy, or a shard moving between processes). Each has cached the
deliberation; both deadline timers fire. The round closes once and the record is sealed once,
because a firing decides from the events as stored, not from the process's cache.

(Two firings at the very same instant, interleaved between one's read and the other's write,
are refused by compare-and-set on the chain head, which lands with the PostgreSQL backend.)
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.engine import ConsentChoice
from bot.engine.events import DeliberationSealed, RoundClosed
from bot.service import Roundtable
from tests.conftest import ManualClock
from tests.store.test_store import ADA, BEN, GUILD, MOD


def _config(tmp_path: Path, **discord: object) -> Settings:
    return Settings.load(tmp_path / "none.toml", read_env=False, discord=discord)


def test_shard_settings_are_checked_and_name_the_key(tmp_path: Path) -> None:
    sharded = _config(tmp_path, shard_count=4, shard_ids=[1, 3])
    # Discord's rule: a guild's shard is (guild_id >> 22) % shard_count.
    assert [g for g in range(8) if sharded.discord.owns(g << 22)] == [1, 3, 5, 7]
    assert _config(tmp_path, shard_count=4).discord.owns(2 << 22)  # all shards when ids are left out
    assert _config(tmp_path).discord.owns(12345 << 22)  # unsharded: every guild

    for bad, message in (
        ({"shard_count": 2, "shard_ids": [0, 2]}, r"discord.shard_ids \[2\] are outside 0..1"),
        ({"shard_count": 2, "shard_ids": [1, 1]}, "repeats a shard"),
        ({"shard_count": 2, "shard_ids": []}, "is empty"),
        ({"shard_ids": [0]}, "needs discord.shard_count"),
        ({"shard_count": 0}, "shard_count"),
    ):
        with pytest.raises(ValidationError, match=message):
            _config(tmp_path, **bad)


async def _events(rt: Roundtable, deliberation_id: int) -> list[object]:
    return [e.payload for e in await rt.store.load_events(GUILD, deliberation_id)]


async def test_two_processes_on_one_file_close_a_round_and_seal_a_record_once(settings: Settings) -> None:
    clock_a = ManualClock()
    clock_b = ManualClock(clock_a.now)
    a = await Roundtable.open(settings, clock_a)
    b = await Roundtable.open(settings, clock_b)
    try:
        d = (await a.start(GUILD, 5, MOD, "Fridays?", template="quick")).deliberation
        await a.act(GUILD, d.id, lambda d, at: d.state_position(ADA, "Yes", "Fridays free the weekend", at))
        await a.act(GUILD, d.id, lambda d, at: d.state_position(BEN, "No", "I work on Fridays", at))
        assert (await b.get(GUILD, d.id)).round.index == 0  # B caches the positions round

        # The positions round runs out; A's timer fires first and closes it.
        positions_deadline = (await a.get(GUILD, d.id)).round.deadline
        assert positions_deadline is not None
        clock_a.now = clock_b.now = positions_deadline + timedelta(seconds=1)
        closed = await a.close_due_round(GUILD, d.id)
        assert closed is not None
        assert closed.rounds_closed == [0]
        # B's timer fires too, on its stale cache: the round is found closed, nothing is written.
        assert await b.close_due_round(GUILD, d.id) is None
        assert (await b.get(GUILD, d.id)).round.index == 1  # B now holds what is stored

        await a.act(GUILD, d.id, lambda d, at: d.give_consent(ADA, ConsentChoice.ENDORSE, at))
        await a.act(GUILD, d.id, lambda d, at: d.give_consent(BEN, ConsentChoice.ENDORSE, at))
        consent_deadline = (await a.get(GUILD, d.id)).round.deadline
        assert consent_deadline is not None
        clock_a.now = clock_b.now = consent_deadline + timedelta(seconds=1)

        # This time B fires first and seals; A, with the record not in its cache, finds it sealed.
        sealed = await b.close_due_round(GUILD, d.id)
        assert sealed is not None
        assert sealed.sealed
        assert await a.close_due_round(GUILD, d.id) is None
        assert not (await a.get(GUILD, d.id)).is_open

        payloads = await _events(a, d.id)
        assert [p.round for p in payloads if isinstance(p, RoundClosed)] == [0, 1]
        assert sum(isinstance(p, DeliberationSealed) for p in payloads) == 1
        assert [r.deliberation_id for r in await a.list_records(GUILD, limit=10)] == [d.id]
        assert (await a.record(GUILD, d.id)).record["outcome"]["kind"] == "consensus"
        assert await a.store.verify() == []
    finally:
        await a.close()
        await b.close()


async def test_a_process_forgets_a_guild_it_no_longer_serves(settings: Settings, clock: ManualClock) -> None:
    rt = await Roundtable.open(settings, clock)
    other = await Roundtable.open(settings, clock)
    try:
        d = (await rt.start(GUILD, 5, MOD, "Fridays?", template="quick")).deliberation
        assert (await rt.get(GUILD, d.id)).positions() == []
        rt.forget_guild(GUILD)  # its shard moved to another process, which writes meanwhile
        await other.act(GUILD, d.id, lambda d, at: d.state_position(ADA, "Yes", "Fridays", at))
        # Served again later: what it reads is what is stored, not what it once cached.
        assert [c.text for c in (await rt.get(GUILD, d.id)).positions()] == ["Fridays"]
    finally:
        await rt.close()
        await other.close()
