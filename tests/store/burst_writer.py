"""A writer process for the kill test: waves of concurrent positions, each acknowledged on stdout.

`python -m tests.store.burst_writer DB DELIBERATIONS` opens DB, starts DELIBERATIONS deliberations,
then, wave after wave until killed, has a new member state a position in every one of them at
once (so their writes share transactions) and prints `ack <deliberation> <member>` for each action
the service returned, that is, each one it would have answered as stored.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.config import Settings
from bot.engine import Actor
from bot.service import Roundtable
from tests.conftest import ManualClock

GUILD = 1001
MOD = Actor.human(10, "Mona")


async def main(db: Path, count: int) -> None:
    settings = Settings.load(db.parent / "none.toml", read_env=False, database={"path": db}, ai={"enabled": False})
    rt = await Roundtable.open(settings, ManualClock())
    ids = [(await rt.start(GUILD, 5, MOD, f"Question {i}?")).deliberation.id for i in range(count)]
    print("ready", flush=True)
    member = 100

    async def position(deliberation_id: int, who: int) -> None:
        actor = Actor.human(who, f"Member {who}")
        await rt.act(GUILD, deliberation_id, lambda d, at: d.state_position(actor, "Yes", f"Reason {who}", at))
        sys.stdout.write(f"ack {deliberation_id} {who}\n")
        sys.stdout.flush()

    while True:
        wave = []
        for deliberation_id in ids:
            member += 1
            wave.append(position(deliberation_id, member))
        await asyncio.gather(*wave)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
