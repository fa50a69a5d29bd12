"""`/decisions list | show | search | export` as members use the archive."""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import simcord
from discord_harness import Table
from service_flows import seal_quick, until

from bot.app import RoundtableBot
from bot.cli import main as cli_main
from bot.engine import ConsentChoice
from bot.exts.decisions._export import ExportRecord, build_export
from bot.service import Change


async def seal(env: simcord.Env, bot: RoundtableBot, table: Table, question: str, *, block: str = "") -> Change:
    consent = [(table.ada, ConsentChoice.ENDORSE, "")]
    if block:
        consent.append((table.grace, ConsentChoice.BLOCK, block))
    return await seal_quick(
        env,
        bot,
        table.guild.id,
        table.deliberations.id,
        table.moderator,
        question,
        positions=[(table.ada, "Yes", "Fridays suit everyone."), (table.grace, "No", "Not for me.")],
        consent=consent,
    )


async def test_list_shows_this_guilds_records_newest_first_and_pages(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    for n in range(12):
        await seal(env, bot, table, f"Question number {n}?")

    first = await table.grace.slash(table.deliberations, "decisions list")
    assert first.ephemeral
    assert first.response is not None
    embed = first.response.embeds[0]
    assert embed.description is not None
    assert embed.description.index("Question number 11?") < embed.description.index("Question number 2?")
    assert "Question number 1?" not in embed.description
    assert "page:2" in (embed.footer.text or "")

    second = await table.grace.slash(table.deliberations, "decisions list", page=2)
    assert second.response is not None
    text = second.response.embeds[0].description or ""
    assert "Question number 1?" in text
    assert "Question number 0?" in text
    assert "Question number 2?" not in text
    assert "page:3" not in (second.response.embeds[0].footer.text or "")

    beyond = await table.grace.slash(table.deliberations, "decisions list", page=5)
    assert beyond.response is not None
    assert beyond.response.content == "There is no page 5: the archive has 12 record(s)."


async def test_show_gives_the_record_with_dissent_and_its_files_without_pinging(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    sealed = await seal(env, bot, table, "Move the meeting? @everyone", block="It clashes with <@&1> duty @everyone")
    record_id = sealed.deliberation.id

    shown = await table.linus.slash(table.deliberations, "decisions show", record=record_id)

    assert shown.ephemeral
    assert shown.response is not None
    embed = shown.response.embeds[0]
    assert embed.title == f"Decision record #{record_id}: Move the meeting? @everyone"
    fields = {f.name: f.value for f in embed.fields}
    assert "It clashes with <@&1> duty @everyone" in (fields["Standing dissent (verbatim)"] or "")
    assert "Block 1" in (fields["Consent (members only)"] or "")
    names = sorted(a.filename for a in shown.response.attachments)
    assert names == [f"decision-record-{record_id}.json", f"decision-record-{record_id}.md"]
    files = {a.filename: await a.read() for a in shown.response.attachments}
    stored = await bot.roundtable.record(table.guild.id, record_id)
    assert files[f"decision-record-{record_id}.md"].decode() == stored.markdown
    data = json.loads(files[f"decision-record-{record_id}.json"])
    assert data["chain_head"] == stored.chain_head
    assert data["standing_objections"][0]["why"] == "It clashes with <@&1> duty @everyone"
    # Nothing the bot sent could ping anyone.
    posts = [r for r in env.http_requests if r.method in ("POST", "PATCH") and isinstance(r.json, dict)]
    assert posts
    assert all(
        r.json.get("allowed_mentions", {}).get("parse") == []
        for r in posts
        if "content" in r.json or "embeds" in r.json
    )


async def test_show_in_public_posts_for_everyone(env: simcord.Env, table: Table, bot: RoundtableBot) -> None:
    sealed = await seal(env, bot, table, "Public question?")
    shown = await table.ada.slash(table.deliberations, "decisions show", record=sealed.deliberation.id, public=True)
    assert shown.response is not None
    assert not shown.ephemeral
    assert shown.response.id in {m.id for m in table.deliberations.history(viewer=table.grace)}


async def test_another_guilds_record_is_not_found(env: simcord.Env, table: Table, bot: RoundtableBot) -> None:
    sealed = await seal(env, bot, table, "Only ours?")
    other = env.create_guild("Elsewhere")
    channel = other.create_text_channel("general")
    stranger = other.add_member(env.create_user("Stranger"))

    shown = await stranger.slash(channel, "decisions show", record=sealed.deliberation.id)
    assert shown.ephemeral
    assert shown.response is not None
    assert shown.response.content == f"There is no sealed decision record #{sealed.deliberation.id} in this server."
    assert not shown.response.attachments

    listed = await stranger.slash(channel, "decisions list")
    assert listed.response is not None
    assert listed.response.embeds[0].description == "No sealed decision records."
    found = await stranger.slash(channel, "decisions search", query="ours")
    assert found.response is not None
    assert found.response.embeds[0].description == "No sealed decision records."
    exported = await stranger.slash(channel, "decisions export")
    await until(env, lambda: exported.followups or (exported.response and exported.response.content))
    texts = [m.content for m in [exported.response, *exported.followups] if m is not None]
    assert "This server has no sealed decision records to export yet." in texts


async def test_search_finds_words_in_the_record_and_refuses_empty_or_long_queries(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    bikes = await seal(env, bot, table, "Buy bicycles for the office?")
    await seal(env, bot, table, "Paint the walls green?", block="Green is ugly")

    found = await table.ada.slash(table.deliberations, "decisions search", query="bicycles")
    assert found.ephemeral
    assert found.response is not None
    text = found.response.embeds[0].description or ""
    assert f"#{bikes.deliberation.id}" in text
    assert "Paint" not in text
    # Words from inside the record, not only its question.
    ugly = await table.ada.slash(table.deliberations, "decisions search", query="ugly")
    assert ugly.response is not None
    assert "Paint the walls green?" in (ugly.response.embeds[0].description or "")

    empty = await table.ada.slash(table.deliberations, "decisions search", query="   ")
    assert empty.response is not None
    assert empty.response.content == "Search for at least one word."
    long = await table.ada.slash(table.deliberations, "decisions search", query="word " * 50)
    assert long.response is not None
    assert long.response.content == "Search for at most 200 characters."


async def test_show_autocompletes_by_words(env: simcord.Env, table: Table, bot: RoundtableBot) -> None:
    bikes = await seal(env, bot, table, "Buy bicycles for the office?")
    await seal(env, bot, table, "Paint the walls green?")
    choices = await table.ada.autocomplete(table.deliberations, "decisions show", "record", "bicy")
    assert [c["value"] for c in choices] == [bikes.deliberation.id]
    assert choices[0]["name"].startswith(f"#{bikes.deliberation.id} Buy bicycles")


async def test_export_attaches_a_zip_of_every_record_as_md_and_json(
    env: simcord.Env, table: Table, bot: RoundtableBot, tmp_path: Path
) -> None:
    sealed = [await seal(env, bot, table, f"Question {n}?", block="No way" if n == 1 else "") for n in range(3)]

    result = await table.grace.slash(table.deliberations, "decisions export")
    assert result.acknowledged
    await until(env, lambda: result.response is not None and result.response.attachments)

    assert result.response is not None
    assert result.response.ephemeral
    (attachment,) = result.response.attachments
    assert attachment.filename == f"roundtable-{table.guild.id}-records.zip"
    archive = zipfile.ZipFile(io.BytesIO(await attachment.read()))
    ids = [c.deliberation.id for c in sealed]
    expected = {"README.txt", "index.json"} | {
        f"records/{i}.{ext}" for i in ids for ext in ("md", "json", "proof.json")
    }
    assert set(archive.namelist()) == expected
    # The export checks itself offline: events chained and signed, each record what they compose.
    exported = tmp_path / attachment.filename
    exported.write_bytes(await attachment.read())
    assert cli_main(["verify", str(exported)]) == 0
    index = json.loads(archive.read("index.json"))
    assert [row["deliberation_id"] for row in index] == ids
    for i in ids:
        stored = await bot.roundtable.record(table.guild.id, i)
        assert archive.read(f"records/{i}.md").decode() == stored.markdown
        assert json.loads(archive.read(f"records/{i}.json"))["chain_head"] == stored.chain_head
    assert "No way" in archive.read(f"records/{ids[1]}.md").decode()


def test_a_large_export_is_split_into_parts_that_each_fit() -> None:
    rng = random.Random(1)
    # Incompressible text, so the size limit bites.
    records = [
        ExportRecord(
            i,
            {"question": f"Q{i}", "outcome": {"kind": "consensus"}},
            "".join(rng.choice("abcdefghij0123456789") for _ in range(20_000)),
            "h",
        )
        for i in range(1, 30)
    ]
    files = build_export(5, records, 100_000)
    assert len(files) > 1
    assert all(len(f.data) <= 100_000 for f in files)
    assert [f.filename for f in files] == [f"roundtable-5-records-part{n}.zip" for n in range(1, len(files) + 1)]
    seen = []
    for f in files:
        seen += [row["deliberation_id"] for row in json.loads(zipfile.ZipFile(io.BytesIO(f.data)).read("index.json"))]
    assert seen == list(range(1, 30))
    assert sum(f.records for f in files) == 29
