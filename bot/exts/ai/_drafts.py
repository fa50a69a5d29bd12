"""Drafts in Discord: choosing one by number, critiquing one, asking the AI participants to revise one.

`/summary critique` opens the same form as a draft's Critique button (`bot.exts.contributions`);
`/summary revise` checks the engine's rules before anything starts (refusing changes nothing) and
then runs the ordinary AI draft turn, given the draft to revise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.engine.errors import RoundtableError
from bot.exts._shared.lookup import guild_id_of, moderator_of, resolve_deliberation
from bot.exts.contributions._views import open_critique_modal

if TYPE_CHECKING:
    from bot.app import RoundtableBot


async def draft_choices(
    bot: RoundtableBot, interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[int]]:
    """The deliberation's drafts, newest first, for a `draft` option's autocomplete."""
    try:
        given = getattr(interaction.namespace, "deliberation", None)
        deliberation_id = await resolve_deliberation(bot, interaction, given)
        d = await bot.roundtable.get(guild_id_of(interaction), deliberation_id)
    except RoundtableError:
        return []
    choices = []
    for c in reversed(d.drafts()):
        who = d.display_name(c.author)
        name = f"#{c.id} by {who}: {' '.join(c.text.split())}"
        if current.strip() and current.strip().lstrip("#") not in name:
            continue
        choices.append(app_commands.Choice(name=name[:97] + "…" if len(name) > 100 else name, value=c.id))
    return choices[:25]


async def open_critique_form(
    bot: RoundtableBot, interaction: discord.Interaction[Any], draft: int, deliberation: int | None
) -> None:
    """`/summary critique`: the draft's Critique form, refused up front as its button would be."""
    await open_critique_modal(interaction, await resolve_deliberation(bot, interaction, deliberation), draft)


@dataclass(frozen=True)
class RevisionAsked:
    """A revision the engine allows: of which draft, in which deliberation, by whom, answering how many critiques."""

    deliberation_id: int
    draft: int
    names: tuple[str, ...]
    critiques: int

    @property
    def reply(self) -> str:
        plural = "s" if self.critiques != 1 else ""
        return (
            f"Asked {', '.join(self.names)} to revise draft #{self.draft} to answer its {self.critiques} critique"
            f"{plural} from members. Revisions appear in the deliberation, labelled, as replies to the draft; "
            "put one to the group with /summary adopt."
        )


async def revision_asked(
    bot: RoundtableBot, interaction: discord.Interaction[Any], draft: int, deliberation: int | None
) -> RevisionAsked:
    """The engine's rules for `/summary revise` (the moderator, the round, an AI seated, members'
    critiques not yet answered); a refusal raises before anything starts."""
    deliberation_id = await resolve_deliberation(bot, interaction, deliberation)
    d = await bot.roundtable.get(guild_id_of(interaction), deliberation_id)
    names = d.check_revision(await moderator_of(bot, interaction), draft)
    return RevisionAsked(deliberation_id, draft, names, len(d.critiques_of(draft, members_only=True)))


__all__ = ["RevisionAsked", "draft_choices", "open_critique_form", "revision_asked"]
