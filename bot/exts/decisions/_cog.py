"""The archive: list, show, search and export a guild's sealed decision records.

Everything is scoped to the guild the command is used in: the store answers only that guild's
records, so another guild's record number is "not found", exactly like a number never used.
Answers are ephemeral (browsing the archive should not fill a channel) unless the member asks
`/decisions show public:True`. Record text is member and AI text: sent with mentions disabled.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.errors import InvalidValue, TextTooLong
from bot.exts._shared.messages import safe_respond
from bot.exts.decisions._embeds import list_embed, outcome_label, record_embed, record_files
from bot.exts.decisions._export import ExportRecord, build_export

if TYPE_CHECKING:
    from bot.app import RoundtableBot

log = logging.getLogger(__name__)

PAGE_SIZE = 10
MAX_PAGE = 1000
QUERY_MAX = 200
SEARCH_LIMIT = 10
AUTOCOMPLETE_SCAN = 200
# Discord accepts at most 10 attachments per message.
FILES_PER_MESSAGE = 10


@app_commands.guild_only()
class Decisions(commands.GroupCog, group_name="decisions", group_description="The archive of sealed decision records"):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        super().__init__()

    # ------------------------------------------------------------------ list

    @app_commands.command(name="list", description="Sealed decision records, newest first")
    @app_commands.describe(page=f"Page number ({PAGE_SIZE} records a page), 1 for the newest")
    async def list_command(
        self, interaction: discord.Interaction[Any], page: app_commands.Range[int, 1, MAX_PAGE] = 1
    ) -> None:
        assert interaction.guild_id is not None
        # One query for everything up to this page, plus one row to know whether more follow.
        rows = await self.bot.roundtable.list_records(interaction.guild_id, limit=page * PAGE_SIZE + 1)
        shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        if not shown and page > 1:
            raise InvalidValue(f"There is no page {page}: the archive has {len(rows)} record(s).")
        more = len(rows) > page * PAGE_SIZE
        footer = f"Page {page}" + (f" · more: /decisions list page:{page + 1}" if more else "")
        footer += " · /decisions show record:<number> for one record"
        await safe_respond(interaction, embed=list_embed("Decision records", shown, footer=footer), ephemeral=True)

    # ------------------------------------------------------------------ show

    @app_commands.command(name="show", description="One sealed decision record, with its full text attached")
    @app_commands.describe(
        record="The record's number (the deliberation's number); type words to search",
        public="Post it in this channel for everyone instead of only you",
    )
    async def show_command(
        self, interaction: discord.Interaction[Any], record: app_commands.Range[int, 1], public: bool = False
    ) -> None:
        assert interaction.guild_id is not None
        stored = await self.bot.roundtable.record(interaction.guild_id, record)
        await safe_respond(interaction, embed=record_embed(stored), files=record_files(stored), ephemeral=not public)

    @show_command.autocomplete("record")
    async def record_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        service = self.bot.roundtable
        text = current.strip()[:QUERY_MAX]
        if text and not text.isdigit():
            rows = await service.search_records(interaction.guild_id, text, limit=25)
            if not rows:
                # Full-text search matches whole words; while typing, match the start of the
                # question's words among recent records instead.
                needle = text.casefold()
                recent = await service.list_records(interaction.guild_id, limit=AUTOCOMPLETE_SCAN)
                rows = [r for r in recent if any(w.startswith(needle) for w in r.question.casefold().split())][:25]
        else:
            rows = await service.list_records(interaction.guild_id, limit=25)
        if text.isdigit():
            rows = [r for r in rows if str(r.deliberation_id).startswith(text)] or rows
        return [
            app_commands.Choice(name=_choice_name(r.deliberation_id, r.question, r.outcome), value=r.deliberation_id)
            for r in rows
        ]

    # ------------------------------------------------------------------ search

    @app_commands.command(name="search", description="Find sealed decision records by words in them")
    @app_commands.describe(query="Words that must all appear in the question or the record")
    async def search_command(self, interaction: discord.Interaction[Any], query: str) -> None:
        assert interaction.guild_id is not None
        text = query.strip()
        if len(text) > QUERY_MAX:
            raise TextTooLong(f"Search for at most {QUERY_MAX} characters.")
        rows = await self.bot.roundtable.search_records(interaction.guild_id, text, limit=SEARCH_LIMIT)
        title = f"Records matching “{_one_line(text, 60)}”"
        footer = f"Best {SEARCH_LIMIT} matches" if len(rows) == SEARCH_LIMIT else f"{len(rows)} match(es)"
        await safe_respond(interaction, embed=list_embed(title, rows, footer=footer), ephemeral=True)

    # ------------------------------------------------------------------ export

    @app_commands.command(name="export", description="Every sealed record of this server as files (.md and .json)")
    async def export_command(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild is not None
        guild = interaction.guild
        await interaction.response.defer(ephemeral=True, thinking=True)
        records = [
            ExportRecord(
                r.deliberation_id, r.record, r.markdown, r.chain_head, await self.bot.roundtable.record_proof(r)
            )
            async for r in self.bot.roundtable.all_records(guild.id)
        ]
        if not records:
            await safe_respond(interaction, "This server has no sealed decision records to export yet.", ephemeral=True)
            return
        # Zipping is CPU work: off the event loop.
        exported = await self.bot.run_blocking(
            build_export, guild.id, records, guild.filesize_limit, reason="zipping decision records"
        )
        log.info("Exported %d records of guild %s in %d file(s)", len(records), guild.id, len(exported))
        for start in range(0, len(exported), FILES_PER_MESSAGE):
            batch = exported[start : start + FILES_PER_MESSAGE]
            content = (
                f"{len(records)} decision record(s): one .md and one .json each, with index.json and a README."
                if start == 0
                else None
            )
            files = [discord.File(io.BytesIO(f.data), filename=f.filename) for f in batch]
            await safe_respond(interaction, content, files=files, ephemeral=True)


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _choice_name(record_id: int, question: str, outcome: str) -> str:
    head = f"#{record_id} "
    tail = f" · {outcome_label(outcome)}"
    return head + _one_line(question, 100 - len(head) - len(tail)) + tail
