"""The web archive shows a record's rankings of drafts: the preferred draft or the tie, and the
pairwise counts as a table; never a ballot."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bot.archive import build_archive
from bot.archive.site import page_name
from bot.config import Settings
from bot.store import Store
from tests.conftest import ManualClock
from tests.store.test_verify_ranking import GUILD, SEALED, build


async def _page(db: Path, out: Path) -> tuple[str, dict[str, object]]:
    store = await Store.open(db)
    try:
        await build_archive(store, GUILD, out, charts=False)
        record = (await store.record(GUILD, SEALED)).record
    finally:
        await store.close()
    return (out / page_name(SEALED)).read_text(encoding="utf-8"), record


def test_a_record_page_shows_the_ranking_counts(settings: Settings, clock: ManualClock, tmp_path: Path) -> None:
    db = asyncio.run(build(settings, clock))
    html, record = asyncio.run(_page(db, tmp_path / "site"))
    (ranking,) = record["rankings"]  # type: ignore[index]
    (a, b, c) = ranking["drafts"]
    assert '<section id="rankings">' in html
    assert "Ranking #1: 3 ballot(s)" in html
    assert f'Preferred: draft <a href="#c{ranking["winners"][0]}">#{ranking["winners"][0]}</a>.' in html
    rows = re.findall(r'<tr><th scope="row">#(\d+)</th>((?:<td>[^<]*</td>)+)</tr>', html)
    table = {int(i): re.findall(r"<td>([^<]*)</td>", cells) for i, cells in rows}
    expected = {
        d: ["-" if j == k else str(n) for k, n in enumerate(row)]
        for j, (d, row) in enumerate(zip((a, b, c), ranking["preferences"], strict=True))
    }
    assert table == expected
    # Only counts: no member is named in the section (their names are elsewhere on the page).
    section = html.split('<section id="rankings">')[1].split("</section>")[0]
    for name in ("Ada", "Ben", "Cai"):
        assert name in html
        assert name not in section
