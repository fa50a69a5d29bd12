"""Revision turns through the service (`/summary revise`): who is asked, what is stored, what is refused.

The AI panel is a spec'd fake (tests/fake_ai.py: "Sage" answers, "Dead" is always down);
everything else is real, the SQLite file included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.ai.panel import AIPanel
from bot.config import Settings
from bot.engine import Actor, ContributionKind, errors
from bot.service import Roundtable
from tests.conftest import ManualClock
from tests.fake_ai import fake_panel

GUILD = 7
MOD, ADA, BEN = Actor.human(10, "Mona"), Actor.human(11, "Ada"), Actor.human(12, "Ben")


@pytest.fixture
def two_ai_settings(settings: Settings) -> Settings:
    dead = settings.ai.participants[0].model_copy(update={"name": "Dead", "base_url": "http://127.0.0.1:9/v1"})
    return settings.model_copy(
        update={"ai": settings.ai.model_copy(update={"participants": [settings.ai.participants[0], dead]})}
    )


@pytest.fixture
def panel(two_ai_settings: Settings) -> AIPanel:
    return fake_panel(
        two_ai_settings.ai, lambda r: (None, "Alternate Fridays." if r.target_text else "Meet on Fridays.")
    )


@pytest.fixture
async def rt(two_ai_settings: Settings, clock: ManualClock, panel: AIPanel) -> AsyncIterator[Roundtable]:
    service = await Roundtable.open(two_ai_settings, clock, ai=panel)
    yield service
    await service.close()


async def _drafted(rt: Roundtable, clock: ManualClock) -> tuple[int, int]:
    """A deliberation in synthesis with Sage's draft (Dead was down); (deliberation, draft)."""
    did = (await rt.start(GUILD, 1, MOD, "Fridays?")).deliberation.id
    await rt.act(GUILD, did, lambda d, at: d.state_position(ADA, "Yes", "Fridays free the weekend.", at))
    await rt.act(GUILD, did, lambda d, at: d.state_position(BEN, "No", "I work late on Fridays.", at))
    for _ in range(2):
        clock.advance(11)
        await rt.act(GUILD, did, lambda d, at: d.advance(MOD, at, confirmed=d.current))
    turn = await rt.ai_turn(GUILD, did, "draft")
    (draft,) = turn.changes[0].added(ContributionKind.DRAFT)
    return did, draft


async def test_a_revision_is_asked_only_of_seats_that_have_not_answered_the_latest_critique(
    rt: Roundtable, clock: ManualClock, panel: AIPanel
) -> None:
    did, draft = await _drafted(rt, clock)
    with pytest.raises(errors.InvalidValue, match="No member has critiqued"):
        await rt.ai_turn(GUILD, did, "draft", target=draft)
    asked = len(panel.requests)
    assert asked == 1  # refused before any model was asked

    await rt.act(GUILD, did, lambda d, at: d.critique(BEN, "Shift workers cannot come on Fridays.", draft, at))
    first = await rt.ai_turn(GUILD, did, "draft", target=draft)
    (request, names) = panel.requests[-1]
    assert names == ["Sage", "Dead"]
    assert (request.target_text, request.focus) == ("Meet on Fridays.", (draft + 1,))
    (revision,) = first.changes[0].added(ContributionKind.DRAFT)
    d = await rt.get(GUILD, did)
    assert d.contributions[revision].revises == draft
    assert [u.participant for u in first.unavailable] == ["Dead"]

    # Sage has answered the critique; only Dead, who failed, is asked again.
    again = await rt.ai_turn(GUILD, did, "draft", target=draft)
    assert panel.requests[-1][1] == ["Dead"]
    assert again.changes == []
    assert len((await rt.get(GUILD, did)).revisions_of(draft)) == 1

    # A new critique makes Sage due again.
    await rt.act(GUILD, did, lambda d, at: d.critique(ADA, "Alternating confuses people.", draft, at))
    third = await rt.ai_turn(GUILD, did, "draft", target=draft)
    assert panel.requests[-1][1] == ["Sage", "Dead"]
    assert len(third.changes) == 1
    assert [r.id for r in (await rt.get(GUILD, did)).revisions_of(draft)] == [revision, revision + 2]
    assert await rt.store.verify() == []
