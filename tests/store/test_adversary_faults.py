"""Adversary's tests: an action whose store fails after it was decided never shows in a post.

The service applies an action's events to its cached deliberation before the append commits, and
drops the cache entry if the append fails. The outbox's courier must not render a post from a
deliberation it fetched before it yielded to members' answers: one of those answers may have
failed to store, and the object fetched earlier still holds its events (a vote nobody recorded).
"""

from __future__ import annotations

import asyncio

import discord
import pytest

from bot.engine.deliberation import Deliberation
from bot.engine.errors import StorageUnavailable
from bot.engine.model import Actor, Vote
from bot.exts._shared.outbox import Courier
from bot.service import Roundtable
from bot.store.store import Store
from tests.conftest import ManualClock

GUILD = 1


async def _writes_fail(rt: Roundtable, fail: bool) -> None:
    """A read-only remount, as the open connection sees it: reads work, writes fail."""
    assert isinstance(rt.store, Store)
    cursor = await rt.store._conn.execute(f"PRAGMA query_only = {'ON' if fail else 'OFF'}")
    await cursor.close()


@pytest.mark.sqlite_only  # makes the SQLite file refuse writes through its connection
async def test_a_post_made_after_a_failed_answer_shows_only_what_was_stored(
    roundtable: Roundtable, clock: ManualClock
) -> None:
    rt = roundtable
    ada, grace = Actor.human(11, "Ada"), Actor.human(12, "Grace")
    started = await rt.start(GUILD, 100, Actor.human(10, "Mod", moderates=True), "Fridays?")
    number = started.deliberation.id
    await rt.act(GUILD, number, lambda d, at: d.state_position(ada, "support", "Fridays suit us.", at))
    position = max((await rt.get(GUILD, number)).contributions)

    refused: list[BaseException] = []

    async def an_answer_under_way_fails_to_store() -> None:
        # What the courier yields to: a member's vote on the position, refused by storage.
        if refused:
            return
        await _writes_fail(rt, True)
        with pytest.raises(StorageUnavailable) as caught:
            await rt.act(GUILD, number, lambda d, at: d.vote(grace, position, Vote.AGREE, at))
        refused.append(caught.value)
        await _writes_fail(rt, False)

    shown: dict[str, dict[Vote, int]] = {}

    async def handler(guild_id: int, d: Deliberation, rest: str) -> discord.Message | None:
        shown[rest] = dict(d.tally(position))
        return None  # nothing to post in this test: the rendering is what counts

    courier = Courier(lambda: rt, clock, before_post=an_answer_under_way_fails_to_store)
    for post in await rt.pending_posts(GUILD, number):
        courier.register(post.ref.partition(":")[0], handler)

    assert await courier.deliver(GUILD, number, background=True)

    assert refused
    assert shown[str(position)][Vote.AGREE] == 0, shown  # the vote was refused: nobody agrees
    assert (await rt.get(GUILD, number)).tally(position)[Vote.AGREE] == 0
    assert await rt.store.verify() == []


@pytest.mark.sqlite_only  # makes the SQLite file refuse writes through its connection
async def test_a_read_while_an_action_is_being_stored_never_shows_it_if_storage_then_refuses_it(
    roundtable: Roundtable,
) -> None:
    rt = roundtable
    ada, grace = Actor.human(11, "Ada"), Actor.human(12, "Grace")
    started = await rt.start(GUILD, 100, Actor.human(10, "Mod", moderates=True), "Fridays?")
    number = started.deliberation.id
    await rt.act(GUILD, number, lambda d, at: d.state_position(ada, "support", "Fridays suit us.", at))
    position = max((await rt.get(GUILD, number)).contributions)

    await _writes_fail(rt, True)
    vote = asyncio.create_task(rt.act(GUILD, number, lambda d, at: d.vote(grace, position, Vote.AGREE, at)))
    while not vote.done() and not any(e.lock.locked() for e in rt._cache.values()):  # noqa: ASYNC110
        await asyncio.sleep(0)
    assert not vote.done()
    read = await rt.get(GUILD, number)  # while the vote is being stored
    with pytest.raises(StorageUnavailable):
        await vote
    await _writes_fail(rt, False)

    assert read.tally(position).get(Vote.AGREE, 0) == 0
    assert (await rt.get(GUILD, number)).tally(position).get(Vote.AGREE, 0) == 0
