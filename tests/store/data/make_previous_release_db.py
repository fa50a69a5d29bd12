"""How previous_release.sqlite3 was made: run with a checkout of the release before record format 2.

    git archive 23504b0 bot | tar -x -C /tmp/old && cd /tmp/old && \
        python /path/to/make_previous_release_db.py /path/to/tests/store/data/previous_release.sqlite3

Two guilds' worth of sealed records as that release wrote them (record format 1): an anonymous
consent deliberation with an AI participant, hostile member text and a moderator whose name is
not "Moderator", and a plain quick one; plus one deliberation still open.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.engine import Actor, ConsentChoice, ObjectionStatus, Vote
from bot.service import Roundtable

GUILD, OTHER = 1111, 2222
MONA = Actor.human(700000000000000001, "Mona Realname")
ADA, BEN, CAI = Actor.human(700000000000000002, "Ada"), Actor.human(700000000000000003, "Ben"), Actor.human(4, "Cai")
SAGE = Actor.ai("Sage")
FORGED = "x\n\n# Decision record #1: Approved\n\n- Outcome: **Consensus**."
META = {
    "model": "smollm2-135m",
    "endpoint_host": "embedded",
    "prompt_sha256": "ab" * 32,
    "given_ids": [1, 2],
    "left_out": 0,
    "latency_ms": 640.0,
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


async def main(path: Path) -> None:
    settings = Settings.load(
        read_env=False,
        database={"path": path},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": [{"name": "Sage", "model": "smollm2-135m"}]},
    )
    clock = Clock()
    rt = await Roundtable.open(settings, clock)

    async def act(g: int, d: int, decide: Any) -> Any:
        return await rt.act(g, d, decide)

    d = (
        await rt.start(GUILD, 5, MONA, "Fridays?\u2028# Forged title", template="consent", anonymous=True)
    ).deliberation
    i = d.id
    a = (await act(GUILD, i, lambda d, at: d.state_position(ADA, "Yes", "Fridays *free* the weekend.", at))).events[-1]
    b = (
        await act(GUILD, i, lambda d, at: d.state_position(BEN, "No\n- forged", "I work late\u2029# on Fridays.", at))
    ).events[-1]
    await act(GUILD, i, lambda d, at: d.request_ai(MONA, at))
    await act(
        GUILD, i, lambda d, at: d.ai_position(SAGE, "Unsure", "Consider | Thursdays |\n|---|", at, meta=dict(META))
    )
    clock.advance(11)
    await act(GUILD, i, lambda d, at: d.advance(MONA, at))
    s = (await act(GUILD, i, lambda d, at: d.state_statement(ADA, "Evenings suit us.", at))).events[-1]
    await act(GUILD, i, lambda d, at: d.respond(BEN, "> Not on shifts.", s.payload["id"], at))
    await act(GUILD, i, lambda d, at: d.vote(ADA, b.payload["id"], Vote.DISAGREE, at))
    await act(GUILD, i, lambda d, at: d.vote(BEN, a.payload["id"], Vote.AGREE, at))
    await act(GUILD, i, lambda d, at: d.object(BEN, FORGED, FORGED, at))
    o = (await act(GUILD, i, lambda d, at: d.object(ADA, "Too early", "Start at seven.", at))).events[-1]
    await act(GUILD, i, lambda d, at: d.move_objection(ADA, o.payload["id"], ObjectionStatus.WITHDRAWN, at))
    clock.advance(11)
    await act(GUILD, i, lambda d, at: d.advance(MONA, at))
    draft = (await act(GUILD, i, lambda d, at: d.draft(SAGE, "Meet on Fridays.", at, meta=dict(META)))).events[-1]
    await act(GUILD, i, lambda d, at: d.critique(BEN, "Not for shifts.", draft.payload["id"], at))
    await act(GUILD, i, lambda d, at: d.adopt(MONA, draft.payload["id"], at, amended_text="Meet on Fridays, recorded."))
    clock.advance(11)
    await act(GUILD, i, lambda d, at: d.advance(MONA, at))
    await act(GUILD, i, lambda d, at: d.give_consent(ADA, ConsentChoice.ENDORSE, at))
    await act(GUILD, i, lambda d, at: d.give_consent(BEN, ConsentChoice.BLOCK, at, reason="Shift\x85# work"))
    clock.advance(11)
    await act(GUILD, i, lambda d, at: d.advance(MONA, at))

    q = (await rt.start(OTHER, 6, CAI, "A new projector?", template="quick")).deliberation.id
    await act(OTHER, q, lambda d, at: d.state_position(ADA, "Yes", "Ours is dim.", at))
    await act(OTHER, q, lambda d, at: d.state_position(BEN, "Yes", "Agreed.", at))
    clock.advance(11)
    await act(OTHER, q, lambda d, at: d.advance(CAI, at))
    await act(OTHER, q, lambda d, at: d.give_consent(ADA, ConsentChoice.ENDORSE, at))
    await act(OTHER, q, lambda d, at: d.give_consent(BEN, ConsentChoice.ENDORSE, at))
    clock.advance(11)
    await act(OTHER, q, lambda d, at: d.advance(CAI, at))

    await rt.start(GUILD, 5, MONA, "Still open?", template="quick")
    assert await rt.store.verify() == []
    await rt.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.close()


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.unlink(missing_ok=True)
    asyncio.run(main(target))
