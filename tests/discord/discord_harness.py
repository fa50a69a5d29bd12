"""Shared test types for the Discord tests (import as `from discord_harness import ...`)."""

from __future__ import annotations

from dataclasses import dataclass

import simcord


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
