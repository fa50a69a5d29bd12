from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.errors import InvalidValue, RoundtableError
from bot.engine.model import Actor, Role
from bot.exts._shared.changes import publish
from bot.exts._shared.checks import moderator_only
from bot.exts._shared.lookup import actor_of, guild_id_of, resolve_deliberation
from bot.exts._shared.messages import NO_MENTIONS, safe_respond, safe_send
from bot.exts._shared.posting import deliberation_channel
from bot.exts.decisions._embeds import record_embed, record_files
from bot.exts.deliberation import _embeds
from bot.exts.deliberation._views import agenda_view, consent_view
from bot.service import Change

if TYPE_CHECKING:
    from bot.app import RoundtableBot
    from bot.engine.deliberation import Deliberation

log = logging.getLogger(__name__)

AGENDA_REF = "agenda"
DELIBERATION_HELP = "Which deliberation (by number); defaults to the one in this thread or channel"
_ROUND_EVENTS = frozenset({"round.opened", "round.closed", "round.extended", "deliberation.sealed",
                           "deliberation.cancelled"})


@app_commands.guild_only()
class Deliberations(commands.GroupCog, group_name="deliberation", group_description="Run a structured deliberation"):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        super().__init__()

    # ------------------------------------------------------------------ start

    async def template_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        names = self.bot.settings.templates_available()
        return [
            app_commands.Choice(name=f"{name}: {' → '.join(k.value for k in kinds)}"[:100], value=name)
            for name, kinds in names.items()
            if current.lower() in name.lower()
        ][:25]

    @app_commands.command(name="start", description="Open a deliberation on a question (moderators)")
    @app_commands.describe(
        question="The question or motion to deliberate",
        template="The process: consent, quick, advice, or a custom one from the configuration",
        ai="Seat the configured AI participants (default: yes, if the server allows AI)",
        anonymous="Show members as aliases (Participant 1, 2, …)",
        round_minutes="How long each round stays open, in minutes",
    )
    @app_commands.autocomplete(template=template_autocomplete)
    @moderator_only()
    async def start(
        self,
        interaction: discord.Interaction[Any],
        question: str,
        template: str | None = None,
        ai: bool | None = None,
        anonymous: bool | None = None,
        round_minutes: int | None = None,
    ) -> None:
        guild_id = guild_id_of(interaction)
        channel = interaction.channel
        in_channel = self.bot.settings.discord.run_in_channel
        if in_channel:
            if not isinstance(channel, (discord.TextChannel, discord.Thread)):
                raise InvalidValue("Start a deliberation in a text channel or thread.")
        elif not isinstance(channel, discord.TextChannel):
            raise InvalidValue("Start a deliberation in a text channel: it opens its own thread there.")
        # Opening a thread and posting the agenda can take longer than Discord's 3 seconds.
        await interaction.response.defer(ephemeral=True, thinking=True)
        change = await self.bot.roundtable.start(
            guild_id,
            channel.id,
            actor_of(interaction),
            question,
            template=template,
            anonymous=anonymous,
            ai=ai,
            round_minutes=round_minutes,
        )
        d = change.deliberation
        where: discord.TextChannel | discord.Thread
        if in_channel:
            where, thread_id = channel, None
        else:
            assert isinstance(channel, discord.TextChannel)
            where = await channel.create_thread(
                name=_embeds.thread_name(d.question),
                type=discord.ChannelType.public_thread,
                reason=f"Roundtable deliberation #{d.id}",
            )
            thread_id = where.id
        await self.bot.roundtable.store.set_location(guild_id, d.id, channel_id=channel.id, thread_id=thread_id)
        agenda = await safe_send(where, embed=_embeds.agenda_embed(d), view=agenda_view(d))
        await self.bot.roundtable.store.save_post(guild_id, d.id, AGENDA_REF, where.id, agenda.id)
        log.info("Deliberation %s started in guild %s (channel %s, thread %s)", d.id, guild_id, channel.id, thread_id)
        place = "here" if in_channel else where.mention
        await safe_respond(interaction, f"Deliberation #{d.id} is open {'in ' if not in_channel else ''}{place}.",
                           ephemeral=True)
        publish(self.bot, guild_id, change)

    # ------------------------------------------------------------------ reading

    @app_commands.command(name="status", description="Where a deliberation stands (only you see it)")
    @app_commands.describe(deliberation=DELIBERATION_HELP)
    async def status(self, interaction: discord.Interaction[Any], deliberation: int | None = None) -> None:
        guild_id = guild_id_of(interaction)
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        d = await self.bot.roundtable.get(guild_id, deliberation_id)
        viewer = d.participant(actor_of(interaction).key)
        # Who is behind an alias: the deliberation's moderator only, only if its settings say so.
        reveal = (
            d.settings.anonymous
            and d.settings.reveal_aliases_to_moderator
            and viewer is not None
            and viewer.role is Role.MODERATOR
        )
        await safe_respond(interaction, embed=_embeds.status_embed(d, reveal=reveal), ephemeral=True)

    # ------------------------------------------------------------------ moderating

    async def _act(
        self, interaction: discord.Interaction[Any], deliberation: int | None, decide: Any, reply: str
    ) -> Change:
        guild_id = guild_id_of(interaction)
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        change = await self.bot.roundtable.act(guild_id, deliberation_id, decide)
        await safe_respond(interaction, reply.format(d=change.deliberation), ephemeral=True)
        publish(self.bot, guild_id, change)
        return change

    @app_commands.command(name="advance", description="Close the current round and open the next (moderator)")
    @app_commands.describe(
        force="Close before the round's minimum duration (the record says it was forced)",
        deliberation=DELIBERATION_HELP,
    )
    async def advance(
        self, interaction: discord.Interaction[Any], force: bool = False, deliberation: int | None = None
    ) -> None:
        actor = actor_of(interaction)
        guild_id = guild_id_of(interaction)
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        change = await self.bot.roundtable.act(
            guild_id, deliberation_id, lambda d, at: d.advance(actor, at, force=force)
        )
        d = change.deliberation
        if change.has("deliberation.sealed"):
            reply = "The last round is closed and the decision record is sealed."
        else:
            reply = f"Round {d.current} closed; the {d.round.kind.value} round is open."
        await safe_respond(interaction, reply, ephemeral=True)
        publish(self.bot, guild_id, change)

    @app_commands.command(name="extend", description="Give the current round more time (moderator)")
    @app_commands.describe(minutes="Minutes to add to the deadline", deliberation=DELIBERATION_HELP)
    async def extend(
        self, interaction: discord.Interaction[Any], minutes: int, deliberation: int | None = None
    ) -> None:
        actor = actor_of(interaction)
        await self._act(
            interaction, deliberation, lambda d, at: d.extend(actor, minutes, at),
            "Extended: the {d.round.kind.value} round now closes at {d.round.deadline:%Y-%m-%d %H:%M} UTC.",
        )

    @app_commands.command(name="cancel", description="Cancel a deliberation, with a reason (moderator)")
    @app_commands.describe(reason="Why it is cancelled (shown in the thread)", deliberation=DELIBERATION_HELP)
    async def cancel(self, interaction: discord.Interaction[Any], reason: str, deliberation: int | None = None) -> None:
        actor = actor_of(interaction)
        await self._act(
            interaction, deliberation, lambda d, at: d.cancel(actor, reason, at), "Deliberation #{d.id} is cancelled."
        )

    # ------------------------------------------------------------------ members

    @app_commands.command(name="join", description="Take part as a participant, or watch as an observer")
    @app_commands.describe(
        as_="Participant (states positions, votes, consents) or observer (reads only)",
        ai_optout="Keep your words out of what AI participants are sent",
        deliberation=DELIBERATION_HELP,
    )
    @app_commands.rename(as_="as", ai_optout="ai-optout")
    @app_commands.choices(as_=[app_commands.Choice(name="participant", value="participant"),
                               app_commands.Choice(name="observer", value="observer")])
    async def join(
        self,
        interaction: discord.Interaction[Any],
        as_: app_commands.Choice[str],
        ai_optout: bool = False,
        deliberation: int | None = None,
    ) -> None:
        actor = actor_of(interaction)
        role = Role(as_.value)
        await self._act(
            interaction, deliberation, lambda d, at: d.join(actor, role, at, ai_opt_out=ai_optout),
            f"You take part in deliberation #{{d.id}} as {role.value}"
            + (", and your words are not sent to AI participants." if ai_optout else "."),
        )

    @app_commands.command(name="ai-optout", description="Keep your words out of what AI participants are sent, or not")
    @app_commands.describe(opt_out="True: leave my words out of AI prompts; False: include them",
                           deliberation=DELIBERATION_HELP)
    @app_commands.rename(opt_out="opt-out")
    async def ai_optout(
        self, interaction: discord.Interaction[Any], opt_out: bool, deliberation: int | None = None
    ) -> None:
        actor = actor_of(interaction)
        reply = (
            "Opted out: AI participants are not sent your words in deliberation #{d.id}, and their prompts say so."
            if opt_out
            else "Opted in: AI participants may read your words in deliberation #{d.id}."
        )
        await self._act(interaction, deliberation, lambda d, at: d.set_ai_opt_out(actor, opt_out, at), reply)

    # ------------------------------------------------------------------ announcements

    @commands.Cog.listener()
    async def on_roundtable_change(self, guild_id: int, change: Change) -> None:
        """Announce round openings and closings, extensions, cancellation and the sealed record."""
        if not any(e.kind in _ROUND_EVENTS for e in change.events):
            return
        d = change.deliberation
        try:
            channel = await deliberation_channel(self.bot, guild_id, d.id)
        except (LookupError, RoundtableError, discord.HTTPException) as exc:
            log.warning("Deliberation %s: nowhere to announce (%s)", d.id, type(exc).__name__)
            return
        opening = change.has("deliberation.opened")
        for e in change.events:
            if e.kind == "round.closed":
                await safe_send(channel, embed=_embeds.round_closed_embed(d, e.payload["round"]))
            elif e.kind == "round.opened" and not opening:  # the agenda announces the first round
                await self._announce_round(channel, d, e.payload["round"])
            elif e.kind == "round.extended":
                await safe_send(channel, embed=_embeds.extended_embed(d))
            elif e.kind == "deliberation.cancelled":
                await safe_send(channel, embed=_embeds.cancelled_embed(d))
            elif e.kind == "deliberation.sealed" and change.record is not None:
                await self._post_record(guild_id, channel, change)
        await self._refresh_agenda(guild_id, d)

    async def _announce_round(self, channel: discord.abc.Messageable, d: Deliberation, index: int) -> None:
        embed = _embeds.round_opened_embed(d, index)
        view = consent_view(d) if d.rounds[index].kind.value == "consent" else None
        reminded = [Actor.from_key(p.key).member_id for p in d.reminded()]
        ids = [i for i in reminded if i is not None]
        kwargs: dict[str, Any] = {"embed": embed}
        if view is not None:
            kwargs["view"] = view
        if not ids:
            await safe_send(channel, **kwargs)
            return
        # The one deliberate mention: exactly the members who asked for it, in text the bot wrote.
        mentions = " ".join(f"<@{i}>" for i in ids)
        allowed = discord.AllowedMentions(
            everyone=False, roles=False, replied_user=False, users=[discord.Object(id=i) for i in ids]
        )
        await channel.send(f"Reminder: a new round is open. {mentions}", allowed_mentions=allowed, **kwargs)

    async def _post_record(self, guild_id: int, channel: discord.abc.Messageable, change: Change) -> None:
        stored = change.record
        assert stored is not None
        await safe_send(channel, embed=record_embed(stored), files=record_files(stored))
        settings = await self.bot.roundtable.guild_settings(guild_id)
        if settings.archive_channel_id is None:
            return
        archive = self.bot.get_channel(settings.archive_channel_id)
        if not isinstance(archive, discord.abc.Messageable):
            log.warning("Guild %s: archive channel %s not found", guild_id, settings.archive_channel_id)
            return
        try:
            await safe_send(archive, embed=record_embed(stored), files=record_files(stored))
        except discord.HTTPException as exc:
            log.warning("Guild %s: could not post record %s to the archive: %s", guild_id, stored.deliberation_id, exc)

    async def _refresh_agenda(self, guild_id: int, d: Deliberation) -> None:
        where = await self.bot.roundtable.store.post(guild_id, d.id, AGENDA_REF)
        if where is None:
            return
        channel = self.bot.get_channel(where[0])
        if not isinstance(channel, (discord.TextChannel, discord.Thread)):
            return
        try:
            await channel.get_partial_message(where[1]).edit(
                embed=_embeds.agenda_embed(d), view=agenda_view(d), allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            log.info("Deliberation %s: agenda not refreshed (%s)", d.id, exc)
