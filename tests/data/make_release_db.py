"""Writes `release-0.1.sqlite3`: a database as the first release (commit 23504b0) wrote it.

Run once with that release's code on the path (`git worktree add /tmp/old 23504b0`, then
`cd /tmp/old && python /path/to/this/file OUT`). The file it writes is committed; the tests
check that today's code verifies, decodes and replays it byte for byte, so nothing stored by
an earlier release ever needs migrating. It exercises every kind of event the release wrote.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings
from bot.engine.model import Actor, ConsentChoice, ObjectionStatus, Role, Vote
from bot.service import Roundtable

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUILD = 77
MOD, ADA, BEN, CAI, OBS = (
    Actor.human(i, n) for i, n in [(100, "Mona"), (1, "Ada"), (2, "Ben"), (3, "Cai"), (9, "Otto")]
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def main(out: Path) -> None:
    settings = Settings.load(
        read_env=False,
        database={"path": out},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": [{"name": "Sage", "model": "smollm2-135m"}]},
    )
    clock = Clock()
    rt = await Roundtable.open(settings, clock)
    await rt.configure_guild(GUILD, 100, moderator_role_id=555, archive_channel_id=666, actor_name="Mona")

    def act(d_id: int, method: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        return rt.act(GUILD, d_id, lambda d, at: getattr(d, method)(*args, at=at, **kwargs))

    # A consent deliberation through every round, with an AI seat, to a sealed record.
    change = await rt.start(
        GUILD, 10, MOD, "Should we move the meetup to Fridays?", template="consent", round_minutes=60, anonymous=False
    )
    d = change.deliberation.id
    await act(d, "set_reminders", CAI, True)
    await act(d, "join", OBS, Role.OBSERVER)
    await act(d, "join", BEN, Role.PARTICIPANT, ai_opt_out=True)
    await act(d, "set_ai_opt_out", BEN, False)
    await act(d, "join", BEN, Role.OBSERVER)
    await act(d, "join", BEN, Role.PARTICIPANT)
    await act(d, "request_ai", MOD)
    p1 = (await act(d, "state_position", ADA, "Support", "Fridays suit most of us.")).added()[0]
    await act(d, "state_position", ADA, "Support", "Fridays suit most of us, and the venue is free.")
    p2 = (await act(d, "state_position", BEN, "Oppose", "Parents cannot come on Fridays.")).added()[0]
    await act(d, "state_position", CAI, "Unsure", "It depends on the time.")
    await act(
        d,
        "ai_position",
        Actor.ai("Sage"),
        "Mixed",
        "Both sides have a point.",
        meta={
            "model": "smollm2-135m",
            "endpoint_host": "embedded",
            "prompt_sha256": "ab" * 32,
            "given_ids": [p1, p2],
            "left_out": 0,
            "latency_ms": 12.5,
            "prompt_tokens": 100,
            "completion_tokens": 20,
        },
    )
    await act(d, "vote", BEN, p1, Vote.DISAGREE)
    await act(d, "vote", BEN, p1, Vote.PASS)
    await act(d, "extend", MOD, 30)
    clock.now += timedelta(minutes=15)
    await act(d, "advance", MOD)
    s1 = (await act(d, "state_statement", CAI, "Evenings are better than mornings")).added()[0]
    await act(d, "vote", ADA, s1, Vote.AGREE)
    await act(d, "moderate", MOD, s1, True)
    await act(d, "moderate", MOD, s1, False)
    o1 = (await act(d, "object", BEN, "Fridays exclude parents", "School pickup", target=p1)).added()[0]
    await act(d, "respond", ADA, "We could start later.", o1)
    o2 = (await act(d, "object", CAI, "Venue closes early", "Friday hours")).added()[0]
    await act(d, "move_objection", MOD, o2, ObjectionStatus.ADDRESSED)
    await act(d, "move_objection", CAI, o2, ObjectionStatus.OPEN)
    await act(d, "move_objection", CAI, o2, ObjectionStatus.WITHDRAWN)
    clock.now += timedelta(minutes=15)
    await act(d, "advance", MOD)
    draft = (
        await act(
            d,
            "draft",
            Actor.ai("Sage"),
            "Meet on Fridays at 19:00.",
            answers=[o1],
            meta={"model": "smollm2-135m", "endpoint_host": "embedded"},
        )
    ).added()[0]
    await act(d, "critique", ADA, "19:00 is late for some.", draft)
    await act(d, "note_ai_unavailable", "Sage", "timed out")
    await act(d, "adopt", MOD, draft, amended_text="Meet on Fridays at 18:30.")
    clock.now += timedelta(minutes=15)
    await act(d, "advance", MOD)
    await act(d, "give_consent", ADA, ConsentChoice.ENDORSE)
    await act(d, "give_consent", BEN, ConsentChoice.BLOCK, reason="Parents still cannot come.")
    await act(d, "give_consent", BEN, ConsentChoice.STAND_ASIDE)
    await act(d, "give_consent", CAI, ConsentChoice.RESERVATIONS, reason="Start on time.")
    clock.now += timedelta(minutes=15)
    await act(d, "advance", MOD)

    # A quick one, proposed by hand and cancelled; and one left open, anonymous, in its positions round.
    q = (await rt.start(GUILD, 10, MOD, "Rename the channel?", template="quick", round_minutes=60)).deliberation.id
    await act(q, "propose", MOD, "Call it #meetups.")
    await act(q, "cancel", MOD, "Decided elsewhere.")
    o = (await rt.start(GUILD, 11, MOD, "Pizza or sushi?", template="advice", anonymous=True)).deliberation.id
    await act(o, "state_position", ADA, "Pizza", "Everyone eats pizza.")
    await rt.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
