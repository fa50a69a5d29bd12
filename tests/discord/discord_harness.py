"""Shared test types for the Discord tests (import as `from discord_harness import ...`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import simcord


class SimClock:
    """The simulator's clock for a bot that is built before its `Env` exists."""

    def __init__(self) -> None:
        self.env: simcord.Env | None = None

    def __call__(self) -> datetime:
        if self.env is None:
            raise RuntimeError("the simulated clock was read before the Env was attached")
        return self.env.now()


@dataclass
class Table:
    """A guild set up the way the tests need it."""

    guild: simcord.GuildHandle
    deliberations: simcord.ChannelHandle
    archive: simcord.ChannelHandle
    moderators: simcord.RoleHandle
    admin: simcord.MemberActor  # Manage Server, no moderator role
    moderator: simcord.MemberActor  # the Moderators role only
    ada: simcord.MemberActor
    grace: simcord.MemberActor
    linus: simcord.MemberActor


@dataclass
class ErrorLedger:
    """How many of the bot's captured errors the test has taken (asserted on)."""

    taken: int = 0
