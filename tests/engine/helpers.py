"""A deliberation driven directly through the engine, the way the service drives it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.engine import BUILTIN_TEMPLATES, Actor, AIParticipantSpec, Deliberation, DeliberationSettings, Event

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MOD = Actor.human(100, "Mona")
ADA = Actor.human(1, "Ada")
BEN = Actor.human(2, "Ben")
CAI = Actor.human(3, "Cai")
OBS = Actor.human(9, "Otto")
SAGE = Actor.ai("Sage")
SEATS = [AIParticipantSpec("Sage", "smollm2-135m", "embedded")]


class Table:
    """Holds a deliberation, the events it recorded, and a clock that only moves when told."""

    def __init__(
        self,
        template: str = "consent",
        *,
        question: str = "Should we move the meetup to Fridays?",
        moderator: Actor = MOD,
        invited: Sequence[Actor] = (),
        **settings: object,
    ) -> None:
        self.now = T0
        self.moderator = moderator
        opts = {"quorum": 3, "round_minutes": 60, "min_round_minutes": 10, **settings}
        self.events: list[Event] = Deliberation.start(
            question=question,
            template=template,
            rounds=BUILTIN_TEMPLATES[template],
            settings=DeliberationSettings(**opts),  # type: ignore[arg-type]
            moderator=moderator,
            ai_participants=SEATS,
            at=self.now,
            invited=invited,
        )
        self.d = Deliberation.from_events(1, 77, self.events)

    def do(self, method: str, *args: object, **kwargs: object) -> list[Event]:
        events = getattr(self.d, method)(*args, at=self.now, **kwargs)
        self.d.apply_all(events)
        self.events.extend(events)
        return events

    def wait(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)

    def advance(self, *, force: bool = False) -> list[Event]:
        """The moderator closes the round (confirming, when asked, that members have not answered)."""
        return self.do("advance", self.moderator, force=force, confirmed=self.d.current)

    def replayed(self) -> Deliberation:
        return Deliberation.from_events(self.d.id, self.d.guild_id, self.events)
