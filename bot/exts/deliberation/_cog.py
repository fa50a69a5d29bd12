from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.errors import InvalidValue
from bot.engine.model import Actor, Role
from bot.exts._shared.checks import moderator_only
from bot.exts._shared.lookup import actor_of, guild_id_of, moderator_of, resolve_deliberation
from bot.exts._shared.messages import NO_MENTIONS, answer_stored, safe_respond, safe_send
from bot.exts._shared.posting import deliberation_channel, refresh_or_retry
from bot.exts.decisions._embeds import record_embed, record_files
from bot.exts.deliberation import _embeds
from bot.exts.deliberation._views import agenda_view, close_round, round_view
from bot.service import Change

if TYPE_CHECKING:
    from bot.app import RoundtableBot
    from bot.engine.deliberation import Deliberation

log = logging.getLogger(__name__)

AGENDA_REF = "agenda"
DELIBERATION_HELP = "Which deliberation (by number); defaults to the one in this thread or channel"


def _invited(invite: discord.Role | discord.Member | None) -> list[Actor]:
    """The members an invitation names: a role's members (as the bot sees them now), or one member."""
    if invite is None:
        return []
    members = invite.members if isinstance(invite, discord.Role) else [invite]
    return [Actor.human(m.id, m.display_name) for m in members if not m.bot]


