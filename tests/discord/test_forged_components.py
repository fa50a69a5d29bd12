"""A component whose custom id does not fit this guild (forged, stale, or another guild's) is
refused like any other refusal: a short ephemeral answer, never silence or the apology."""

from __future__ import annotations

import discord
import pytest
import simcord
from deliberation_helpers import configure, event_count, open_deliberation, state_position
from discord_harness import Table

from bot.app import RoundtableBot
from bot.engine.model import Actor
from bot.exts._shared.errors import APOLOGY


def _forged(env: simcord.Env, where: simcord.ChannelHandle, custom_id: str) -> discord.Message:
    """A message the bot could have posted, carrying one button with `custom_id`."""
    assert env.bot.user is not None
    button = {"type": 2, "style": 2, "label": "Forged", "custom_id": custom_id}
    stored = env.backend.create_message(where.id, env.bot.user.id, "", components=[{"type": 1, "components": [button]}])
    return next(m for m in where.history() if m.id == stored.id)


@pytest.mark.parametrize(
    "custom_id",
    [
        "rt:vote:{other}:{statement}:a",  # another guild's deliberation
        "rt:obj:{other}:{statement}:a",
        "rt:consent:{other}:e",
        "rt:pos:{other}",
        "rt:remind:{other}",
        "rt:adv:{other}:0:1",
        "rt:vote:{mine}:999:a",  # no such statement here
        "rt:obj:{mine}:{statement}:w",  # a position, not an objection
        "rt:vote:99999999999999999999:1:a",  # no such deliberation at all
    ],
)
async def test_a_forged_button_is_refused_and_changes_nothing(
    env: simcord.Env, table: Table, bot: RoundtableBot, custom_id: str
) -> None:
    await configure(table)
    mine = await open_deliberation(table, template="quick")
    await state_position(table.ada, mine, "Support", "Yes.")
    elsewhere = env.create_guild("Elsewhere")
    stranger = elsewhere.add_member(env.create_user("Stranger"), roles=[])
    channel = elsewhere.create_text_channel("deliberations")
    theirs = Actor.human(stranger.id, stranger.name)
    other = (await bot.roundtable.start(elsewhere.id, channel.id, theirs, "Theirs?")).deliberation
    before_mine = await event_count(bot, table, mine.id)
    before_other = len(await bot.roundtable.store.load_events(elsewhere.id, other.id))

    message = _forged(env, mine.where, custom_id.format(other=other.id, mine=mine.id, statement=1))
    result = await table.ada.click(message, label="Forged")

    assert result.ephemeral
    assert result.response is not None
    assert result.response.content
    assert result.response.content != APOLOGY
    assert await event_count(bot, table, mine.id) == before_mine
    assert len(await bot.roundtable.store.load_events(elsewhere.id, other.id)) == before_other
