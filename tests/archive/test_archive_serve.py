"""`archive serve`: the pages over HTTP on 127.0.0.1, read-only, rebuilt when a record is sealed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.archive.serve import ArchiveServer
from bot.config import Settings
from bot.service import Roundtable
from tests.conftest import ManualClock
from tests.store.test_store import GUILD, sealed_quick


@pytest.fixture
async def served(settings: Settings, clock: ManualClock, db_path: Path, tmp_path: Path) -> AsyncIterator[ArchiveServer]:
    rt = await Roundtable.open(settings, clock)
    await sealed_quick(rt, clock, GUILD, "Move to Fridays?")
    await rt.close()
    server = ArchiveServer(db_path, GUILD, tmp_path / "site", poll_seconds=0.1, charts=False)
    await server.start()
    yield server
    await server.stop()


async def test_the_archive_is_served_read_only_and_nothing_outside_its_folder(served: ArchiveServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(served.url) as index:
            assert index.status == 200
            assert "Move to Fridays?" in await index.text()
            assert "default-src 'none'" in index.headers["Content-Security-Policy"]
        async with http.get(served.url + "decision-1.html") as page:
            assert page.status == 200
            assert page.content_type == "text/html"
        async with http.get(served.url + "decision-1.json") as record:
            assert (await record.json())["question"] == "Move to Fridays?"
        async with http.post(served.url, data=b"x") as post:
            assert post.status == 405
        # The database sits beside the site's folder; no path reaches it.
        for path in ("%2e%2e/roundtable.sqlite3", "..%2Froundtable.sqlite3", ".index.html.tmp", "charts/"):
            async with http.get(served.url + path) as outside:
                assert outside.status == 404, path


async def test_a_newly_sealed_record_appears_without_a_restart(
    served: ArchiveServer, settings: Settings, clock: ManualClock
) -> None:
    builds = served.builds
    # The bot, in another connection to the same file, seals a record.
    rt = await Roundtable.open(settings, clock)
    try:
        await sealed_quick(rt, clock, GUILD, "Buy a projector?")
    finally:
        await rt.close()
    await served.wait_for_records(2, 10)
    assert served.builds == builds + 1
    async with aiohttp.ClientSession() as http, http.get(served.url) as index:
        text = await index.text()
    assert "Buy a projector?" in text
    assert "Move to Fridays?" in text


def test_the_archive_is_served_on_loopback_only(db_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        ArchiveServer(db_path, GUILD, tmp_path / "site", host="0.0.0.0")


async def test_a_rebuild_reuses_the_charts_of_sealed_records_and_redraws_missing_ones(
    settings: Settings, clock: ManualClock, db_path: Path, tmp_path: Path
) -> None:
    from bot.archive import build_archive
    from bot.store import Store

    rt = await Roundtable.open(settings, clock)
    await sealed_quick(rt, clock, GUILD, "Move to Fridays?")
    await rt.close()
    out = tmp_path / "site"
    store = await Store.open(db_path)
    try:
        await build_archive(store, GUILD, out)
        charts = sorted((out / "charts").glob("*.png"))
        assert charts
        drawn = {p: p.stat().st_mtime_ns for p in charts}
        await build_archive(store, GUILD, out)
        assert {p: p.stat().st_mtime_ns for p in sorted((out / "charts").glob("*.png"))} == drawn
        # A chart lost from the folder is drawn again, not linked broken.
        charts[0].unlink()
        await build_archive(store, GUILD, out)
        assert charts[0].read_bytes().startswith(b"\x89PNG")
    finally:
        await store.close()
