"""How contributions look: AI contributions are unmistakably labelled; aliases when anonymous."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.engine import (
    BUILTIN_TEMPLATES,
    Actor,
    AIParticipantSpec,
    ContributionKind,
    Deliberation,
    DeliberationSettings,
    Event,
)
from bot.engine.events import ContributionAdded
from bot.exts._shared.posting import AI_COLOUR, HUMAN_COLOUR, contribution_embed, contribution_view

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ADA = Actor.human(1, "Ada")


def _deliberation(*, anonymous: bool) -> Deliberation:
    events = Deliberation.start(
        question="Fridays?",
        template="quick",
        rounds=BUILTIN_TEMPLATES["quick"],
        settings=DeliberationSettings(anonymous=anonymous, round_minutes=60),
        moderator=Actor.human(100, "Mona"),
        ai_participants=[AIParticipantSpec("Sage", "smollm2-135m", "embedded")],
        at=T0,
    )
    d = Deliberation.from_events(1, 77, events)
    d.apply_all(d.state_position(ADA, "Support", "Yes.", T0))
    added = ContributionAdded(
        d.next_id, ContributionKind.POSITION, "Consider both.", 0, stance="Mixed", ai={"model": "smollm2-135m"}
    )
    d.apply(Event(Actor.ai("Sage"), T0, added))
    return d


async def test_an_ai_position_has_its_own_colour_and_the_label_as_author() -> None:
    d = _deliberation(anonymous=False)
    human, ai = d.positions()
    human_embed, ai_embed = contribution_embed(d, human), contribution_embed(d, ai)
    assert ai_embed.author.name == "AI participant · Sage · smollm2-135m · not authoritative"
    assert ai_embed.colour == AI_COLOUR
    assert human_embed.colour == HUMAN_COLOUR != AI_COLOUR
    assert human_embed.author.name == "Ada"
    assert "never counted" in (ai_embed.footer.text or "")
    view = contribution_view(d, human)
    assert view is not None
    # Components only, never stored as a view: the registered DynamicItems answer clicks.
    assert view.is_finished()
    assert [c.custom_id for c in view.children] == ["rt:vote:1:1:a", "rt:vote:1:1:d", "rt:vote:1:1:p"]


def test_anonymous_posts_show_the_alias() -> None:
    d = _deliberation(anonymous=True)
    human, ai = d.positions()
    assert contribution_embed(d, human).author.name == "Participant 1"
    assert "Ada" not in str(contribution_embed(d, human).to_dict())
    assert contribution_embed(d, ai).author.name.startswith("AI participant · Sage")  # type: ignore[union-attr]
