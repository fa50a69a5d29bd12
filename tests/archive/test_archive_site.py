"""The web archive as a reader meets it: built from a real database, opened in headless Chromium.

The database holds records made through the service (consent with an AI participant and a
hostile standing objection, quick with a block, advice, anonymous, and another guild's).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.archive import UnknownGuild, build_archive
from bot.config import Settings
from bot.engine import clean_text
from bot.service import Roundtable
from bot.store import Store, StoredRecord
from tests.archive.archive_db import (
    AI_DRAFT,
    BLOCK_REASON,
    GUILD,
    HOSTILE_WHAT,
    HOSTILE_WHY,
    OTHER_GUILD,
    SECRET_MEMBERS,
    Archive,
    panel_for,
    populate,
)
from tests.chromium import chromium
from tests.conftest import ManualClock


@dataclass(frozen=True)
class Site:
    db: Path
    out: Path
    ids: Archive
    records: dict[int, StoredRecord]
    profile: Path


async def _make(tmp: Path) -> Site:
    db = tmp / "roundtable.sqlite3"
    settings = Settings.load(
        tmp / "no-config.toml",
        read_env=False,
        database={"path": db},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": [{"name": "Sage", "model": "smollm2-135m"}]},
    )
    clock = ManualClock()
    rt = await Roundtable.open(settings, clock, ai=panel_for(settings))
    try:
        ids = await populate(rt, clock)
    finally:
        await rt.close()
    store = await Store.open(db)
    try:
        await build_archive(store, GUILD, tmp / "site")
        records = {s.deliberation_id: s async for s in store.all_records(GUILD)}
    finally:
        await store.close()
    return Site(db, tmp / "site", ids, records, tmp / "chromium-profile")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    # Built once for the module: every test reads the same site and changes nothing in it.
    return asyncio.run(_make(tmp_path_factory.mktemp("archive")))


async def _dom(site: Site, page: str) -> str:
    target = (site.out / page.split("?")[0]).resolve().as_uri()
    query = page.partition("?")[2]
    return (await chromium(site.profile, "--dump-dom", target + (f"?{query}" if query else ""))).decode()


class _Rows(HTMLParser):
    """The index's record rows: id -> hidden?"""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[int, bool] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("class") == "record":
            self.rows[int(found["data-id"] or 0)] = "hidden" in found


def _visible(dom: str) -> set[int]:
    parser = _Rows()
    parser.feed(dom)
    return {i for i, hidden in parser.rows.items() if not hidden}


