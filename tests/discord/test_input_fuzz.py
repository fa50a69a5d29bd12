"""Every input ends in a stored action or a clear refusal, never the apology (issue 9's fuzz).

Seeded random text (lone surrogates, control characters, query syntax, invisible characters,
other scripts, over-long text) goes into the text options members fill, through the simulator;
each answer must be ephemeral and not the generic apology, and a refusal must change nothing.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import simcord
from deliberation_helpers import advance, configure, event_count, open_deliberation, state_position
from discord_harness import Table

from bot.app import RoundtableBot
from bot.exts._shared.errors import APOLOGY

HOSTILE = [
    "\ud800",
    "ok \udfff",
    "\x00",
    '"unbalanced',
    "a AND b OR NOT c*",
    "question: NEAR(x y)",
    "\u200b\u200b",
    "\u202e\u202c",
    "x" * 3000,
    "@everyone <@&1> <#2>",
    "# heading\n```fence",
    "",
    "   ",
]
# Characters from everywhere: controls, surrogates, format characters, scripts, emoji.
RANGES = [
    (0, 0x40),
    (0x7F, 0xA0),
    (0x200B, 0x2070),
    (0x0590, 0x0700),
    (0x4E00, 0x4E40),
    (0xD800, 0xE000),
    (0x1F600, 0x1F650),
]


def texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    made = []
    for _ in range(n):
        size = rng.choice([1, 3, 10, 40])
        made.append("".join(chr(rng.randrange(*rng.choice(RANGES))) for _ in range(size)))
    return HOSTILE + made


def _answered(result: Any) -> str:
    messages = [m for m in [result.response, *result.followups] if m is not None]
    texts = [m.content or (m.embeds[0].title if m.embeds else "") for m in messages]
    texts = [t for t in texts if t]
    assert texts, "no answer at all"
    assert result.ephemeral
    assert APOLOGY not in texts
    return texts[-1]


@pytest.mark.parametrize(
    "command",
    ["position", "object", "statement", "respond", "consent", "search", "cancel"],
)
async def test_any_text_in_any_option_is_stored_or_refused_clearly(
    env: simcord.Env, table: Table, bot: RoundtableBot, command: str
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="consent")
    await state_position(table.ada, opened, "Support", "Fridays.")
    rounds = {"object": 1, "statement": 1, "respond": 1, "consent": 3}.get(command, 0)
    for _ in range(rounds):  # to the round that takes this input
        await advance(table.moderator, opened.where, force=True)

    for text, other in zip(texts(1, 12), reversed(texts(2, 12)), strict=True):
        before = await event_count(bot, table, opened.id)
        where, who = opened.where, table.grace
        options: dict[str, Any]
        name = command
        if command == "position":
            options = {"stance": text[:200], "reasoning": other}
        elif command == "object":
            options = {"what": text, "why": other}
        elif command == "statement":
            options = {"text": text}
        elif command == "respond":
            options = {"to": 1, "text": text}
        elif command == "consent":
            options = {"choice": "block", "reason": text}
        elif command == "search":
            name, where, options = "decisions search", table.deliberations, {"query": text[:100]}
        else:
            name, who, options = "deliberation cancel", table.moderator, {"reason": text}
        try:
            result = await who.slash(where, name, **options)
        except (simcord.SetupError, simcord.OptionError):
            continue  # Discord's client would not send it (empty, or over an option's length)
        reply = _answered(result)
        after = await event_count(bot, table, opened.id)
        if after != before:
            assert "#" in reply or "recorded" in reply or "cancelled" in reply, reply
