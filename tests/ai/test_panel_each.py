"""`AIPanel.each`: every participant asked at once, each answer handed over as soon as it is ready.

The panel is the real one; its participants are spec'd fakes whose endpoints answer after the
waits each test chooses (the endpoints are what is out of reach here).
"""

from __future__ import annotations

import asyncio
from unittest.mock import create_autospec

from bot.ai.config import AIConfig
from bot.ai.panel import AIPanel
from bot.ai.participant import AIParticipant
from bot.ai.types import AIRequest, AIResult, AIUnavailable, QuotedContribution
from tests.fake_ai import ai_answer

REQUEST = AIRequest("A four-day week?", "position", (QuotedContribution(1, "position", "Ada", "Yes", "Try it."),), 0)


def participant(name: str, answered: asyncio.Event, *, fails: bool = False) -> AIParticipant:
    fake = create_autospec(AIParticipant, instance=True)
    fake.name = name

    async def respond(request: AIRequest) -> AIResult | AIUnavailable:
        await answered.wait()
        if fails:
            raise RuntimeError("the endpoint broke in a way the participant did not expect")
        return ai_answer(name, request, stance="Either", text=f"From {name}.")

    fake.respond.side_effect = respond
    return fake  # type: ignore[no-any-return]


def panel_of(*participants: AIParticipant) -> AIPanel:
    panel = AIPanel(AIConfig(participants=[]))
    panel.participants = list(participants)
    return panel


async def test_a_fast_answer_is_handed_over_while_a_slow_participant_is_still_generating() -> None:
    slow_done, fast_done = asyncio.Event(), asyncio.Event()
    panel = panel_of(participant("Slow", slow_done), participant("Fast", fast_done))
    answers = panel.each(REQUEST)

    fast_done.set()
    first = await asyncio.wait_for(anext(answers), timeout=5)
    assert first.participant == "Fast"
    assert not slow_done.is_set()

    slow_done.set()
    second = await asyncio.wait_for(anext(answers), timeout=5)
    assert second.participant == "Slow"
    assert [a async for a in answers] == []


async def test_only_the_named_participants_are_asked_and_an_unexpected_error_is_an_unavailable_answer() -> None:
    go = asyncio.Event()
    go.set()
    broken, sage, other = participant("Broken", go, fails=True), participant("Sage", go), participant("Other", go)
    panel = panel_of(broken, sage, other)

    answers = [a async for a in panel.each(REQUEST, ["Broken", "sage"])]

    assert sorted(a.participant for a in answers) == ["Broken", "Sage"]
    (failed,) = [a for a in answers if isinstance(a, AIUnavailable)]
    assert failed.participant == "Broken"
    other.respond.assert_not_called()  # type: ignore[attr-defined]


async def test_leaving_early_stops_the_participants_still_generating() -> None:
    never = asyncio.Event()
    fast_done = asyncio.Event()
    fast_done.set()
    slow = participant("Slow", never)
    panel = panel_of(slow, participant("Fast", fast_done))
    answers = panel.each(REQUEST)

    assert (await anext(answers)).participant == "Fast"
    await answers.aclose()
    await asyncio.sleep(0.05)

    # Nothing is left running in the background after the caller stopped listening.
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