class _Elements(HTMLParser):
    """Every element's tag and attributes, to look for markup that must not be there."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


async def test_the_index_lists_every_record_of_the_guild_and_no_other(site: Site, tmp_path: Path) -> None:
    dom = await _dom(site, "index.html")
    ids = site.ids
    assert _visible(dom) == {ids.consent, ids.quick_block, ids.advice, ids.anonymous}
    for question in (
        "Should the meetup move to Fridays?",
        "Start at nine instead of ten?",
        "What should the next workshop cover?",
        "Raise the membership fee?",
    ):
        assert question in dom
    assert "Another server" not in dom
    assert "4 shown" in dom
    shot = tmp_path / "archive-index.png"
    await chromium(site.profile, f"--screenshot={shot}", "--window-size=1280,1000", (site.out / "index.html").as_uri())
    assert shot.stat().st_size > 10_000
    print(f"\nArchive index screenshot: {shot}")


async def test_search_finds_a_record_by_a_word_of_an_objection_and_filters_narrow_the_list(site: Site) -> None:
    ids = site.ids
    # "zeppelin" is only in the standing objection of the consent record; "marmalade" only in a block's reason.
    assert _visible(await _dom(site, "index.html?q=zeppelin")) == {ids.consent}
    assert _visible(await _dom(site, "index.html?q=MARMALADE")) == {ids.quick_block}
    nothing = await _dom(site, "index.html?q=zeppelin+marmalade")
    assert _visible(nothing) == set()
    assert "0 shown" in nothing
    assert _visible(await _dom(site, "index.html?outcome=no_consensus")) == {ids.quick_block}
    assert _visible(await _dom(site, "index.html?standing=1")) == {ids.consent, ids.quick_block}
    # Query syntax is just words here.
    assert _visible(await _dom(site, 'index.html?q="*%20OR%20(')) == set()


async def test_a_hostile_standing_objection_is_shown_verbatim_as_text_never_markup(site: Site, tmp_path: Path) -> None:
    page = f"decision-{site.ids.consent}.html"
    raw = (site.out / page).read_text(encoding="utf-8")
    dom = await _dom(site, page)
    for html in (raw, dom):
        elements = _elements(html)
        # The member's <script>, <img> and <b> stayed text: no such element came from them.
        assert not any(tag == "script" for tag, _ in elements)
        assert not any(tag == "img" and "evil" in (a.get("src") or "") for tag, a in elements)
        assert not any(tag == "a" and "evil" in (a.get("href") or "") for tag, a in elements)
        assert not any(tag == "b" for tag, _ in elements)
        assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    # Verbatim, character for character, once the escaping is undone: Markdown, mentions and the
    # right-to-left override included.
    text = _text_of(dom)
    # As stored: the engine drops direction overrides (they would make text read otherwise than it is).
    assert clean_text(HOSTILE_WHAT, "objection", 4000) in text
    assert HOSTILE_WHY in text
    assert "**not bold**" in text
    assert "@everyone" in text
    assert "\u202e" not in text  # stored without its direction override, so it reads as it is
    shot = tmp_path / "archive-record.png"
    await chromium(site.profile, f"--screenshot={shot}", "--window-size=1280,2400", (site.out / page).as_uri())
    assert shot.stat().st_size > 10_000
    print(f"\nArchive record screenshot: {shot}")


def _text_of(html: str) -> str:
    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return "".join(parser.parts)


async def test_a_record_page_says_what_the_record_says(site: Site) -> None:
    stored = site.records[site.ids.consent]
    text = _text_of(await _dom(site, f"decision-{site.ids.consent}.html"))
    assert "Should the meetup move to Fridays?" in text
    assert "Consent with reservations or stand-asides" in text
    # The proposal, its authorship, and the AI's label and provenance.
    assert AI_DRAFT in text
    assert re.search(r"Draft #\d+ by AI participant Sage \(smollm2-135m\), adopted as is by Mona\.", text)
    assert "AI participant · Sage · smollm2-135m · not authoritative" in text
    assert "Provenance of this AI contribution" in text
    assert "ab" * 32 in text  # the prompt's hash
    # Human tally; AI stances apart.
    assert "AI stances (labelled, not counted)" in text
    # Responses and critiques quoted under what they answer.
    assert "We could stream it for you." in text
    assert "Say which room." in text
    # What the adopted draft left unaddressed, as the sealed record says (format 3).
    # (The AI draft's claims cite nothing: the ids it says it answers are the model's word.)
    drafted, by_cleo = [c for c in stored.record["other_contributions"] if c["kind"] == "draft"]
    (standing,) = stored.record["standing_objections"]
    for draft in (drafted, by_cleo):
        assert {"id": standing["id"], "kind": "objection", "author": "Ben"} in draft["not_addressed"]
    lines = [x for x in text.splitlines() if "Not addressed: #" in x]
    assert len(lines) == 2
    assert all(f"#{standing['id']} (Ben, objection)" in line for line in lines)
    page = (site.out / f"decision-{site.ids.consent}.html").read_text()
    assert f'<a href="#o{standing["id"]}">#{standing["id"]}</a>' in page
    assert f'id="o{standing["id"]}"' in page
    # Every status change of an objection, with who and why.
    assert re.search(r"Marked addressed by Mona, [0-9-]+ [0-9:]+ UTC\. Why:\s*Room 2 is booked\.", text)
    # Minority positions, participation, and the seal.
    assert "I work late on Fridays." in text
    assert "Listed because" in text
    assert "Did not take part:" in text
    assert stored.chain_head in text
    # The opinion map and the consent chart are files of the site.
    images = [
        a.get("src")
        for tag, a in _elements((site.out / f"decision-{site.ids.consent}.html").read_text())
        if tag == "img"
    ]
    assert len(images) == 2
    for src in images:
        assert src is not None
        assert (site.out / src).read_bytes().startswith(b"\x89PNG")


def test_the_digest_on_the_page_is_recomputed_offline_from_the_json_beside_it(site: Site) -> None:
    page = (site.out / f"decision-{site.ids.consent}.html").read_text(encoding="utf-8")
    digest = re.search(r"Record digest \(SHA-256\)</dt><dd><code class=\"hash\">([0-9a-f]{64})<", page)
    assert digest is not None
    command = re.search(r"<pre>(python3 -c .*?)</pre>", page, re.S)
    assert command is not None
    # The very command the page gives, unescaped, run where the files are.
    argv_text = _text_of(command.group(1))
    script = re.search(r'-c "(.*)" (decision-\d+\.json)$', argv_text)
    assert script is not None
    done = subprocess.run(
        [sys.executable, "-c", script.group(1), script.group(2)],
        cwd=site.out,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == digest.group(1)
    # And a record edited after the fact no longer matches.
    edited = json.loads((site.out / script.group(2)).read_text(encoding="utf-8"))
    edited["outcome"]["label"] = "Consensus"
    forged = site.out.parent / "forged.json"
    forged.write_text(json.dumps(edited), encoding="utf-8")
    again = subprocess.run(
        [sys.executable, "-c", script.group(1), str(forged)], capture_output=True, text=True, check=True
    )
    assert again.stdout.strip() != digest.group(1)


def test_anonymity_holds_in_every_page(site: Site) -> None:
    anonymous = site.records[site.ids.anonymous].record
    aliases = [p["author"]["name"] for p in anonymous["positions"]]
    assert aliases
    assert all(a.startswith("Participant") for a in aliases)
    pages = sorted(site.out.glob("*.html"))
    assert len(pages) == 5
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for member in SECRET_MEMBERS:
            assert member.name not in html, f"{member.name} named in {page.name}"
    page = (site.out / f"decision-{site.ids.anonymous}.html").read_text(encoding="utf-8")
    for alias in aliases:
        assert alias in page
    # Not even the moderator's name: the page keeps to aliases.
    assert "Mona" not in _text_of(page)


class _Recorder:
    """A stand-in for the whole network: Chromium's proxy, recording every request it gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> _Recorder:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            line = await reader.readline()
            self.requests.append(line.decode(errors="replace").strip())
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


