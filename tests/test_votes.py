"""The votes the dissent analysis reads: members' only, in order, with moderated-out statements set apart."""

from __future__ import annotations

from bot.engine import Actor, Vote
from bot.exts.dissent._map import compute, snapshot
from bot.votes import moderated_out, statement_votes
from tests.engine.helpers import ADA, BEN, CAI, MOD, Table


def test_votes_in_order_and_moderation_reach_the_dissent_map() -> None:
    t = Table()
    t.wait(11)
    t.advance()
    dee = Actor.human(4, "Dee")  # writes the statements; members vote on others' words, not their own
    ids = [t.do("state_statement", dee, text)[-1].payload.id for text in ("Evenings", "Mornings", "Spam!")]
    t.wait(1)
    for member, choices in ((BEN, "adp"), (CAI, "aad"), (ADA, "dda")):
        for sid, code in zip(ids, choices, strict=True):
            t.do("vote", member, sid, {"a": Vote.AGREE, "d": Vote.DISAGREE, "p": Vote.PASS}[code])
    t.do("moderate", MOD, ids[2], True)
    votes = statement_votes(t.d)
    assert [(v.participant_id, v.statement_id, v.vote) for v in votes[:3]] == [
        ("human:2", ids[0], 1),
        ("human:2", ids[1], -1),
        ("human:2", ids[2], 0),
    ]
    assert all(v.created_ms is not None and v.created_ms >= 11 * 60_000 for v in votes)
    assert moderated_out(t.d) == {ids[2]}
    snap = snapshot(t.d)
    assert snap.moderated_out == {ids[2]}
    result = compute(snap)
    assert result.consent_chart.startswith(b"\x89PNG")
    assert result.analysis is not None
    assert [s.statement_id for s in result.analysis.statements] == ids[:2]  # the moderated-out one is left out
    assert result.analysis.consensus == (ids[0],)
