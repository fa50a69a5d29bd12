"""The web archive shows a draft's lineage: the draft a revision revises and the revisions of a
draft, linked, beside the critiques shown under each draft."""

from __future__ import annotations

from pathlib import Path

from bot.archive import build_archive
from bot.config import Settings
from bot.engine import Actor, ConsentChoice, ContributionKind
from bot.service import Roundtable
from bot.store import Store
from tests.conftest import ManualClock
from tests.fake_ai import fake_panel

GUILD = 31
MOD, ADA, BEN = Actor.human(10, "Mona"), Actor.human(11, "Ada"), Actor.human(12, "Ben")
CRITIQUE = "Nobody answers the phones on Fridays <b>at all</b>."


async def test_a_revision_and_its_draft_link_to_each_other_in_the_archive(tmp_path: Path) -> None:
    db = tmp_path / "roundtable.sqlite3"
    settings = Settings.load(
        tmp_path / "no-config.toml",
        read_env=False,
        database={"path": db},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": [{"name": "Sage", "model": "smollm2-135m"}]},
    )
    clock = ManualClock()
    panel = fake_panel(settings.ai, lambda r: (None, "Revised: a Friday rota." if r.target_text else "Fridays off."))
    rt = await Roundtable.open(settings, clock, ai=panel)
    try:
        did = (await rt.start(GUILD, 1, MOD, "A four-day week?")).deliberation.id
        await rt.act(GUILD, did, lambda d, at: d.state_position(ADA, "Yes", "Rest helps people think.", at))
        await rt.act(GUILD, did, lambda d, at: d.state_position(BEN, "No", "Clients call on Fridays.", at))
        for _ in range(2):
            clock.advance(11)
            await rt.act(GUILD, did, lambda d, at: d.advance(MOD, at, confirmed=d.current))
        (draft,) = (await rt.ai_turn(GUILD, did, "draft")).changes[0].added(ContributionKind.DRAFT)
        await rt.act(GUILD, did, lambda d, at: d.critique(BEN, CRITIQUE, draft, at))
        (revision,) = (await rt.ai_turn(GUILD, did, "draft", target=draft)).changes[0].added(ContributionKind.DRAFT)
        await rt.act(GUILD, did, lambda d, at: d.adopt(MOD, revision, at))
        clock.advance(11)
        await rt.act(GUILD, did, lambda d, at: d.advance(MOD, at, confirmed=d.current))
        for member in (ADA, BEN):
            await rt.act(GUILD, did, lambda d, at, m=member: d.give_consent(m, ConsentChoice.ENDORSE, at))
        clock.advance(11)
        await rt.act(GUILD, did, lambda d, at: d.advance(MOD, at, confirmed=d.current))
    finally:
        await rt.close()
    (request, _) = panel.requests[-1]
    assert (request.target_text, request.focus) == ("Fridays off.", (draft + 1,))

    store = await Store.open(db)
    try:
        await build_archive(store, GUILD, tmp_path / "site")
    finally:
        await store.close()
    page = (tmp_path / "site" / f"decision-{did}.html").read_text(encoding="utf-8")
    assert f'Revised as <a href="#c{revision}">draft #{revision}</a>' in page
    assert f'Revises <a href="#c{draft}">draft #{draft}</a>, to answer its critiques' in page
    assert "&lt;b&gt;at all&lt;/b&gt;" in page  # the critique, shown under its draft as text
    assert "<b>at all</b>" not in page