# Chromium's own services (time, component updates) call home whatever page is open; a page
# of the archive names none of these hosts, so their requests are not the page's.
_BROWSER_HOSTS = re.compile(r"^\S+ (https?://)?[^/ ]*\.(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)[:/ ]")


def _browser_service(request_line: str) -> bool:
    return bool(_BROWSER_HOSTS.match(request_line))


async def test_pages_make_no_request_outside_their_folder(site: Site, tmp_path: Path) -> None:
    async with _Recorder() as network:
        proxy = (f"--proxy-server=http://127.0.0.1:{network.port}", "--proxy-bypass-list=<-loopback>")
        # The harness sees a page that does reach out (so silence below means something).
        control = tmp_path / "control.html"
        control.write_text('<img src="http://elsewhere.example/pixel.png">', encoding="utf-8")
        await chromium(site.profile, *proxy, "--dump-dom", control.as_uri())
        assert any("elsewhere.example" in r for r in network.requests)
        network.requests.clear()
        for page in ("index.html", f"decision-{site.ids.consent}.html", f"decision-{site.ids.anonymous}.html"):
            await chromium(site.profile, *proxy, "--dump-dom", (site.out / page).as_uri())
        from_pages = [r for r in network.requests if not _browser_service(r)]
        assert from_pages == []
    # Every address in every page stays inside the folder.
    for page in site.out.glob("*.html"):
        for _, attrs in _elements(page.read_text(encoding="utf-8")):
            for name in ("src", "href"):
                value = attrs.get(name)
                if value is None or value.startswith("#"):
                    continue
                assert "://" not in value, (page.name, value)
                assert not value.startswith(("/", "..")), (page.name, value)
                assert (site.out / value.split("#")[0]).exists(), (page.name, value)


async def test_an_unknown_guild_is_named_and_nothing_is_written(site: Site, tmp_path: Path) -> None:
    store = await Store.open(site.db, migrate=False)
    try:
        with pytest.raises(UnknownGuild) as refused:
            await build_archive(store, 999, tmp_path / "nothing")
    finally:
        await store.close()
    assert refused.value.known == [OTHER_GUILD, GUILD]
    assert f"{OTHER_GUILD}, {GUILD}" in str(refused.value)
    assert not (tmp_path / "nothing").exists()


def test_the_block_is_quoted_as_a_standing_objection(site: Site) -> None:
    text = _text_of((site.out / f"decision-{site.ids.quick_block}.html").read_text(encoding="utf-8"))
    assert "Block #" in text
    assert BLOCK_REASON in text
    assert "No consensus" in text


def test_citations_in_an_ai_contributions_provenance_are_listed_as_text(site: Site, tmp_path: Path) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from bot.archive.site import Charts, render_site

    stored = site.records[site.ids.consent]
    record = json.loads(json.dumps(stored.record))
    ai_position = next(p for p in record["positions"] if p["author"]["kind"] == "ai")
    cited = next(p for p in record["positions"] if p["author"]["kind"] == "human")
    ai_position["provenance"]["citations"] = [
        {"contribution_id": cited["id"], "quote": cited["text"]},
        {"contribution_id": cited["id"], "quote": "<i>quoted</i> @everyone"},
    ]
    render_site(
        [replace(stored, record=record)],
        {stored.deliberation_id: Charts()},
        tmp_path,
        guild_id=GUILD,
        generated_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    html = (tmp_path / f"decision-{stored.deliberation_id}.html").read_text(encoding="utf-8")
    assert "Citations" in html
    assert f'<a href="#c{cited["id"]}">#{cited["id"]}</a>: <q>{cited["text"]}</q>' in html
    assert "&lt;i&gt;quoted&lt;/i&gt; @everyone" in html
    assert not any(tag == "i" for tag, _ in _elements(html))
