"""A shard process restores only its own guilds: deadlines, AI timers and owed posts of other shards' guilds
are left to the process that runs those shards, even though they share the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import simcord

from bot.app import RoundtableBot, ShardedRoundtableBot
from bot.config import Settings
from bot.engine.events import RoundClosed
from bot.engine.model import Actor
from bot.service import Roundtable
from tests.conftest import ManualClock

SHARDS = 2
# Guild ids whose shard, (id >> 22) % 2, is 0 (this process's) and 1 (another process's).
MINE = (1 << 40) + (0 << 22)
THEIRS = (1 << 40) + (1 << 22)
MOD = Actor.human(10, "Mona")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        tmp_path / "no-config.toml",
        read_env=False,
        database={"path": tmp_path / "roundtable.sqlite3"},
        discord={"shard_count": SHARDS, "shard_ids": [0]},
    )


async def _rounds_closed(rt: Roundtable, guild_id: int, deliberation_id: int) -> list[int]:
    events = await rt.store.load_events(guild_id, deliberation_id)
    return [e.payload.round for e in events if isinstance(e.payload, RoundClosed)]


async def test_a_shard_process_restores_and_fires_only_its_own_guilds(
    env: simcord.Env, settings: Settings, restart: Callable[[], Awaitable[RoundtableBot]]
) -> None:
    assert isinstance(env.bot, ShardedRoundtableBot)
    assert (env.bot.shard_count, env.bot.shard_ids) == (SHARDS, [0])
    channels = {}
    for guild_id in (MINE, THEIRS):
        guild = env.create_guild(f"Guild {guild_id}", id=guild_id)
        channels[guild_id] = guild.create_text_channel("deliberations").id

    # Another process (the other shard's, or this one before a restart) opened two deliberations in
    # each guild: one two hours ago, without AI, whose positions round has run out; one ten minutes
    # ago with an AI seat, whose AI half-time timer (at 30 minutes) and deadline lie ahead.
    earlier = ManualClock(env.now() - timedelta(hours=2))
    other = await Roundtable.open(settings, earlier)
    opened, waiting = {}, {}
    try:
        for guild_id in (MINE, THEIRS):
            change = await other.start(guild_id, channels[guild_id], MOD, "Fridays?", round_minutes=60, ai=False)
            opened[guild_id] = change.deliberation.id
        earlier.now = env.now() - timedelta(minutes=10)
        for guild_id in (MINE, THEIRS):
            change = await other.start(guild_id, channels[guild_id], MOD, "Tuesdays?", round_minutes=60, ai=True)
            assert change.deliberation.ai_seats
            waiting[guild_id] = change.deliberation.id
    finally:
        await other.close()

    bot = await restart()
    await env.settle()
    rt = bot.roundtable

    # Its own guild: the deadline fired at once, the owed thread and agenda were posted.
    assert await _rounds_closed(rt, MINE, opened[MINE]) == [0]
    assert await rt.pending_posts(MINE, opened[MINE]) == []
    # The other shard's guild: untouched, left for its own process.
    assert await _rounds_closed(rt, THEIRS, opened[THEIRS]) == []
    assert [p.ref for p in await rt.pending_posts(THEIRS, opened[THEIRS])]
    assert opened[THEIRS] not in bot.deadlines
    half_time = bot.get_cog("AIParticipants").half_time  # type: ignore[union-attr]
    assert waiting[MINE] in bot.deadlines
    assert waiting[MINE] in half_time
    assert waiting[THEIRS] not in bot.deadlines
    assert waiting[THEIRS] not in half_time

    # Even when asked for it by name (a guild event that reached the wrong process), nothing is scheduled.
    await bot.restore_all_deadlines([MINE, THEIRS])
    await bot.restore_deadlines(THEIRS)
    assert opened[THEIRS] not in bot.deadlines
    assert bot.owned_guild_ids() == [MINE]
