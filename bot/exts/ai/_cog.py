"""AI participants at the table, in Discord.

- `/ai speak` (moderator): in the positions round, the AI participants state their positions
  now (the engine records that the moderator asked); in the synthesis round, they critique the
  draft before the group.
- On their own: once every member has stated a position, or at half-time (a timer per
  deliberation, restored on start), the AI participants state theirs (principle 1).
- `/summary draft` (AI drafts), `/summary adopt draft:<id> [amend]`, `/summary propose` (moderator).
- `/summary critique draft:<id>` (members: a form, as the draft's Critique button opens) and
  `/summary revise draft:<id>` (moderator: the AI participants revise the draft to answer its critiques).

Generation is slow: commands acknowledge at once and the turn runs as a background task. The
model calls themselves run on the AI panel's own thread (`bot.ai.worker`), awaited as an
external wait, so neither an interaction nor the simulator waits on the model. Every AI
contribution is posted labelled (`posting.post_contribution`); an AI that failed gets a short
labelled notice, and the deliberation goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.ai.labels import notice_for
from bot.ai.types import Task
from bot.engine.errors import AlreadyRecorded, RoundtableError, StorageUnavailable
from bot.engine.model import Actor
from bot.exts._shared.checks import moderator_only
from bot.exts._shared.lookup import guild_id_of, moderator_of, resolve_deliberation
from bot.exts._shared.messages import NO_MENTIONS, answer_stored, safe_respond, safe_send
from bot.exts._shared.posting import deliberation_channel
from bot.exts._shared.scheduler import DeadlineScheduler
from bot.exts.ai._drafts import draft_choices, open_critique_form, revision_asked
from bot.exts.ai._embeds import authorship, proposal_embed
from bot.exts.ai._modals import ProposalModal
from bot.exts.ranking import ranking_command
from bot.service import Change

if TYPE_CHECKING:
    from bot.app import RoundtableBot
    from bot.engine.deliberation import Deliberation

log = logging.getLogger(__name__)

# An AI position turn whose answers could not be stored (storage unavailable) is asked again after this.
STORAGE_RETRY = timedelta(seconds=30)

DELIBERATION_HELP = "Which deliberation (by number); defaults to the one in this thread or channel"


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "nobody"


class AIParticipants(commands.Cog):
    ai_group = app_commands.Group(name="ai", description="AI participants at the table", guild_only=True)
    summary_group = app_commands.Group(
        name="summary", description="Synthesis: AI drafts and the proposal put to the group", guild_only=True
    )

    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        # AI positions come at half-time at the latest: one timer per deliberation in its
        # positions round, rebuilt from the database on start.
        self.half_time = DeadlineScheduler(self._half_time_passed, bot.clock, timers=bot.timers)
        self._turns: set[asyncio.Task[None]] = set()

    async def cog_unload(self) -> None:
        self.half_time.cancel_all()

    # ------------------------------------------------------------------ turns in the background

    def start_turn(
        self,
        guild_id: int,
        deliberation_id: int,
        task: Task,
        *,
        target: int | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        """Run an AI turn without making anyone wait; each participant's answer is posted when ready."""
        turn = asyncio.create_task(
            self._turn(guild_id, deliberation_id, task, target, names), name=f"roundtable-ai-{deliberation_id}-{task}"
        )
        self._turns.add(turn)
        turn.add_done_callback(self._turns.discard)

    async def _turn(
        self, guild_id: int, deliberation_id: int, task: Task, target: int | None, names: Sequence[str] | None
    ) -> None:
        async def show(change: Change) -> None:
            # Publishing delivers what the change owes (the labelled contribution, or the notice
            # that a participant gave nothing usable), then tells the features.
            self.bot.publish(guild_id, change)

        try:
            await self.bot.roundtable.ai_turn(
                guild_id, deliberation_id, task, target=target, names=names, on_ready=show
            )
        except StorageUnavailable:
            if task == "position" and names is None:
                # Due by the clock, not asked by anyone: ask again once storage may be back.
                self.half_time.schedule(guild_id, deliberation_id, self.bot.roundtable.now() + STORAGE_RETRY)
            log.info("AI %s turn in deliberation %s not stored: storage is unavailable", task, deliberation_id)
        except RoundtableError as exc:
            log.info("AI %s turn in deliberation %s not taken: %s", task, deliberation_id, exc.user_message)
        except Exception:
            log.exception("AI %s turn in deliberation %s failed (guild %s)", task, deliberation_id, guild_id)

    async def post_notice(self, guild_id: int, d: Deliberation, ref: str) -> discord.Message | None:
        """The owed notice that an AI participant gave nothing usable (the reason stays in the logs,
        unless it is the gate's own wording, e.g. "ends mid-word")."""
        if ref.isdigit() and int(ref) < len(d.ai_unavailable):
            name, reason, _, _ = d.ai_unavailable[int(ref)]
            log.info("AI participant %s unavailable: %s", name, reason)
            channel = await deliberation_channel(self.bot, guild_id, d.id)
            notice = f"{notice_for(name, reason)}; the deliberation goes on."
            return await channel.send(notice, allowed_mentions=NO_MENTIONS)
        log.warning("Deliberation %s: no AI note %s to post", d.id, ref)
        return None

    # ------------------------------------------------------------------ AI positions when due

    def _schedule_half_time(self, guild_id: int, d: Deliberation) -> None:
        at = d.ai_due_at() if d.ai_seats else None
        waiting = any(d.position_of(f"ai:{name}") is None for name in d.ai_seats)
        if at is None or not waiting:
            self.half_time.cancel(d.id)
            return
        self.half_time.schedule(guild_id, d.id, at)

    async def _half_time_passed(self, guild_id: int, deliberation_id: int) -> None:
        # From what is stored: with storage down this raises before any model is asked, and the
        # scheduler fires again later.
        d = await self.bot.roundtable.reload(guild_id, deliberation_id)
        now = self.bot.roundtable.now()
        half = d.ai_due_at()
        if half is not None and now < half:
            # Fired early (restored from `ai_due_at`: AI positions were due before half-time when
            # the bot stopped): keep the half-time timer too, as a live deliberation has it.
            self._schedule_half_time(guild_id, d)
        if d.ai_due(now):
            self.start_turn(guild_id, deliberation_id, "position")

    @commands.Cog.listener()
    async def on_roundtable_change(self, guild_id: int, change: Change) -> None:
        d = change.deliberation
        if not d.ai_seats:
            return
        self._schedule_half_time(guild_id, d)
        # `/ai speak` starts its own turn after recording the request.
        if change.ai_requested:
            return
        if d.ai_due(self.bot.roundtable.now()):
            self.start_turn(guild_id, d.id, "position")

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await self._restore(self.bot.owned_guild_ids())

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        if self.bot.owns(guild.id):
            await self._restore([guild.id])

    async def _restore(self, guild_ids: Sequence[int]) -> None:
        """Half-time timers from the database; AI positions that fell due while the bot was down.

        One query for all the guilds: each timer fires at the time stored with the deliberation's
        last action (`Roundtable.ai_due_times`; at once if it has passed), and only then is the
        deliberation loaded and the engine asked who is due.
        """
        if not self.bot.settings.ai.enabled or not guild_ids:
            return
        due = await self.bot.roundtable.ai_due_times(guild_ids)
        for guild_id in guild_ids:
            for deliberation_id, at in due.get(guild_id, ()):
                self.half_time.schedule(guild_id, deliberation_id, at)

    # ------------------------------------------------------------------ /ai speak

    @ai_group.command(name="speak", description="Ask the AI participants to contribute now (moderator)")
    @app_commands.describe(deliberation=DELIBERATION_HELP)
    @moderator_only()
    async def speak(self, interaction: discord.Interaction[Any], deliberation: int | None = None) -> None:
        guild_id = guild_id_of(interaction)
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        ask, change = await self.bot.roundtable.ask_ai(
            guild_id, deliberation_id, await moderator_of(self.bot, interaction)
        )
        # Stored: the turn starts and the change is published whether or not Discord takes the answer.
        if change is not None:
            self.bot.publish(guild_id, change)
        self.start_turn(guild_id, deliberation_id, ask.task, target=ask.target, names=ask.names)
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            # Not an error to apologise for ("nothing was changed" would be false): the turn runs.
            log.warning("Deliberation %s: AI turn asked for, its answer not delivered (%s)", deliberation_id, exc)
            return
        if ask.task == "position":
            reply = (
                f"Asked {_names(list(ask.names))} for their positions; they appear in the deliberation, "
                "labelled, when ready."
            )
        else:
            reply = (
                f"Asked {_names(list(ask.names))} to critique draft #{ask.target}; their critiques appear when ready."
            )
        await answer_stored(interaction, reply, ephemeral=True)

    # ------------------------------------------------------------------ /summary

    @summary_group.command(name="draft", description="Ask the AI participants to draft a proposal (moderator)")
    @app_commands.describe(deliberation=DELIBERATION_HELP)
    @moderator_only()
    async def draft(self, interaction: discord.Interaction[Any], deliberation: int | None = None) -> None:
        guild_id = guild_id_of(interaction)
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        d = await self.bot.roundtable.get(guild_id, deliberation_id)
        d.check_ai_drafting(await moderator_of(self.bot, interaction))
        await interaction.response.defer(ephemeral=True, thinking=True)
        self.start_turn(guild_id, d.id, "draft")
        await safe_respond(
            interaction,
            f"Asked {_names(list(d.ai_seats))} to draft a proposal from the positions and objections. Drafts appear "
            "in the deliberation, labelled; put one to the group with /summary adopt.",
            ephemeral=True,
        )

    @summary_group.command(name="adopt", description="Put a draft to the group as the proposal, as is or amended")
    @app_commands.describe(
        draft="The draft's number",
        amend="Open a form to change the draft's text first (the record says it was amended)",
        deliberation=DELIBERATION_HELP,
    )
    @moderator_only()
    async def adopt(
        self, interaction: discord.Interaction[Any], draft: int, amend: bool = False, deliberation: int | None = None
    ) -> None:
        guild_id = guild_id_of(interaction)
        d = await self.bot.roundtable.get(guild_id, await resolve_deliberation(self.bot, interaction, deliberation))
        actor = await moderator_of(self.bot, interaction)
        # A dry run of the engine's rules (deciding changes nothing): refuse before the form opens.
        try:
            d.adopt(actor, draft, self.bot.roundtable.now())
        except AlreadyRecorded:
            if not amend:
                raise
        if amend:

            async def amended(submitted: discord.Interaction[Any], text: str) -> None:
                await self.put_proposal(submitted, d.id, text, draft_id=draft)

            await interaction.response.send_modal(
                ProposalModal(amended, draft_id=draft, text=d.contributions[draft].text)
            )
            return
        await self.put_proposal(interaction, d.id, None, draft_id=draft)

    @adopt.autocomplete("draft")
    async def draft_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        return await draft_choices(self.bot, interaction, current)

    @summary_group.command(name="propose", description="Write the proposal put to the group yourself (moderator)")
    @app_commands.describe(deliberation=DELIBERATION_HELP)
    @moderator_only()
    async def propose(self, interaction: discord.Interaction[Any], deliberation: int | None = None) -> None:
        guild_id = guild_id_of(interaction)
        d = await self.bot.roundtable.get(guild_id, await resolve_deliberation(self.bot, interaction, deliberation))
        d.check_proposing(await moderator_of(self.bot, interaction))  # the round and the role, before the form opens
        current = d.proposal.text if d.proposal is not None else None

        async def written(submitted: discord.Interaction[Any], text: str) -> None:
            await self.put_proposal(submitted, d.id, text, draft_id=None)

        await interaction.response.send_modal(ProposalModal(written, text=current))

    @summary_group.command(name="rank", description="Open a ranking of the drafts for members, or close it (moderator)")
    @app_commands.describe(
        close="Close the open ranking now and post its result",
        drafts="Only these drafts, by number (e.g. 3 5 8); every standing draft if left out",
        deliberation=DELIBERATION_HELP,
    )
    @moderator_only()
    async def rank(
        self,
        interaction: discord.Interaction[Any],
        close: bool = False,
        drafts: str | None = None,
        deliberation: int | None = None,
    ) -> None:
        # The ranking feature owns the flow (bot.exts.ranking); the command sits with /summary's others.
        await ranking_command(self.bot, interaction, close=close, drafts=drafts, deliberation=deliberation)

    async def put_proposal(
        self, interaction: discord.Interaction[Any], deliberation_id: int, text: str | None, *, draft_id: int | None
    ) -> None:
        """Store the proposal (adopted, amended or written), tell the moderator, announce it."""
        guild_id = guild_id_of(interaction)
        actor: Actor = await moderator_of(self.bot, interaction)
        if draft_id is None:
            body = text or ""
            change = await self.bot.roundtable.act(guild_id, deliberation_id, lambda d, at: d.propose(actor, body, at))
        else:
            change = await self.bot.roundtable.act(
                guild_id, deliberation_id, lambda d, at: d.adopt(actor, draft_id, at, amended_text=text)
            )
        d = change.deliberation
        await answer_stored(interaction, f"The proposal before the group is set. {authorship(d)}", ephemeral=True)
        try:
            channel = await deliberation_channel(self.bot, guild_id, d.id)
            await safe_send(channel, embed=proposal_embed(d))
        except discord.HTTPException as exc:
            # Stored and answered: the proposal stands (the apology would say nothing changed); only
            # this announcement is lost, and the change is still published below.
            log.warning("Deliberation %s: proposal stored, its announcement not posted (%s)", d.id, exc.status)
        self.bot.publish(guild_id, change)

    # ------------------------------------------------------------------ /summary critique | revise

    @summary_group.command(name="critique", description="Critique a draft (a form, like the draft's Critique button)")
    @app_commands.describe(draft="The draft's number", deliberation=DELIBERATION_HELP)
    async def critique(
        self, interaction: discord.Interaction[Any], draft: app_commands.Range[int, 1], deliberation: int | None = None
    ) -> None:
        await open_critique_form(self.bot, interaction, draft, deliberation)

    @summary_group.command(name="revise", description="The AI participants revise a draft to answer its critiques")
    @app_commands.describe(draft="The draft's number", deliberation=DELIBERATION_HELP)
    @moderator_only()
    async def revise(
        self, interaction: discord.Interaction[Any], draft: app_commands.Range[int, 1], deliberation: int | None = None
    ) -> None:
        asked = await revision_asked(self.bot, interaction, draft, deliberation)
        await interaction.response.defer(ephemeral=True, thinking=True)
        # The draft path (grounded, gated, labelled), given the draft to revise.
        self.start_turn(guild_id_of(interaction), asked.deliberation_id, "draft", target=draft)
        await safe_respond(interaction, asked.reply, ephemeral=True)

    @critique.autocomplete("draft")
    async def critique_draft_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        return await draft_choices(self.bot, interaction, current)

    @revise.autocomplete("draft")
    async def revise_draft_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        return await draft_choices(self.bot, interaction, current)
