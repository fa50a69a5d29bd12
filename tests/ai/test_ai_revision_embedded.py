"""A revision by the REAL embedded model (xllamacpp + SmolLM2) through the service: whatever the
model says, the revision is either stored with quotes checked against the members' own words
(a critique among them), or refused with a labelled notice and no draft. Structure, never wording."""

from __future__ import annotations

from pathlib import Path

from bot.ai.embedded import EmbeddedServer
from bot.ai.grounding import normalise
from bot.ai.panel import AIPanel
from bot.ai.types import AIRejected
from bot.config import Settings
from bot.engine import Actor, ContributionKind
from bot.service import Roundtable
from tests.conftest import ManualClock

GUILD = 7
MOD, ADA, BEN, CAI = (Actor.human(i, n) for i, n in ((10, "Mona"), (11, "Ada"), (12, "Ben"), (13, "Cai")))
MODEL = "SmolLM2-135M-Instruct"


async def test_a_real_revision_is_stored_checked_or_refused_with_a_notice(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    settings = Settings.load(
        read_env=False,
        database={"path": tmp_path / "roundtable.sqlite3"},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": [{"name": "Sage", "model": MODEL, "max_output_tokens": 96, "temperature": 0.2}]},
    )
    clock = ManualClock()
    rt = await Roundtable.open(settings, clock, ai=AIPanel(settings.ai, server=embedded_server))
    try:
        d = (await rt.start(GUILD, 1, MOD, "Should the weekly meeting move to Thursday?")).deliberation
        said = {
            ADA: "Mondays clash with the release, so half of us arrive tired.",
            BEN: "Thursday is our support day and the queue is longest then.",
        }
        for member, text in said.items():
            await rt.act(GUILD, d.id, lambda d, at, m=member, t=text: d.state_position(m, "Yes", t, at))
        for _ in range(2):
            clock.advance(11)
            await rt.act(GUILD, d.id, lambda d, at: d.advance(MOD, at, confirmed=d.current))
        drafted = await rt.act(GUILD, d.id, lambda d, at: d.draft(BEN, "Move the meeting to Thursday at noon.", at))
        (draft,) = drafted.added(ContributionKind.DRAFT)
        critiques = {
            ADA: "Noon on Thursday is the busiest support hour. Pick the morning instead.",
            CAI: "The volunteers who run the meeting were never asked. Ask them before moving it.",
        }
        for member, text in critiques.items():
            await rt.act(GUILD, d.id, lambda d, at, m=member, t=text: d.critique(m, t, draft, at))
        members = {c.id: c.text for c in (await rt.get(GUILD, d.id)).contributions.values() if not c.by_ai}
        critique_ids = {c.id for c in (await rt.get(GUILD, d.id)).critiques_of(draft)}

        turn = await rt.ai_turn(GUILD, d.id, "draft", target=draft)

        d = await rt.get(GUILD, d.id)
        assert len(turn.changes) + len(turn.unavailable) == 1
        if turn.changes:
            (revision_id,) = turn.changes[0].added(ContributionKind.DRAFT)
            revision = d.contributions[revision_id]
            assert (revision.revises, revision.by_ai) == (draft, True)
            assert revision.ai_meta is not None
            claims = revision.ai_meta["claims"]
            assert claims
            assert revision.text == "\n".join(f"- {claim['text']}" for claim in claims)
            cited = set()
            for claim in claims:
                assert claim["cites"]
                for cite in claim["cites"]:
                    # Every quote is a member's own words, found in what that member wrote.
                    assert normalise(cite["quote"]) in normalise(members[cite["id"]])
                    cited.add(cite["id"])
            assert cited & critique_ids  # it answers a critique, quoting it
        else:
            (refused,) = turn.unavailable
            assert isinstance(refused, AIRejected) or refused.reason
            assert refused.notice.startswith("AI participant Sage ")
            assert d.revisions_of(draft) == []
            assert [name for name, *_ in d.ai_unavailable] == ["Sage"]
        assert await rt.store.verify() == []
    finally:
        await rt.close()
