"""Each AI participant posts as soon as it is ready: the slowest holds back no one.

Two AI participants sit at the table: Sage answers at once, Slow takes twenty simulated minutes
(a bot-owned sleep inside the spec'd panel, so SimCord parks it and its clock decides when it
ends). The real panel's `each` is checked for the same order with participants of different
speeds in tests/ai/test_panel_each.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from unittest.mock import create_autospec

import pytest
import simcord
from discord_harness import Table

from bot.ai.panel import AIPanel
from bot.ai.types import AIRejected, AIRequest, AIResult, AIUnavailable
from bot.app import RoundtableBot
from bot.config import Settings
from tests.fake_ai import ai_answer

SLOW_SECONDS = 20 * 60


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        tmp_path / "no-config.toml",
        read_env=False,
        database={"path": tmp_path / "roundtable.sqlite3"},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": [{"name": "Sage", "model": "smollm2-135m"}, {"name": "Slow", "model": "smollm2-135m"}]},
    )


@pytest.fixture
def ai_panel(settings: Settings) -> Any:
    fake = create_autospec(AIPanel, instance=True)
    fake.config = settings.ai

    # Which participants' answers the gate turns down (by name); the others answer usably.
    fake.rejected = set()

    async def each(request: AIRequest, names: Sequence[str] | None = None) -> AsyncIterator[AIResult | AIUnavailable]:
        # Sage is done at once; Slow generates for twenty minutes of the simulator's clock.
        for name in sorted(names or [], key=lambda n: n == "Slow"):
            if name == "Slow":
                await asyncio.sleep(SLOW_SECONDS)
            if name in fake.rejected:
                yield AIRejected(name, "ends mid-word")
            else:
                yield ai_answer(name, request, stance="Either", text=f"A {request.task} from {name}.")

    fake.each.side_effect = each
    return fake


def posted_by(thread: simcord.ChannelHandle) -> list[str]:
    """The AI participants whose labelled contributions are in the thread, in order."""
    names = []
    for message in thread.history():
        label = message.embeds[0].author.name if message.embeds else None
        if label and label.startswith("AI participant · "):
            names.append(label.split(" · ")[1])
    return names


async def positions_round(table: Table) -> simcord.ChannelHandle:
    await table.admin.slash(
        table.deliberations, "deliberation start", question="Adopt a code of conduct?", template="quick", ai=True
    )
    thread = table.deliberations.threads[-1]
    await table.grace.slash(thread, "deliberation join", **{"as": "participant"})
    await table.ada.slash(thread, "position", stance="Yes", reasoning="We need one.")
    await table.grace.slash(thread, "position", stance="Yes, short", reasoning="Keep it short.")
    return thread


async def test_a_fast_ai_participant_posts_while_a_slow_one_is_still_generating(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    thread = await positions_round(table)

    # Every member has spoken: both are asked; Sage's position is stored and posted now.
    assert posted_by(thread) == ["Sage"]
    d = await bot.roundtable.get(table.guild.id, 1)
    assert [c.author for c in d.positions() if c.by_ai] == ["ai:Sage"]

    await env.advance_time(SLOW_SECONDS + 1)
    await env.settle()

    assert posted_by(thread) == ["Sage", "Slow"]
    d = await bot.roundtable.get(table.guild.id, 1)
    assert [c.author for c in d.positions() if c.by_ai] == ["ai:Sage", "ai:Slow"]


async def test_a_slow_answer_that_arrives_after_the_round_closed_is_dropped_and_the_fast_one_stays(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    thread = await positions_round(table)
    assert posted_by(thread) == ["Sage"]

    # The moderator closes the positions round while Slow is still generating.
    await env.advance_time(10 * 60 + 1)
    await table.admin.slash(thread, "deliberation advance")
    await env.advance_time(SLOW_SECONDS)
    await env.settle()

    assert posted_by(thread) == ["Sage"]
    d = await bot.roundtable.get(table.guild.id, 1)
    assert [c.author for c in d.positions() if c.by_ai] == ["ai:Sage"]
    assert not any("Slow" in m.content for m in thread.history())


def notices(thread: simcord.ChannelHandle) -> list[str]:
    return [m.content for m in thread.history() if m.content.startswith("AI participant ")]


SAGE_REJECTED = "AI participant Sage gave no usable contribution (ends mid-word); the deliberation goes on."


async def test_a_discord_error_on_a_notice_neither_loses_it_nor_ends_the_turn_for_the_others(
    env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any
) -> None:
    ai_panel.rejected = {"Sage"}
    await table.admin.slash(
        table.deliberations, "deliberation start", question="Adopt a code of conduct?", template="quick", ai=True
    )
    thread = table.deliberations.threads[-1]
    await table.grace.slash(thread, "deliberation join", **{"as": "participant"})
    await table.ada.slash(thread, "position", stance="Yes", reasoning="We need one.")
    # Discord fails every post in the thread while the AI turn runs.
    env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=None)
    await table.grace.slash(thread, "position", stance="Yes, short", reasoning="Keep it short.")

    assert notices(thread) == []  # Sage's notice is owed, not lost
    env.backend.faults.clear()
    await env.advance_time(SLOW_SECONDS + 60)
    await env.settle()

    # The notice came once Discord was back, and Slow's turn went on to its position.
    assert notices(thread) == [SAGE_REJECTED]
    assert posted_by(thread) == ["Slow"]
    d = await bot.roundtable.get(table.guild.id, 1)
    assert [c.author for c in d.positions() if c.by_ai] == ["ai:Slow"]
    assert [name for name, *_ in d.ai_unavailable] == ["Sage"]


async def test_a_rejection_that_arrives_after_its_round_closed_is_neither_stored_nor_announced(
    env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any
) -> None:
    ai_panel.rejected = {"Slow"}
    thread = await positions_round(table)
    await env.advance_time(10 * 60 + 1)
    await table.admin.slash(thread, "deliberation advance")
    await env.advance_time(SLOW_SECONDS)
    await env.settle()

    assert notices(thread) == []
    d = await bot.roundtable.get(table.guild.id, 1)
    assert d.ai_unavailable == []