@app_commands.guild_only()
class Deliberations(commands.GroupCog, group_name="deliberation", group_description="Run a structured deliberation"):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        super().__init__()
        self._register_posts()

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
        invite="A role or a member it waits for: AI participants speak after them (default: at least the quorum)",
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
        invite: discord.Role | discord.Member | None = None,
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
            invited=_invited(invite),
        )
        d = change.deliberation
        log.info("Deliberation %s stored in guild %s (channel %s)", d.id, guild_id, channel.id)
        if await self.bot.courier.deliver(guild_id, d.id):
            where = await self.bot.roundtable.channel_of(guild_id, d.id)
            reply = (
                f"Deliberation #{d.id} is open here." if in_channel else f"Deliberation #{d.id} is open in <#{where}>."
            )
        else:
            reply = (
                f"Deliberation #{d.id} is stored and open, but Discord did not open its "
                f"{'agenda' if in_channel else 'thread'} just now; it will appear shortly."
            )
        await answer_stored(interaction, reply, ephemeral=True)  # published (its deadline kept) even if this fails
        self.bot.publish(guild_id, change)

    async def _open_agenda(self, guild_id: int, d: Deliberation, _: str) -> discord.Message:
        """The outbox's `agenda`: the deliberation's thread (made once, kept on a retry) and its agenda."""
        channel_id, thread_id = await self.bot.roundtable.location(guild_id, d.id)
        where = self.bot.get_channel(thread_id or channel_id or 0)
        if where is None:
            where = await self.bot.fetch_channel(thread_id or channel_id or 0)
        if thread_id is None and not self.bot.settings.discord.run_in_channel:
            assert isinstance(where, discord.TextChannel)
            where = await where.create_thread(
                name=_embeds.thread_name(d.question),
                type=discord.ChannelType.public_thread,
                reason=f"Roundtable deliberation #{d.id}",
            )
            await self.bot.roundtable.place(guild_id, d.id, channel_id=where.parent_id or 0, thread_id=where.id)
        assert isinstance(where, discord.TextChannel | discord.Thread)
        return await safe_send(where, embed=_embeds.agenda_embed(d), view=agenda_view(d))

    # ------------------------------------------------------------------ reading

    @app_commands.command(name="status", description="Where a deliberation stands (only you see it)")
    @app_commands.describe(deliberation=DELIBERATION_HELP)
    async def status(self, interaction: discord.Interaction[Any], deliberation: int | None = None) -> None:
        guild_id = guild_id_of(interaction)
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        d = await self.bot.roundtable.get(guild_id, deliberation_id)
        reveal = d.reveals_to(actor_of(interaction).key)
        await safe_respond(
            interaction, embed=_embeds.status_embed(d, reveal=reveal, now=self.bot.roundtable.now()), ephemeral=True
        )

    # ------------------------------------------------------------------ moderating

    async def _act(
        self, interaction: discord.Interaction[Any], deliberation: int | None, decide: Any, reply: str
    ) -> Change:
        guild_id = guild_id_of(interaction)
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        change = await self.bot.roundtable.act(guild_id, deliberation_id, decide)
        await answer_stored(interaction, reply.format(d=change.deliberation), ephemeral=True)
        self.bot.publish(guild_id, change)
        return change

    @app_commands.command(name="advance", description="Close the current round and open the next (moderator)")
    @app_commands.describe(
        force="Close before the round's minimum duration (the record says it was forced)",
        deliberation=DELIBERATION_HELP,
    )
    async def advance(
        self, interaction: discord.Interaction[Any], force: bool = False, deliberation: int | None = None
    ) -> None:
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        await close_round(interaction, deliberation_id, force=force)

    @app_commands.command(name="extend", description="Give the current round more time (moderator)")
    @app_commands.describe(minutes="Minutes to add to the deadline", deliberation=DELIBERATION_HELP)
    async def extend(
        self, interaction: discord.Interaction[Any], minutes: int, deliberation: int | None = None
    ) -> None:
        actor = await moderator_of(self.bot, interaction)
        await self._act(
            interaction,
            deliberation,
            lambda d, at: d.extend(actor, minutes, at),
            "Extended: the {d.round.kind.value} round now closes at {d.round.deadline:%Y-%m-%d %H:%M} UTC.",
        )

    @app_commands.command(name="cancel", description="Cancel a deliberation, with a reason (moderator)")
    @app_commands.describe(reason="Why it is cancelled (shown in the thread)", deliberation=DELIBERATION_HELP)
    async def cancel(self, interaction: discord.Interaction[Any], reason: str, deliberation: int | None = None) -> None:
        actor = await moderator_of(self.bot, interaction)
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
    @app_commands.choices(
        as_=[
            app_commands.Choice(name="participant", value="participant"),
            app_commands.Choice(name="observer", value="observer"),
        ]
    )
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
            interaction,
            deliberation,
            lambda d, at: d.join(actor, role, at, ai_opt_out=ai_optout),
            f"You take part in deliberation #{{d.id}} as {role.value}"
            + (", and your words are not sent to AI participants." if ai_optout else "."),
        )

    @app_commands.command(name="ai-optout", description="Keep your words out of what AI participants are sent, or not")
    @app_commands.describe(
        opt_out="True: leave my words out of AI prompts; False: include them", deliberation=DELIBERATION_HELP
    )
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
        """Keep the agenda and the consent count current (announcements are owed in the outbox)."""
        d = change.deliberation
        if change.milestones():
            await refresh_or_retry(
                self.bot, guild_id, d.id, ("agenda", guild_id, d.id), lambda: self._refresh_agenda(guild_id, d.id)
            )
        if change.consent is not None and d.is_open:
            index = d.current
            # Tried again later if Discord fails it: the count must not stay behind at the end of a burst.
            await refresh_or_retry(
                self.bot,
                guild_id,
                d.id,
                ("round", guild_id, d.id, index),
                lambda: self._refresh_round(guild_id, d.id, index),
            )

    async def _refresh_round(self, guild_id: int, deliberation_id: int, index: int) -> None:
        """Edit a round's opening message to show where it stands now ("3 of 5 members answered")."""
        d = await self.bot.roundtable.get(guild_id, deliberation_id)
        where = await self.bot.roundtable.post(guild_id, d.id, f"round-opened:{index}")
        channel = self.bot.get_channel(where[0]) if where else None
        if where is None or not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        try:
            await channel.get_partial_message(where[1]).edit(
                embed=_embeds.round_opened_embed(d, index), view=round_view(d, index), allowed_mentions=NO_MENTIONS
            )
        except (discord.NotFound, discord.Forbidden) as exc:
            # Gone, or the bot may no longer edit it: nothing to retry. (Other failures are retried.)
            log.info("Deliberation %s: round %s not refreshed (%s)", d.id, index, exc.status)

    # ------------------------------------------------------------------ the posts it owes (outbox)

    def _register_posts(self) -> None:
        courier = self.bot.courier
        courier.register(AGENDA_REF, self._open_agenda)
        courier.register("round-opened", self._post_round_opened)
        courier.register("round-closed", self._post_round_closed)
        courier.register("extended", self._post_extended)
        courier.register("cancelled", self._post_cancelled)
        courier.register("record", self._post_record)
        courier.register("record-archive", self._post_record_in_archive)

    async def _post_round_opened(self, guild_id: int, d: Deliberation, index: str) -> discord.Message:
        channel = await deliberation_channel(self.bot, guild_id, d.id)
        return await self._announce_round(channel, d, int(index))

    async def _post_round_closed(self, guild_id: int, d: Deliberation, index: str) -> discord.Message:
        channel = await deliberation_channel(self.bot, guild_id, d.id)
        return await safe_send(channel, embed=_embeds.round_closed_embed(d, int(index)))

    async def _post_extended(self, guild_id: int, d: Deliberation, _: str) -> discord.Message:
        channel = await deliberation_channel(self.bot, guild_id, d.id)
        return await safe_send(channel, embed=_embeds.extended_embed(d))

    async def _post_cancelled(self, guild_id: int, d: Deliberation, _: str) -> discord.Message:
        channel = await deliberation_channel(self.bot, guild_id, d.id)
        return await safe_send(channel, embed=_embeds.cancelled_embed(d))

    async def _announce_round(self, channel: discord.abc.Messageable, d: Deliberation, index: int) -> discord.Message:
        embed = _embeds.round_opened_embed(d, index)
        view = round_view(d, index)
        reminded = [Actor.from_key(p.key).member_id for p in d.reminded()]
        ids = [i for i in reminded if i is not None]
        kwargs: dict[str, Any] = {"embed": embed}
        if view is not None:
            kwargs["view"] = view
        if not ids or d.settings.anonymous:
            message = await safe_send(channel, **kwargs)
            # A public mention would tie a member to the deliberation's aliases: remind privately.
            for member_id in ids:
                await self._remind_privately(member_id, d, index)
            return message
        # The one deliberate mention: exactly the members who asked for it, in text the bot wrote.
        mentions = " ".join(f"<@{i}>" for i in ids)
        allowed = discord.AllowedMentions(
            everyone=False, roles=False, replied_user=False, users=[discord.Object(id=i) for i in ids]
        )
        return await channel.send(f"Reminder: a new round is open. {mentions}", allowed_mentions=allowed, **kwargs)

    async def _remind_privately(self, member_id: int, d: Deliberation, index: int) -> None:
        try:
            user = self.bot.get_user(member_id) or await self.bot.fetch_user(member_id)
            await safe_send(
                user,
                f"Reminder: round {index + 1} ({d.rounds[index].kind.value}) of deliberation #{d.id} is open: "
                f"{_embeds.thread_name(d.question)}",
            )
        except discord.HTTPException as exc:  # DMs closed, or the member left
            log.info("Deliberation %s: reminder by direct message not delivered (%s)", d.id, exc.status)

    async def _post_record(self, guild_id: int, d: Deliberation, _: str) -> discord.Message:
        """The sealed record in the deliberation's thread."""
        stored = await self.bot.roundtable.record(guild_id, d.id)
        channel = await deliberation_channel(self.bot, guild_id, d.id)
        # The anchor line puts the sealed chain head where no database edit reaches: anyone can
        # collect it and run `python -m bot verify --anchors FILE` against the database.
        anchor = f"Sealed. Anchor: `{stored.anchor}`"
        return await safe_send(channel, anchor, embed=record_embed(stored), files=record_files(stored))

    async def _post_record_in_archive(self, guild_id: int, d: Deliberation, _: str) -> discord.Message | None:
        """The sealed record in the archive channel, if the guild has one."""
        settings = await self.bot.roundtable.guild_settings(guild_id)
        if settings.archive_channel_id is None:
            return None
        archive = self.bot.get_channel(settings.archive_channel_id) or await self.bot.fetch_channel(
            settings.archive_channel_id
        )
        assert isinstance(archive, discord.abc.Messageable)
        stored = await self.bot.roundtable.record(guild_id, d.id)
        return await safe_send(archive, embed=record_embed(stored), files=record_files(stored))

    async def _refresh_agenda(self, guild_id: int, deliberation_id: int) -> None:
        d = await self.bot.roundtable.get(guild_id, deliberation_id)  # as stored now (also when retried)
        where = await self.bot.roundtable.post(guild_id, d.id, AGENDA_REF)
        if where is None:
            return
        channel = self.bot.get_channel(where[0])
        if not isinstance(channel, (discord.TextChannel, discord.Thread)):
            return
        try:
            await channel.get_partial_message(where[1]).edit(
                embed=_embeds.agenda_embed(d), view=agenda_view(d), allowed_mentions=NO_MENTIONS
            )
        except (discord.NotFound, discord.Forbidden) as exc:
            # Gone, or the bot may no longer edit it: nothing to retry. (Other failures are retried.)
            log.info("Deliberation %s: agenda not refreshed (%s)", d.id, exc)
