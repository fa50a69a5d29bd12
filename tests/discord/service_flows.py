"""Deliberations driven through the service, for tests whose subject comes after them.

The archive, the dissent map and the AI turns need deliberations in a given state (sealed,
with planted votes, ...). Members' own flows are tested with their commands elsewhere; here
the state is arranged directly through `Roundtable.act`, exactly what those commands call.
Use only from the test, between simulator operations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import simcord

from bot.app import RoundtableBot
from bot.engine import Actor, ConsentChoice, Deliberation, Role, Vote
from bot.service import Change


def human(member: simcord.MemberActor) -> Actor:
    return Actor.human(member.id, member.name)


async def start(
    bot: RoundtableBot,
    guild_id: int,
    channel_id: int,
    moderator: simcord.MemberActor,
    question: str,
    *,
    template: str = "quick",
    quorum: int = 1,
    ai: bool = False,
    anonymous: bool = False,
    round_minutes: int = 60,
) -> Deliberation:
    change = await bot.roundtable.start(
        guild_id,
        channel_id,
        human(moderator),
        question,
        template=template,
        quorum=quorum,
        ai=ai,
        anonymous=anonymous,
        round_minutes=round_minutes,
    )
    await bot.roundtable.store.set_location(guild_id, change.deliberation.id, channel_id=channel_id, thread_id=None)
    return change.deliberation


async def advance(env: simcord.Env, bot: RoundtableBot, guild_id: int, d: Deliberation, moderator: Actor) -> Change:
    """Close the current round as the moderator once its minimum duration has passed."""
    r = d.round
    assert r.min_close_at is not None
    wait = (r.min_close_at - env.now()).total_seconds()
    if wait > 0:
        await env.advance_time(wait + 1)
    # The moderator confirms closing a consent round early on members who have not answered.
    return await bot.roundtable.act(guild_id, d.id, lambda d, at: d.advance(moderator, at, confirmed=d.current))


async def seal_quick(
    env: simcord.Env,
    bot: RoundtableBot,
    guild_id: int,
    channel_id: int,
    moderator: simcord.MemberActor,
    question: str,
    positions: Sequence[tuple[simcord.MemberActor, str, str]],
    consent: Sequence[tuple[simcord.MemberActor, ConsentChoice, str]],
) -> Change:
    """A `quick` deliberation from start to sealed record."""
    d = await start(bot, guild_id, channel_id, moderator, question)
    mod = human(moderator)
    for member, stance, text in positions:
        await bot.roundtable.act(
            guild_id, d.id, lambda d, at, m=member, s=stance, t=text: d.state_position(human(m), s, t, at)
        )
    await advance(env, bot, guild_id, d, mod)
    for member, choice, reason in consent:
        await bot.roundtable.act(
            guild_id, d.id, lambda d, at, m=member, c=choice, r=reason: d.give_consent(human(m), c, at, reason=r)
        )
    sealed = await advance(env, bot, guild_id, d, mod)
    assert sealed.record is not None
    return sealed


async def join(bot: RoundtableBot, guild_id: int, d: Deliberation, member: simcord.MemberActor) -> None:
    await bot.roundtable.act(guild_id, d.id, lambda d, at: d.join(human(member), Role.PARTICIPANT, at))


async def vote(
    bot: RoundtableBot, guild_id: int, d: Deliberation, member: simcord.MemberActor, sid: int, v: Vote
) -> None:
    await bot.roundtable.act(guild_id, d.id, lambda d, at: d.vote(human(member), sid, v, at))


async def until(env: simcord.Env, done: Callable[[], object], *, tries: int = 300) -> None:
    """Settle until `done()` holds: output from work on another thread arrives after settling."""
    for _ in range(tries):
        await env.settle()
        if done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the bot's output never came")


__all__ = ["advance", "human", "join", "seal_quick", "start", "until", "vote"]
