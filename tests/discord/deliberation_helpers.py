"""Helpers for driving deliberations in SimCord as members do (import as `from deliberation_helpers import ...`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import discord
import simcord
from discord_harness import Table

from bot.app import RoundtableBot
from bot.engine.deliberation import Deliberation


@dataclass
class Opened:
    """A deliberation as a member finds it: its thread (or channel), the agenda, its number."""

    where: simcord.ChannelHandle
    agenda: discord.Message
    id: int


async def configure(table: Table) -> None:
    result = await table.admin.slash(
        table.deliberations, "roundtable setup", moderator_role=table.moderators, archive_channel=table.archive
    )
    assert result.response is not None


async def open_deliberation(
    table: Table, question: str = "Should we move the meetup to Fridays?", **options: Any
) -> Opened:
    options.setdefault("round_minutes", 60)
    result = await table.moderator.slash(table.deliberations, "deliberation start", question=question, **options)
    assert result.response is not None, result
    assert result.ephemeral
    assert "is open" in result.response.content, result.response.content
    number = int(result.response.content.split("#")[1].split()[0])
    thread = table.deliberations.threads[-1]
    agenda = thread.history()[0]
    assert agenda.embeds[0].title == f"Deliberation #{number}"
    return Opened(thread, agenda, number)


def messages(where: simcord.ChannelHandle, title: str = "") -> list[discord.Message]:
    """Public messages in a channel whose first embed's title starts with `title`."""
    return [
        m
        for m in where.history(viewer=None)
        if not m.flags.ephemeral and (not title or (m.embeds and (m.embeds[0].title or "").startswith(title)))
    ]


def last(where: simcord.ChannelHandle, title: str) -> discord.Message:
    found = messages(where, title)
    assert found, f"no message titled {title!r}"
    return found[-1]


def fields(message: discord.Message | Any) -> dict[str, str]:
    return {f.name or "": f.value or "" for f in message.embeds[0].fields}


async def state_position(member: simcord.MemberActor, opened: Opened, stance: str, reasoning: str) -> str:
    shown = await member.click(opened.agenda, label="State position")
    assert shown.modal is not None, shown
    done = await member.submit_modal(shown, {"stance": stance, "reasoning": reasoning})
    assert done.response is not None
    assert done.ephemeral
    return done.response.content


CONFIRM_CLOSE = "Close it anyway"


async def advance(moderator: simcord.MemberActor, where: simcord.ChannelHandle, **options: Any) -> Any:
    """`/deliberation advance`, confirming when the bot asks (members have not answered the consent round)."""
    result = await moderator.slash(where, "deliberation advance", **options)
    asked = result.response
    if asked is not None and CONFIRM_CLOSE in json.dumps(asked.components, default=str):
        return await moderator.click(asked, label=CONFIRM_CLOSE)
    return result


async def deliberation(bot: RoundtableBot, table: Table, number: int) -> Deliberation:
    return await bot.roundtable.get(table.guild.id, number)


async def event_count(bot: RoundtableBot, table: Table, number: int) -> int:
    return len(await bot.roundtable.store.load_events(table.guild.id, number))


async def attachments(message: discord.Message) -> dict[str, bytes]:
    return {a.filename: await a.read() for a in message.attachments}


async def record_of(message: discord.Message) -> tuple[dict[str, Any], str]:
    files = await attachments(message)
    (json_name,) = [n for n in files if n.endswith(".json")]
    (md_name,) = [n for n in files if n.endswith(".md")]
    return json.loads(files[json_name]), files[md_name].decode()


def sent_payloads(env: simcord.Env) -> list[dict[str, Any]]:
    """Every message body the bot sent or edited (channel messages, interaction replies, follow-ups)."""
    bodies = []
    for request in env.http_requests:
        if request.method not in ("POST", "PATCH") or not isinstance(request.json, dict):
            continue
        body = request.json
        if request.path.endswith("/callback"):
            body = body.get("data") or {}
        elif "/messages" not in request.path and "/webhooks/" not in request.path:
            continue
        if "content" in body or "embeds" in body:
            bodies.append(body)
    return bodies


def assert_no_mentions_possible(env: simcord.Env, *, reminded: set[int] = frozenset()) -> int:  # type: ignore[assignment]
    """Every body the bot sent disabled mentions; only reminders list users, exactly the reminded ones."""
    bodies = sent_payloads(env)
    assert bodies
    for body in bodies:
        allowed = body.get("allowed_mentions")
        assert allowed is not None, body
        assert allowed.get("parse", []) == [], body
        users = {int(u) for u in allowed.get("users", [])}
        assert users <= reminded, body
        assert not allowed.get("roles"), body
    return len(bodies)
