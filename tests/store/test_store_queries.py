"""Store behaviour the benchmark's changes rely on: concurrent writers, the one-round-trip append."""

from __future__ import annotations

import asyncio

import pytest

from bot.engine import Actor, errors
from bot.service import Roundtable

GUILD = 1001
MOD = Actor.human(10, "Mona")


async def test_actions_on_different_deliberations_at_once_all_land(roundtable: Roundtable) -> None:
    """One shared connection: a second writer waits for the first instead of failing mid-transaction."""
    ids = [(await roundtable.start(GUILD, 5, MOD, f"Question {i}?")).deliberation.id for i in range(8)]
    changes = await asyncio.gather(
        *(
            roundtable.act(
                GUILD, d_id, lambda d, at, n=n: d.state_position(Actor.human(100 + n), "Yes", f"Reason {n}", at)
            )
            for n, d_id in enumerate(ids)
        ),
        *(roundtable.start(GUILD, 5, MOD, f"Another {i}?") for i in range(4)),
    )
    assert len(changes) == 12
    for n, d_id in enumerate(ids):
        reloaded = await roundtable.store.load_events(GUILD, d_id)
        assert reloaded[-1].payload["text"] == f"Reason {n}"
    assert await roundtable.store.verify() == []


async def test_append_to_another_guilds_deliberation_writes_nothing(roundtable: Roundtable) -> None:
    d = (await roundtable.start(GUILD, 5, MOD, "Fridays?")).deliberation
    events = d.state_position(Actor.human(11), "Yes", "Fridays", roundtable.now())
    before = await roundtable.store.counts()
    with pytest.raises(errors.NotFound):
        await roundtable.store.append(2002, d.id, events, status="open", round_kind="positions", deadline_at=None)
    assert await roundtable.store.counts() == before
    # The connection is left usable: no transaction is still open.
    head = await roundtable.store.append(GUILD, d.id, events, status="open", round_kind="positions", deadline_at=None)
    assert len(head) == 64
    assert await roundtable.store.verify() == []
