"""The sealed record as members see it in Discord: one embed wherever it is shown, no one named
in an anonymous deliberation (issues 8 and 9)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zipfile
from pathlib import Path

import pytest
import simcord
from deliberation_helpers import (
    Opened,
    attachments,
    configure,
    fields,
    last,
    open_deliberation,
    record_of,
    state_position,
)
from discord_harness import Table
from service_flows import until

from bot.app import RoundtableBot
from bot.cli import main as cli_main
from bot.config import Settings


async def consent_and_seal(table: Table, moderator: simcord.MemberActor, where: simcord.ChannelHandle) -> None:
    """Through the consent round of a `quick` deliberation: Ada endorses, Grace blocks, Linus has reservations."""
    await moderator.slash(where, "deliberation advance", force=True)
    consent_round = last(where, "Round 2 of 2 open: consent")
    await table.ada.click(consent_round, label="Endorse")
    shown = await table.grace.click(consent_round, label="Block")
    await table.grace.submit_modal(shown, {"reason": "It clashes with the *night* shift.\n# Approved anyway"})
    await table.linus.slash(where, "consent", choice="reservations", reason="Only for a month.")
    sealed = await moderator.slash(where, "deliberation advance", force=True)
    assert "sealed" in sealed.response.content  # type: ignore[union-attr]


async def test_the_sealing_post_and_decisions_show_are_the_same_embed_with_every_dissent(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    await state_position(table.ada, opened, "Yes", "Fridays suit everyone.")
    await state_position(table.grace, opened, "No", "I work nights on Fridays.")
    await state_position(table.linus, opened, "Maybe", "Try it first.")
    await consent_and_seal(table, table.moderator, opened.where)

    in_thread = last(opened.where, "Decision record #")
    in_archive = last(table.archive, "Decision record #")
    shown = await table.ada.slash(table.deliberations, "decisions show", record=opened.id)
    assert shown.response is not None
    embeds = [m.embeds[0].to_dict() for m in (in_thread, in_archive, shown.response)]
    assert embeds[0] == embeds[1] == embeds[2]

    dissent = fields(in_thread)["Standing dissent (verbatim)"]
    # The block and its reason, Markdown escaped so it shows as typed and formats nothing.
    assert "**Block #" in dissent
    assert "> It clashes with the \\*night\\* shift.\n> \\# Approved anyway" in dissent
    # Minority positions: Grace blocked, Linus had reservations; Ada endorsed, so hers is not listed.
    assert "**Minority position #2** by Grace (No):\n> I work nights on Fridays." in dissent
    assert "**Minority position #3** by Linus (Maybe):\n> Try it first." in dissent
    assert "Fridays suit everyone." not in dissent
    assert fields(in_thread)["Outcome"].startswith("**No consensus.**")
    assert "Block 1" in fields(in_thread)["Consent (members only)"]
    assert (in_thread.embeds[0].footer.text or "").startswith("Moderator: Moderator · process: quick · sealed by")
    # And the files are the same everywhere: the Markdown as stored, one JSON rendering.
    stored = await bot.roundtable.record(table.guild.id, opened.id)
    for message in (in_thread, in_archive, shown.response):
        files = await attachments(message)
        assert files[f"decision-record-{opened.id}.md"].decode() == stored.markdown
        assert json.loads(files[f"decision-record-{opened.id}.json"]) == stored.record


async def test_an_anonymous_record_names_no_one_in_any_view_or_export(
    env: simcord.Env,
    table: Table,
    bot: RoundtableBot,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    # A moderator whose real name is not the alias the record must use.
    mona = table.guild.add_member(env.create_user("Mona Realname"), roles=[table.moderators])
    await configure(table)
    result = await mona.slash(
        table.deliberations, "deliberation start", question="Paint it green?", template="quick", anonymous=True
    )
    assert result.response is not None
    assert "is open" in result.response.content
    number = int(result.response.content.split("#")[1].split()[0])
    where = table.deliberations.threads[-1]
    opened = Opened(where, where.history()[0], number)
    await state_position(table.ada, opened, "Yes", "Green is calm.")
    await state_position(table.grace, opened, "No", "Green is loud.")
    await consent_and_seal(table, mona, where)

    record, markdown = await record_of(last(table.archive, "Decision record #"))
    assert record["moderator"] == "Moderator"
    assert record["proposal"] is None or "Mona" not in record["proposal"]["put_by"]
    assert "moderator: Moderator" in markdown
    sealing = [last(where, "Decision record #"), last(table.archive, "Decision record #")]
    assert all((m.embeds[0].footer.text or "").startswith("Moderator: Moderator ·") for m in sealing)

    texts: list[str] = []
    for message in sealing:
        texts.append(json.dumps(message.embeds[0].to_dict()))
        texts += [b.decode() for b in (await attachments(message)).values()]
    shown = await table.linus.slash(table.deliberations, "decisions show", record=number)
    assert shown.response is not None
    texts.append(json.dumps(shown.response.embeds[0].to_dict()))
    texts += [b.decode() for b in (await attachments(shown.response)).values()]
    exported = await table.linus.slash(table.deliberations, "decisions export")
    await until(env, lambda: exported.response is not None and exported.response.attachments)
    assert exported.response is not None
    archive = zipfile.ZipFile(io.BytesIO(await exported.response.attachments[0].read()))
    texts += [archive.read(name).decode() for name in archive.namelist() if f"/{number}." in name]
    texts.append(archive.read("index.json").decode())
    for fmt in ("markdown", "json"):
        out = tmp_path / fmt
        args = ["export", "--guild", str(table.guild.id), "--format", fmt, "--out", str(out)]
        assert await asyncio.to_thread(cli_main, [*args, "--db", str(settings.database.path)]) == 0
        texts += [p.read_text() for p in out.iterdir() if f"-{number}." in p.name]
    texts += [r.getMessage() for r in caplog.records]

    assert len(texts) >= 12
    for secret in ("Mona", "Realname", "Ada", "Grace", "Linus", str(mona.id), str(table.ada.id), str(table.grace.id)):
        leaks = [t for t in texts if secret in t]
        assert not leaks, (secret, leaks[0][:300])
